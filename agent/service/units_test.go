package service

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// unixOnly skips tests whose expectations are written with Unix paths.
func unixOnly(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("systemd units and init scripts use Unix paths")
	}
}

// fakeExe returns the path of an existing file to stand for the agent binary.
func fakeExe(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "onedrive-agent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSystemdUnit(t *testing.T) {
	unixOnly(t)
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := SystemdUnit(Config{Executable: "/usr/local/bin/onedrive-agent", ConfigPath: "conf/agent.toml"})
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(unit, "\n") {
		lines[l] = true
	}
	for _, want := range []string{
		"[Unit]",
		"Description=" + DefaultDescription,
		"After=network-online.target",
		"Wants=network-online.target",
		"[Service]",
		"ExecStart=/usr/local/bin/onedrive-agent run -c " + filepath.Join(wd, "conf", "agent.toml"),
		"Restart=on-failure",
		"RestartSec=5",
		"RestartPreventExitStatus=2",
		"KillSignal=SIGTERM",
		"TimeoutStopSec=20",
		"LimitNOFILE=65536",
		"StateDirectory=onedrive-agent",
		"[Install]",
		"WantedBy=multi-user.target",
	} {
		if !lines[want] {
			t.Errorf("unit lacks line %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "ProtectSystem") || strings.Contains(unit, "ReadWritePaths") {
		t.Errorf("unit restricts writable paths, which breaks a custom data_dir:\n%s", unit)
	}
}

func TestSystemdUnit_Quoting(t *testing.T) {
	unixOnly(t)
	unit, err := SystemdUnit(Config{
		Name:        "odtest",
		Description: "100% of $HOME",
		Executable:  "/opt/One Drive/onedrive-agent",
		ConfigPath:  `/etc/od "x"/a%b$c.toml`,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nDescription=100%% of $$HOME\n",
		"\nExecStart=\"/opt/One Drive/onedrive-agent\" run -c \"/etc/od \\\"x\\\"/a%%b$$c.toml\"\n",
		"\nStateDirectory=odtest\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
}

func TestSystemdQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin/x", "/usr/bin/x"},
		{"", `""`},
		{"a b", `"a b"`},
		{`a\b`, `"a\\b"`},
		{`a"b`, `"a\"b"`},
		{"50%", "50%%"},
		{"$X", "$$X"},
		{";", `";"`},
	} {
		if got := systemdQuote(tc.in); got != tc.want {
			t.Errorf("systemdQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the quoted words")
	}
	for _, in := range []string{"plain", "", "a b", "it's", `"$HOME" \n`, "`id`", "; rm -rf /tmp/x"} {
		out, err := exec.Command(sh, "-c", "printf '%s' "+shellQuote(in)).Output()
		if err != nil {
			t.Fatalf("sh with %q: %v", in, err)
		}
		if string(out) != in {
			t.Errorf("shellQuote(%q) came back from sh as %q", in, out)
		}
	}
}

func TestSysVScript(t *testing.T) {
	unixOnly(t)
	script, err := SysVScript(Config{
		Name:       "odtest",
		Executable: "/opt/one drive/onedrive-agent",
		ConfigPath: "/etc/it's/agent.toml",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#!/bin/sh\n",
		"# Provides:          odtest\n",
		"# Required-Start:    $network $remote_fs $syslog\n",
		"NAME='odtest'\n",
		`exec '/opt/one drive/onedrive-agent' 'run' '-c' '/etc/it'\''s/agent.toml' </dev/null >>"$LOGFILE" 2>&1` + "\n",
		"STOP_TIMEOUT=20\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "{{") || strings.Contains(script, "@") {
		t.Errorf("script has template leftovers:\n%s", script)
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		p := filepath.Join(t.TempDir(), "odtest")
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v\n%s", err, out)
		}
	}
}

func TestConfig_Resolve(t *testing.T) {
	exe := fakeExe(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct {
		name     string
		in       Config
		wantArgs []string
		wantErr  string
	}{
		{"Defaults", Config{Executable: exe, ConfigPath: "agent.toml"}, []string{"run", "-c", filepath.Join(dir, "agent.toml")}, ""},
		{"NoConfig", Config{Executable: exe}, []string{"run"}, ""},
		{"OwnArgs", Config{Executable: exe, ConfigPath: "x.toml", Args: []string{"run", "--verbose"}}, []string{"run", "--verbose"}, ""},
		{"BadName", Config{Name: "../evil", Executable: exe}, nil, "service name"},
		{"Blank", Config{Name: "a b", Executable: exe}, nil, "service name"},
		{"Newline", Config{Executable: exe, ConfigPath: "a\nExecStartPre=/bin/evil"}, nil, "line breaks"},
		{"Braces", Config{Executable: exe, Description: "{{Path}}"}, nil, "braces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.in.Resolve()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != DefaultName || c.DisplayName != DefaultDisplayName || c.Description != DefaultDescription {
				t.Errorf("defaults not applied: %+v", c)
			}
			if c.Executable != exe {
				t.Errorf("Executable = %q, want %q", c.Executable, exe)
			}
			if strings.Join(c.Args, "|") != strings.Join(tc.wantArgs, "|") {
				t.Errorf("Args = %q, want %q", c.Args, tc.wantArgs)
			}
			if c.ConfigPath != "" && !filepath.IsAbs(c.ConfigPath) {
				t.Errorf("ConfigPath %q not absolute", c.ConfigPath)
			}
		})
	}
}

// TestSystemdUnit_Verify has systemd check the unit's syntax where
// systemd-analyze is installed (it needs no running systemd).
func TestSystemdUnit_Verify(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "onedrive-agent")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit, err := SystemdUnit(Config{Name: "odverify", Executable: exe, ConfigPath: filepath.Join(dir, "50%.toml")})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "odverify.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
}
