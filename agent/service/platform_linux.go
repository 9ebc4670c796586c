//go:build linux

package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	kservice "github.com/kardianos/service"
)

// privilegeHint completes an error that missing rights probably caused.
const privilegeHint = "run it as root, e.g. with sudo"

// toolTimeout bounds one systemctl or init script call; a stop waits for the
// agent (20 s at most), so this is only a guard against a hung tool.
const toolTimeout = 2 * time.Minute

func isPrivileged() bool { return os.Geteuid() == 0 }

// afterInstall prepares what the service needs to run as c.User: the
// system user and group (created when missing), data_dir owned by them with
// mode 0700, a configuration file their group may read, and, beside a SysV
// script, the logrotate rule for its log.
func afterInstall(c Config) error {
	if c.User == "root" {
		return nil
	}
	stateDir := "/var/lib/" + c.Name
	if err := ensureServiceUser(c.User, stateDir); err != nil {
		return err
	}
	u, err := user.Lookup(c.User)
	if err != nil {
		return fmt.Errorf("service user %s: %w", c.User, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dataDir := c.DataDir
	if dataDir == "" {
		dataDir = stateDir
	}
	if err := ensureOwnedDir(dataDir, uid, gid); err != nil {
		return fmt.Errorf("data_dir %s for user %s: %w", dataDir, c.User, err)
	}
	if c.ConfigPath != "" {
		if err := shareConfig(c.ConfigPath, uid, gid); err != nil {
			return fmt.Errorf("make %s readable by user %s: %w", c.ConfigPath, c.User, err)
		}
	}
	if Platform() == "unix-systemv" {
		if fi, err := os.Stat("/etc/logrotate.d"); err == nil && fi.IsDir() {
			rule, err := SysVLogrotate(c)
			if err != nil {
				return err
			}
			if err := os.WriteFile(logrotatePath(c), []byte(rule), 0o644); err != nil {
				return fmt.Errorf("write logrotate rule: %w", err)
			}
		}
	}
	return nil
}

func logrotatePath(c Config) string { return "/etc/logrotate.d/" + c.Name }

// ensureServiceUser creates the system user and group name (no login shell,
// home home, not created) unless it exists.
func ensureServiceUser(name, home string) error {
	if _, err := user.Lookup(name); err == nil {
		return nil
	}
	var cmd []string
	switch {
	case toolExists("useradd"):
		cmd = []string{"useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home", "--shell", nologin(), name}
	case toolExists("adduser"):
		cmd = []string{"adduser", "--system", "--group", "--home", home, "--no-create-home", "--shell", nologin(), name}
	default:
		return fmt.Errorf("create the system user %s (no useradd or adduser here): create it yourself, then install again", name)
	}
	if err := runTool(cmd[0], cmd[1:]...); err != nil {
		return fmt.Errorf("create the system user %s: %w", name, err)
	}
	return nil
}

func toolExists(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

func nologin() string {
	for _, p := range []string{"/usr/sbin/nologin", "/sbin/nologin"} {
		if fileExists(p) {
			return p
		}
	}
	return "/bin/false"
}

// ensureOwnedDir creates dir (mode 0700) and gives it and everything in it
// to uid:gid, without following links.
func ensureOwnedDir(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// shareConfig makes the configuration file readable by the service's
// group when the service user cannot read it yet: group gid, group read,
// nobody but the owner writes.
func shareConfig(path string, uid, gid int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := fi.Mode().Perm()
	switch {
	case int(st.Uid) == uid && mode&0o400 != 0,
		int(st.Gid) == gid && mode&0o040 != 0,
		mode&0o004 != 0:
		return nil
	}
	if err := os.Chown(path, -1, gid); err != nil {
		return err
	}
	return os.Chmod(path, (mode|0o040)&^0o022)
}

// afterUninstall removes what kardianos leaves behind: the SysV runlevel
// links and systemd's memory of a failed unit, and the logrotate rule
// afterInstall wrote. The service user and data_dir stay.
func afterUninstall(c Config) {
	if b, err := os.ReadFile(logrotatePath(c)); err == nil && strings.Contains(string(b), "Written by `onedrive-agent install`") {
		_ = os.Remove(logrotatePath(c))
	}
	switch Platform() {
	case "unix-systemv":
		links, _ := filepath.Glob("/etc/rc[0-6S].d/[SK][0-9][0-9]" + c.Name)
		for _, l := range links {
			dest, err := os.Readlink(l)
			if err == nil && filepath.Base(dest) == c.Name && filepath.Base(filepath.Dir(dest)) == "init.d" {
				_ = os.Remove(l)
			}
		}
	case "linux-systemd":
		_ = exec.Command("systemctl", "reset-failed", c.Name+".service").Run()
	}
}

// control runs systemctl or the init script itself (kardianos discards their
// output, which holds the reason of a failure).
func control(c Config, s kservice.Service, action string) error {
	switch Platform() {
	case "linux-systemd":
		return runTool("systemctl", action, c.Name+".service")
	case "unix-systemv":
		return runTool(Location(c), action)
	}
	return genericControl(s, action)
}

// runTool runs a service manager command; its error carries the output.
func runTool(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		cmd := strings.Join(append([]string{name}, args...), " ")
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("%s: %w: %s", cmd, err, msg)
		}
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return nil
}

func status(c Config, s kservice.Service) (string, error) {
	switch Platform() {
	case "linux-systemd":
		if !fileExists(Location(c)) {
			return StatusNotInstalled, nil
		}
		// is-active exits non-zero for every state but active; its output
		// is what counts.
		out, _ := exec.Command("systemctl", "is-active", c.Name+".service").Output()
		switch st := strings.TrimSpace(string(out)); st {
		case "active", "activating", "reloading", "refreshing":
			return StatusRunning, nil
		case "inactive", "deactivating":
			return StatusStopped, nil
		case "failed":
			return StatusFailed, nil
		default:
			return "", fmt.Errorf("systemctl is-active %s.service: unexpected answer %q", c.Name, st)
		}
	case "unix-systemv":
		p := Location(c)
		if !fileExists(p) {
			return StatusNotInstalled, nil
		}
		err := exec.Command(p, "status").Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return StatusRunning, nil
		case errors.As(err, &exit) && exit.ExitCode() == 3:
			return StatusStopped, nil
		case errors.As(err, &exit) && (exit.ExitCode() == 1 || exit.ExitCode() == 2):
			return StatusFailed, nil // LSB: dead, but a pid or lock file remains
		}
		return "", fmt.Errorf("%s status: %w", p, err)
	}
	return genericStatus(s)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

// stopSelf has nothing to do outside Windows: program.wait returns when the
// agent ends, and Run returns its error.
func stopSelf(string, *slog.Logger) {}

// systemLogger: on Linux the service manager collects stderr (journald, the
// SysV log file), so there is no system log to open.
func systemLogger(string) (SystemLogger, bool, error) { return nil, false, nil }
