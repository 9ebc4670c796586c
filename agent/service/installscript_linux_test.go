//go:build linux

package service

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestInstallLinuxScript runs scripts/install-linux.sh (as root) against
// paths in a temporary folder, a stand-in binary and an existing account,
// over what a root-run install left: the service's account gets data_dir
// and the secret files (0700 and 0600), the variables file becomes 0600
// root, the configuration 0640 root:<service group>.
func TestInstallLinuxScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the install script needs root")
	}
	script, err := filepath.Abs("../../scripts/install-linux.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for _, n := range []string{"/etc/systemd/system/onedrive-agent.service", "/etc/init.d/onedrive-agent", "/etc/init/onedrive-agent.conf"} {
		if _, err := os.Stat(n); err == nil {
			t.Skipf("%s exists: the script would stop and reinstall that service", n)
		}
	}
	const account = "daemon"
	u, err := user.Lookup(account)
	if err != nil {
		t.Skipf("no %s account to stand for the service user", account)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	root := t.TempDir()
	calls := filepath.Join(root, "calls")
	src := filepath.Join(root, "src", "onedrive-agent")
	stub := "#!/bin/sh\ncase \"$1\" in version) echo 'onedrive-agent test' ;; *) echo \"$*\" >>'" + calls + "' ;; esac\n"
	mkfile(t, src, stub, 0o755)
	confDir := filepath.Join(root, "etc")
	dataDir := filepath.Join(root, "lib")
	defaults := filepath.Join(root, "default", "onedrive-agent")
	// What an install that ran the service as root left behind.
	mkfile(t, filepath.Join(dataDir, "onedrive-agent.db"), "", 0o600)
	mkfile(t, filepath.Join(dataDir, "admin.token"), "t\n", 0o600)
	mkfile(t, defaults, "OD_SECRET=x\n", 0o644)
	mkfile(t, filepath.Join(confDir, "secrets", "client_secret"), "s\n", 0o644)

	cmd := exec.Command("bash", script, src)
	cmd.Env = append(os.Environ(),
		"ONEDRIVE_AGENT_BIN="+filepath.Join(root, "bin", "onedrive-agent"),
		"ONEDRIVE_AGENT_CONF_DIR="+confDir,
		"ONEDRIVE_AGENT_DATA_DIR="+dataDir,
		"ONEDRIVE_AGENT_DEFAULTS="+defaults,
		"ONEDRIVE_AGENT_USER="+account,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install-linux.sh: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		path     string
		uid, gid int
		mode     os.FileMode
	}{
		{defaults, 0, 0, 0o600},
		{confDir, 0, gid, 0o750},
		{filepath.Join(confDir, "agent.toml"), 0, gid, 0o640},
		{filepath.Join(confDir, "secrets"), uid, gid, 0o700},
		{filepath.Join(confDir, "secrets", "client_secret"), uid, gid, 0o600},
		{dataDir, uid, gid, 0o700},
		{filepath.Join(dataDir, "onedrive-agent.db"), uid, gid, 0o600},
		{filepath.Join(dataDir, "admin.token"), uid, gid, 0o600},
	} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != tt.uid || int(st.Gid) != tt.gid || fi.Mode().Perm() != tt.mode {
			t.Errorf("%s: %d:%d %v, want %d:%d %v", tt.path, st.Uid, st.Gid, fi.Mode().Perm(), tt.uid, tt.gid, tt.mode)
		}
	}
	if b, _ := os.ReadFile(defaults); string(b) != "OD_SECRET=x\n" {
		t.Errorf("the existing variables were changed: %q", b)
	}
	if b, _ := os.ReadFile(calls); !strings.Contains(string(b), "install -c "+filepath.Join(confDir, "agent.toml")) {
		t.Errorf("the binary was not asked to install the service: %q", b)
	}
	if !strings.Contains(string(out), "sudo -u "+account) {
		t.Errorf("the next steps do not say to run commands as the service user:\n%s", out)
	}
}

func mkfile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
