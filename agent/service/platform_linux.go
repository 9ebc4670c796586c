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
	"path/filepath"
	"strings"
	"time"

	kservice "github.com/kardianos/service"
)

// privilegeHint completes an error that missing rights probably caused.
const privilegeHint = "run it as root, e.g. with sudo"

// toolTimeout bounds one systemctl or init script call; a stop waits for the
// agent (20 s at most), so this is only a guard against a hung tool.
const toolTimeout = 2 * time.Minute

func isPrivileged() bool { return os.Geteuid() == 0 }

func afterInstall(Config) error { return nil }

// afterUninstall removes what kardianos leaves behind: the SysV runlevel
// links and systemd's memory of a failed unit.
func afterUninstall(c Config) {
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
