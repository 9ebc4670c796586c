package service

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
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
		"User=onedrive-agent",
		"Group=onedrive-agent",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"Restart=always",
		"RestartSec=5",
		"RestartPreventExitStatus=2",
		"KillSignal=SIGTERM",
		"TimeoutStopSec=20",
		"LimitNOFILE=65536",
		"StateDirectory=onedrive-agent",
		"UMask=0077",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"CapabilityBoundingSet=",
		"SystemCallFilter=@system-service",
		"[Install]",
		"WantedBy=multi-user.target",
	} {
		if !lines[want] {
			t.Errorf("unit lacks line %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "ReadWritePaths") {
		t.Errorf("unit with the default data_dir names another writable path:\n%s", unit)
	}
}

// TestSystemdUnit_DataDir: a data_dir outside /var/lib/<Name> is the one
// other writable path; one under /home keeps home directories visible
// (read-only) so that it can be reached at all.
func TestSystemdUnit_DataDir(t *testing.T) {
	unixOnly(t)
	for _, tt := range []struct {
		dataDir, want, home string
	}{
		{"/var/lib/onedrive-agent", "", "ProtectHome=yes"},
		{"/srv/onedrive agent", `ReadWritePaths="/srv/onedrive agent"`, "ProtectHome=yes"},
		{"/home/alice/od", "ReadWritePaths=/home/alice/od", "ProtectHome=read-only"},
	} {
		unit, err := SystemdUnit(Config{Executable: "/usr/local/bin/onedrive-agent", ConfigPath: "/etc/onedrive-agent/agent.toml", DataDir: tt.dataDir})
		if err != nil {
			t.Fatal(err)
		}
		if tt.want == "" && strings.Contains(unit, "ReadWritePaths") || tt.want != "" && !strings.Contains(unit, "\n"+tt.want+"\n") {
			t.Errorf("data_dir %s: want %q in\n%s", tt.dataDir, tt.want, unit)
		}
		if !strings.Contains(unit, "\n"+tt.home+"\n") {
			t.Errorf("data_dir %s: want %s", tt.dataDir, tt.home)
		}
	}
	if _, err := SystemdUnit(Config{Executable: "/x", User: "Root Evil"}); err == nil {
		t.Error("a user name with a blank was accepted")
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
		"\n        exec '/opt/one drive/onedrive-agent' 'run' '-c' '/etc/it'\\''s/agent.toml'\n",
		"exec setpriv --reuid=\"$RUN_AS\" --regid=\"$RUN_AS\" --init-groups -- '/opt/one drive/onedrive-agent' 'run' '-c' '/etc/it'\\''s/agent.toml'\n",
		"RUN_AS='onedrive-agent'\n",
		"run_agent </dev/null >>\"$LOGFILE\" 2>&1 &\n",
		"STOP_TIMEOUT=20\n",
		"RESTART_DELAY=5\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "{{") || regexp.MustCompile(`@[A-Z]+@`).MatchString(script) {
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

// TestSystemdUnit_Security has systemd rate the unit's sandbox (where
// systemd-analyze 252 or later is installed: Debian's systemd package) and
// requires an exposure of at most 2.5, and `systemd-analyze verify` to
// find nothing, for the default and a custom data_dir.
func TestSystemdUnit_Security(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the unit's exposure is not measured")
	}
	exe := fakeExe(t)
	for _, dataDir := range []string{"", "/srv/onedrive-agent"} {
		unit, err := SystemdUnit(Config{Executable: exe, ConfigPath: "/etc/onedrive-agent/agent.toml", DataDir: dataDir})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "onedrive-agent.service")
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tool, "security", "--offline=yes", "--no-pager", p).CombinedOutput()
		if err != nil && bytes.Contains(out, []byte("--offline")) {
			t.Skipf("this systemd-analyze cannot rate a unit file offline (needs systemd 252): %s", bytes.TrimSpace(out))
		}
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("systemd-analyze security: %v, no exposure level in\n%s", err, out)
		}
		exposure, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("systemd-analyze security --offline=yes (data_dir %q): exposure %.1f", dataDir, exposure)
		if exposure > 2.5 {
			t.Errorf("exposure %.1f, want at most 2.5:\n%s", exposure, out)
		}
		if out, err := exec.Command(tool, "verify", p).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
}
