package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	exists := func(ok bool) func(string) bool { return func(string) bool { return ok } }
	tests := []struct {
		goos, flag string
		env        map[string]string
		exists     bool
		want       string
	}{
		{"linux", "/x/a.toml", map[string]string{EnvConfig: "/y"}, true, "/x/a.toml"},
		{"linux", "", map[string]string{EnvConfig: "/y/b.toml"}, true, "/y/b.toml"},
		{"linux", "", nil, true, "agent.toml"},
		{"linux", "", nil, false, "/etc/onedrive-agent/agent.toml"},
		{"windows", "", map[string]string{"ProgramData": `D:\PD`}, false, `D:\PD\onedrive-agent\agent.toml`},
		{"windows", "", nil, false, `C:\ProgramData\onedrive-agent\agent.toml`},
	}
	for _, tt := range tests {
		if got := resolve(tt.goos, tt.flag, env(tt.env), exists(tt.exists)); got != tt.want {
			t.Errorf("resolve(%s, %q, %v, %v) = %q, want %q", tt.goos, tt.flag, tt.env, tt.exists, got, tt.want)
		}
	}
	if got := defaultDataDir("windows", env(nil)); got != `C:\ProgramData\onedrive-agent` {
		t.Errorf("windows data dir = %q", got)
	}
	if got := defaultDataDir("linux", env(nil)); got != "/var/lib/onedrive-agent" {
		t.Errorf("linux data dir = %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(path, []byte(minimal+"[instance.poll]\ninterval = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":8: instance.poll.interval: ") {
		t.Errorf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !strings.Contains(err.Error(), "agent.toml.example") {
		t.Errorf("missing file: %v", err)
	}
}
