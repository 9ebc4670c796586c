package service

import (
	"fmt"
	"strings"
)

// SystemdUnit renders the systemd unit Install writes for cfg to
// /etc/systemd/system/<Name>.service. It runs the agent as the dedicated
// user and group cfg.User (DefaultUser), orders it after
// network-online.target, restarts it 5 s after it ends for any reason but
// exit status 2 (a configuration error that a restart cannot fix), reloads
// the configuration with SIGHUP, stops it with SIGTERM and kills it after
// 20 s.
//
// The sandbox leaves the agent what it needs and nothing else: the file
// system is read-only but for its data_dir (StateDirectory /var/lib/<Name>,
// or ReadWritePaths= cfg.DataDir), home directories, devices, the kernel's
// settings, other processes and privileged system calls are out of reach,
// and it may open only IPv4, IPv6 and Unix sockets (it needs outbound
// HTTPS to Microsoft and the callbacks, so IP addresses are not
// restricted). `systemd-analyze security` rates the unit below 2.5 ("OK").
func SystemdUnit(cfg Config) (string, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return "", fmt.Errorf("render systemd unit: %w", err)
	}
	exec := make([]string, 0, 1+len(c.Args))
	exec = append(exec, systemdQuote(c.Executable))
	for _, a := range c.Args {
		exec = append(exec, systemdQuote(a))
	}
	var b strings.Builder
	line := func(s ...string) {
		for _, p := range s {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	line("# Written by `onedrive-agent install`; removed by `onedrive-agent uninstall`.")
	line("# Local changes belong in a drop-in: systemctl edit ", c.Name)
	line("[Unit]")
	line("Description=", systemdEscape(c.Description))
	line("After=network-online.target")
	line("Wants=network-online.target")
	// Never give up restarting: the agent must come back once the network,
	// the disk or Microsoft does.
	line("StartLimitIntervalSec=0")
	line()
	line("[Service]")
	line("Type=simple")
	line("User=", c.User)
	line("Group=", c.User)
	line("ExecStart=", strings.Join(exec, " "))
	line("ExecReload=/bin/kill -HUP $MAINPID")
	line("Restart=always")
	line("RestartSec=5")
	line("RestartPreventExitStatus=2")
	line("KillSignal=SIGTERM")
	line("TimeoutStopSec=20")
	line("LimitNOFILE=65536")
	line("UMask=0077")
	line("StateDirectory=", c.Name)
	line("StateDirectoryMode=0700")
	if c.DataDir != "" && c.DataDir != "/var/lib/"+c.Name {
		line("ReadWritePaths=", systemdQuote(c.DataDir))
	}
	// Variables for ${NAME} references in agent.toml (e.g. OD_SECRET=…).
	line("EnvironmentFile=-/etc/default/", c.Name)
	line("EnvironmentFile=-/etc/sysconfig/", c.Name)
	for _, s := range systemdSandbox(c) {
		line(s)
	}
	line()
	line("[Install]")
	line("WantedBy=multi-user.target")
	return b.String(), nil
}

// systemdSandbox is the unit's sandbox. Home directories are hidden unless
// the configuration or data_dir lives there (then they are read-only, with
// data_dir writable through ReadWritePaths).
func systemdSandbox(c Config) []string {
	home := "ProtectHome=yes"
	for _, p := range []string{c.ConfigPath, c.DataDir, c.Executable} {
		if underHome(p) {
			home = "ProtectHome=read-only"
		}
	}
	return []string{
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		home,
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"PrivateUsers=yes",
		"PrivateMounts=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectKernelLogs=yes",
		"ProtectControlGroups=yes",
		"ProtectClock=yes",
		"ProtectHostname=yes",
		"ProtectProc=invisible",
		"ProcSubset=pid",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"RestrictNamespaces=yes",
		"RestrictRealtime=yes",
		"RestrictSUIDSGID=yes",
		"LockPersonality=yes",
		"MemoryDenyWriteExecute=yes",
		"RemoveIPC=yes",
		"KeyringMode=private",
		"DevicePolicy=closed",
		"CapabilityBoundingSet=",
		"AmbientCapabilities=",
		"SystemCallArchitectures=native",
		"SystemCallFilter=@system-service",
		"SystemCallFilter=~@privileged @resources",
		"SystemCallErrorNumber=EPERM",
	}
}

// underHome reports a path below the directories ProtectHome=yes hides.
func underHome(p string) bool {
	for _, h := range []string{"/home/", "/root/", "/run/user/"} {
		if strings.HasPrefix(p+"/", h) {
			return true
		}
	}
	return false
}

// systemdEscape doubles the characters systemd would expand: % (specifiers)
// and $ (environment variables).
func systemdEscape(s string) string {
	return strings.NewReplacer("%", "%%", "$", "$$").Replace(s)
}

// systemdQuote renders one word of an ExecStart= command line: escaped, and
// double-quoted when it holds a blank, a quote, a backslash or a ';'.
func systemdQuote(s string) string {
	s = systemdEscape(s)
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// shellQuote renders s as one word of a POSIX shell command.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SysVScript renders the init script Install writes for cfg to
// /etc/init.d/<Name> when no systemd runs. It starts a supervisor in the
// background (its pid in /var/run/<Name>.pid) that runs the agent as
// cfg.User (setpriv, runuser or su) with its output appended to
// /var/log/<Name>.log (mode 0600), and restarts it 5 s after it ends unless
// it was stopped or exited with status 2 (a configuration error). Before
// each start a log larger than 10 MiB is moved to <log>.1 (Install also
// writes a logrotate rule, see SysVLogrotate). `stop` sends SIGTERM and,
// after 20 s, SIGKILL; `reload` sends SIGHUP to the agent; `status` answers
// the LSB way (exit 0 running, 3 stopped). Variables in /etc/default/<Name>
// or /etc/sysconfig/<Name> are exported to the agent.
func SysVScript(cfg Config) (string, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return "", fmt.Errorf("render init script: %w", err)
	}
	cmd := make([]string, 0, 1+len(c.Args))
	cmd = append(cmd, shellQuote(c.Executable))
	for _, a := range c.Args {
		cmd = append(cmd, shellQuote(a))
	}
	r := strings.NewReplacer(
		"@NAME@", c.Name,
		"@USER@", c.User,
		"@DISPLAY@", oneLine(c.DisplayName),
		"@DESCRIPTION@", oneLine(c.Description),
		"@COMMAND@", strings.Join(cmd, " "),
	)
	return r.Replace(sysvTemplate), nil
}

// SysVLogrotate renders the logrotate rule Install writes to
// /etc/logrotate.d/<Name> beside the SysV script: the log is rotated weekly
// or when it passes 10 MiB, four old logs are kept compressed. The agent
// keeps its log open, so the file is copied and truncated.
func SysVLogrotate(cfg Config) (string, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return "", fmt.Errorf("render logrotate rule: %w", err)
	}
	return "# Written by `onedrive-agent install`; removed by `onedrive-agent uninstall`.\n" +
		"/var/log/" + c.Name + ".log {\n\tweekly\n\tmaxsize 10M\n\trotate 4\n\tcompress\n\tdelaycompress\n" +
		"\tmissingok\n\tnotifempty\n\tcopytruncate\n}\n", nil
}

// oneLine keeps header texts from closing the comment they sit in.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// sysvTemplate is plain text with @KEY@ placeholders (not a kardianos
// template: the rendered script is handed to kardianos, whose engine passes
// text without "{{" through unchanged).
const sysvTemplate = `#!/bin/sh
# Written by ` + "`onedrive-agent install`" + `; removed by ` + "`onedrive-agent uninstall`" + `.
### BEGIN INIT INFO
# Provides:          @NAME@
# Required-Start:    $network $remote_fs $syslog
# Required-Stop:     $network $remote_fs $syslog
# Should-Start:      $time $named
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: @DISPLAY@
# Description:       @DESCRIPTION@
### END INIT INFO
# chkconfig: 2345 90 10
# description: @DESCRIPTION@

NAME='@NAME@'
RUN_AS='@USER@'
PIDFILE="/var/run/$NAME.pid"
AGENTPIDFILE="/var/run/$NAME.agent.pid"
LOGFILE="/var/log/$NAME.log"
LOG_MAX_BYTES=10485760
STOP_TIMEOUT=20
RESTART_DELAY=5

# Variables for ${NAME} references in agent.toml (e.g. OD_SECRET=...).
for f in "/etc/default/$NAME" "/etc/sysconfig/$NAME"; do
    if [ -r "$f" ]; then
        set -a
        # shellcheck source=/dev/null
        . "$f"
        set +a
    fi
done

alive() {
    kill -0 "$1" 2>/dev/null || return 1
    # A zombie has exited; only its parent has not collected it yet.
    if [ -r "/proc/$1/stat" ]; then
        case "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" in
            Z*) return 1 ;;
        esac
    fi
    return 0
}

running_pid() {
    [ -r "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE" 2>/dev/null)
    [ -n "$pid" ] || return 1
    alive "$pid" || return 1
    echo "$pid"
}

# run_agent replaces the shell with the agent, running as $RUN_AS.
run_agent() {
    if [ "$RUN_AS" = root ] || [ "$(id -u)" != 0 ]; then
        exec @COMMAND@
    fi
    if command -v setpriv >/dev/null 2>&1; then
        exec setpriv --reuid="$RUN_AS" --regid="$RUN_AS" --init-groups -- @COMMAND@
    fi
    if command -v runuser >/dev/null 2>&1; then
        exec runuser -u "$RUN_AS" -- @COMMAND@
    fi
    exec su -s /bin/sh "$RUN_AS" -c 'exec "$0" "$@"' -- @COMMAND@
}

rotate_log() {
    size=$(wc -c <"$LOGFILE" 2>/dev/null || echo 0)
    if [ "$size" -gt "$LOG_MAX_BYTES" ]; then
        mv -f "$LOGFILE" "$LOGFILE.1"
    fi
}

# supervise runs the agent and starts it again after it ends, until it is
# stopped (SIGTERM) or exits with status 2 (a configuration error).
supervise() {
    child=''
    stopping=0
    trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM INT
    trap '[ -z "$child" ] || kill -HUP "$child" 2>/dev/null' HUP
    while [ "$stopping" = 0 ]; do
        rotate_log
        run_agent </dev/null >>"$LOGFILE" 2>&1 &
        child=$!
        echo "$child" >"$AGENTPIDFILE"
        wait "$child"
        status=$?
        # A signal to the supervisor interrupts wait; the agent goes on.
        while [ "$status" -gt 128 ] && alive "$child"; do
            wait "$child"
            status=$?
        done
        child=''
        rm -f "$AGENTPIDFILE"
        [ "$stopping" = 0 ] || break
        if [ "$status" -eq 2 ]; then
            echo "$NAME: configuration error (exit status 2), not restarting: fix it, then run $0 start" >>"$LOGFILE"
            break
        fi
        echo "$NAME: exited with status $status; restarting in $RESTART_DELAY s" >>"$LOGFILE"
        sleep "$RESTART_DELAY" &
        child=$!
        wait "$child"
        child=''
    done
}

do_start() {
    if pid=$(running_pid); then
        echo "$NAME is already running (pid $pid)"
        return 0
    fi
    echo "Starting $NAME"
    (
        umask 077
        cd / || exit 1
        supervise
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$PIDFILE"
    sleep 1
    if ! running_pid >/dev/null; then
        rm -f "$PIDFILE"
        echo "$NAME did not start; see $LOGFILE"
        return 1
    fi
    return 0
}

do_stop() {
    if ! pid=$(running_pid); then
        rm -f "$PIDFILE"
        echo "$NAME is not running"
        return 0
    fi
    echo "Stopping $NAME (pid $pid)"
    agent=$(cat "$AGENTPIDFILE" 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null || true
    # Poll five times a second where sleep takes fractions, else every second.
    step=5
    sleep 0.2 2>/dev/null || step=1
    i=0
    while alive "$pid"; do
        if [ "$i" -ge $((STOP_TIMEOUT * step)) ]; then
            echo "$NAME did not stop within $STOP_TIMEOUT seconds; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            [ -z "$agent" ] || kill -KILL "$agent" 2>/dev/null || true
            break
        fi
        if [ "$step" -eq 5 ]; then sleep 0.2; else sleep 1; fi
        i=$((i + 1))
    done
    rm -f "$PIDFILE" "$AGENTPIDFILE"
    echo "Stopped"
    return 0
}

do_reload() {
    if ! pid=$(running_pid); then
        echo "$NAME is not running"
        return 7
    fi
    kill -HUP "$pid"
}

case "$1" in
    start)
        do_start
        ;;
    stop)
        do_stop
        ;;
    restart)
        do_stop && do_start
        ;;
    reload|force-reload)
        do_reload
        ;;
    status)
        if pid=$(running_pid); then
            echo "Running (pid $pid)"
            exit 0
        fi
        echo "Stopped"
        exit 3
        ;;
    *)
        echo "Usage: $0 {start|stop|restart|reload|force-reload|status}"
        exit 2
        ;;
esac
`
