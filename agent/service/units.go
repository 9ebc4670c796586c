package service

import (
	"fmt"
	"strings"
)

// SystemdUnit renders the systemd unit Install writes for cfg to
// /etc/systemd/system/<Name>.service. It orders the agent after
// network-online.target, restarts it 5 s after a failure (not after exit
// status 2, a configuration error that a restart cannot fix), stops it with
// SIGTERM and kills it after 20 s. It sets no User: the agent and the command
// line share the database, so both run as root. StateDirectory only creates
// /var/lib/<Name> (mode 0700); a data_dir elsewhere stays writable because
// the unit does not make the file system read-only.
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
	line("ExecStart=", strings.Join(exec, " "))
	line("Restart=on-failure")
	line("RestartSec=5")
	line("RestartPreventExitStatus=2")
	line("KillSignal=SIGTERM")
	line("TimeoutStopSec=20")
	line("LimitNOFILE=65536")
	line("UMask=0077")
	line("StateDirectory=", c.Name)
	line("StateDirectoryMode=0700")
	// Variables for ${NAME} references in agent.toml (e.g. OD_SECRET=…).
	line("EnvironmentFile=-/etc/default/", c.Name)
	line("EnvironmentFile=-/etc/sysconfig/", c.Name)
	line("NoNewPrivileges=yes")
	line("ProtectKernelTunables=yes")
	line("ProtectKernelModules=yes")
	line("ProtectControlGroups=yes")
	line("RestrictSUIDSGID=yes")
	line("LockPersonality=yes")
	line()
	line("[Install]")
	line("WantedBy=multi-user.target")
	return b.String(), nil
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
// /etc/init.d/<Name> when no systemd runs. It starts the agent in the
// background with its output appended to /var/log/<Name>.log (mode 0600),
// keeps its pid in /var/run/<Name>.pid, stops it with SIGTERM and, after 20 s,
// SIGKILL, and answers `status` the LSB way (exit 0 running, 3 stopped).
// Variables in /etc/default/<Name> or /etc/sysconfig/<Name> are exported to
// the agent. SysV init does not restart a failed agent.
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
		"@DISPLAY@", oneLine(c.DisplayName),
		"@DESCRIPTION@", oneLine(c.Description),
		"@COMMAND@", strings.Join(cmd, " "),
	)
	return r.Replace(sysvTemplate), nil
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
PIDFILE="/var/run/$NAME.pid"
LOGFILE="/var/log/$NAME.log"
STOP_TIMEOUT=20

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

do_start() {
    if pid=$(running_pid); then
        echo "$NAME is already running (pid $pid)"
        return 0
    fi
    echo "Starting $NAME"
    (
        umask 077
        cd / || exit 1
        trap '' HUP
        exec @COMMAND@ </dev/null >>"$LOGFILE" 2>&1
    ) &
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
    kill -TERM "$pid" 2>/dev/null || true
    # Poll five times a second where sleep takes fractions, else every second.
    step=5
    sleep 0.2 2>/dev/null || step=1
    i=0
    while alive "$pid"; do
        if [ "$i" -ge $((STOP_TIMEOUT * step)) ]; then
            echo "$NAME did not stop within $STOP_TIMEOUT seconds; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        if [ "$step" -eq 5 ]; then sleep 0.2; else sleep 1; fi
        i=$((i + 1))
    done
    rm -f "$PIDFILE"
    echo "Stopped"
    return 0
}

case "$1" in
    start)
        do_start
        ;;
    stop)
        do_stop
        ;;
    restart|force-reload)
        do_stop && do_start
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
        echo "Usage: $0 {start|stop|restart|force-reload|status}"
        exit 2
        ;;
esac
`
