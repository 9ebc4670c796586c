//go:build linux

package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInstall_System installs a throw-away service named
// onedrive-agent-test-<pid> with the service manager of this machine, checks
// the file written, and uninstalls it. It runs as root on a machine where
// systemd runs (/run/systemd/system) or, without systemd, /etc/init.d is
// writable; elsewhere it is skipped. The service runs a shell script that
// sleeps, never the agent: it is started and stopped only with SysV init.
func TestInstall_System(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing a service needs root")
	}
	var render func(Config) (string, error)
	switch p := Platform(); p {
	case "linux-systemd":
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			t.Skip("systemd is installed but not running (/run/systemd/system is missing)")
		}
		render = SystemdUnit
	case "unix-systemv":
		if unix.Access("/etc/init.d", unix.W_OK) != nil {
			t.Skip("/etc/init.d is not writable")
		}
		render = SysVScript
	default:
		t.Skipf("service manager %q: the test knows systemd and SysV init only", p)
	}

	dir := t.TempDir()
	exe := filepath.Join(dir, "fake-agent")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("onedrive-agent-test-%d", os.Getpid())
	cfg := Config{Name: name, Executable: exe, ConfigPath: conf}
	loc := Location(cfg)
	if _, err := os.Stat(loc); err == nil {
		t.Fatalf("%s exists before the test", loc)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(loc); err == nil {
			if err := Uninstall(cfg); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		_ = os.Remove("/var/log/" + name + ".log")
	})

	if err := Install(cfg); err != nil {
		t.Fatalf("Install: %v", err)
	}
	got, err := os.ReadFile(loc)
	if err != nil {
		t.Fatalf("read installed definition: %v", err)
	}
	want, err := render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from the rendered definition:\n%s\nwant:\n%s", loc, got, want)
	}
	if !strings.Contains(string(got), conf) {
		t.Errorf("%s does not name the config %s", loc, conf)
	}
	if st, err := Status(cfg); err != nil || st != StatusStopped {
		t.Errorf("Status after install = %q, %v; want %q", st, err, StatusStopped)
	}
	if err := Install(cfg); !errors.Is(err, ErrAlreadyInstalled) || !strings.Contains(err.Error(), loc) {
		t.Errorf("second Install = %v, want ErrAlreadyInstalled naming %s", err, loc)
	}

	if Platform() == "unix-systemv" {
		fi, err := os.Stat(loc)
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("init script mode: %v %v", fi, err)
		}
		runStartStop(t, cfg) // ends with Uninstall of the running service
	} else if err := Uninstall(cfg); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, err := os.Stat(loc); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Uninstall (%v)", loc, err)
	}
	links, _ := filepath.Glob("/etc/rc?.d/*" + name)
	if len(links) > 0 {
		t.Errorf("runlevel links left: %v", links)
	}
	if st, err := Status(cfg); err != nil || st != StatusNotInstalled {
		t.Errorf("Status after uninstall = %q, %v; want %q", st, err, StatusNotInstalled)
	}
	if err := Uninstall(cfg); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second Uninstall = %v, want ErrNotInstalled", err)
	}
}

// runStartStop starts the installed SysV service (a sleeping script), checks
// Status and Restart, and checks that Uninstall stops it.
func runStartStop(t *testing.T, cfg Config) {
	pidFile := "/var/run/" + cfg.Name + ".pid"
	begin := time.Now()
	if err := Start(cfg); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %s", time.Since(begin))
	if st, err := Status(cfg); err != nil || st != StatusRunning {
		t.Errorf("Status after Start = %q, %v", st, err)
	}
	first := readPid(t, pidFile)
	if err := Restart(cfg); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	second := readPid(t, pidFile)
	if first == second || alive(first) {
		t.Errorf("Restart kept pid %d (now %d, old alive %v)", first, second, alive(first))
	}
	begin = time.Now()
	if err := Stop(cfg); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(begin))
	if st, err := Status(cfg); err != nil || st != StatusStopped {
		t.Errorf("Status after Stop = %q, %v", st, err)
	}
	if alive(second) {
		t.Errorf("pid %d alive after Stop", second)
	}
	if err := Start(cfg); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	third := readPid(t, pidFile)
	if err := Uninstall(cfg); err != nil {
		t.Fatalf("Uninstall of a running service: %v", err)
	}
	if alive(third) {
		t.Errorf("pid %d alive after Uninstall", third)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// alive reports whether pid runs (a zombie waiting for its parent does not
// count).
func alive(pid int) bool {
	deadline := time.Now().Add(2 * time.Second)
	for {
		if syscall.Kill(pid, 0) != nil {
			return false
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i:], ") Z") {
			return false
		}
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
}
