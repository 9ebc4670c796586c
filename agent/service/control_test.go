package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestControlError(t *testing.T) {
	err := controlError("install", Config{Name: "odtest"}, fmt.Errorf("open /etc/x: %w", os.ErrPermission))
	if !errors.Is(err, ErrPermission) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("err = %v, want ErrPermission and os.ErrPermission", err)
	}
	if !strings.Contains(err.Error(), privilegeHint) || !strings.HasPrefix(err.Error(), "install service odtest: open /etc/x") {
		t.Errorf("message %q", err)
	}
	if isPrivileged() {
		err := controlError("start", Config{Name: "odtest"}, errors.New("exit status 1"))
		if errors.Is(err, ErrPermission) {
			t.Errorf("privileged caller got a privilege hint: %v", err)
		}
	}
}

// TestNotInstalled acts on a name no service has; nothing is changed.
func TestNotInstalled(t *testing.T) {
	cfg := Config{Name: fmt.Sprintf("onedrive-agent-none-%d", os.Getpid()), Executable: fakeExe(t)}
	for name, fn := range map[string]func(Config) error{"Start": Start, "Stop": Stop, "Restart": Restart, "Uninstall": Uninstall} {
		if err := fn(cfg); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "onedrive-agent install") {
			t.Errorf("%s = %v, want ErrNotInstalled with a hint", name, err)
		}
	}
	if st, err := Status(cfg); err != nil || st != StatusNotInstalled {
		t.Errorf("Status = %q, %v; want %q", st, err, StatusNotInstalled)
	}
}

func TestInstall_MissingConfig(t *testing.T) {
	cfg := Config{
		Name:       fmt.Sprintf("onedrive-agent-none-%d", os.Getpid()),
		Executable: fakeExe(t),
		ConfigPath: filepath.Join(t.TempDir(), "missing.toml"),
	}
	err := Install(cfg)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "create it first") {
		t.Errorf("Install = %v, want a missing-config error", err)
	}
	if p := Location(cfg); strings.HasPrefix(p, "/") {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written despite the error", p)
		}
	}
}
