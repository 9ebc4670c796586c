package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/service"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// TestCommandHelp: `COMMAND -h` is not an error: it prints the command's
// usage (naming its arguments) and flags on stdout and exits 0.
func TestCommandHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"poll", "-h"}, []string{"usage: onedrive-agent poll [-c FILE] INSTANCE", "-config", "-c "}},
		{[]string{"login", "--help"}, []string{"INSTANCE", "-browser", "-code"}},
		{[]string{"dead", "-h"}, []string{"list|replay|purge [INSTANCE]", "-json", "-yes", "-id"}},
		{[]string{"check", "-h"}, []string{"[--online]", "-online"}},
		{[]string{"import", "-h"}, []string{"FILE.json"}},
		{[]string{"install", "-h"}, []string{"-dry-run"}},
		{[]string{"help"}, []string{"COMMAND -h", "--config FILE"}},
		{[]string{"help", "poll"}, []string{"usage: onedrive-agent poll [-c FILE] INSTANCE"}},
		{[]string{"drives", "-h"}, []string{"INSTANCE|SITE-URL", "-instance"}},
		{[]string{"admin", "-h"}, []string{"rotate-token [-c FILE]"}},
		{[]string{"admin", "rotate-token", "-h"}, []string{"rotate-token [-c FILE]", "-config"}},
	}
	for _, tt := range tests {
		code, stdout, stderr := runMain(t, tt.args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q; want 0 and nothing on stderr", tt.args, code, stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tt.args, w, stdout)
			}
		}
	}
}

// TestConfigLongFlag: --config is -c.
func TestConfigLongFlag(t *testing.T) {
	path := writeConfig(t, validTOML)
	for _, flag := range []string{"-c", "--config", "-config"} {
		code, stdout, stderr := runMain(t, "check", flag, path)
		if code != 0 || !strings.Contains(stdout, path) {
			t.Errorf("check %s FILE: exit %d\n%s%s", flag, code, stdout, stderr)
		}
	}
}

// TestDeadListAndPurge: an empty list says so, --json prints an array,
// and purge without --id refuses without a terminal unless --yes.
func TestDeadListAndPurge(t *testing.T) {
	path := writeConfig(t, validTOML)
	if err := os.MkdirAll(filepath.Join(filepath.Dir(path), "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(filepath.Dir(path), "data", dbFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, stdout, _ := runMain(t, "dead", "list", "-c", path)
	if code != 0 || stdout != "no dead letters\n" {
		t.Errorf("dead list on an empty queue: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runMain(t, "dead", "list", "--json", "-c", path)
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || list == nil || len(list) != 0 {
		t.Errorf("dead list --json on an empty queue: exit %d, %q (%v)", code, stdout, err)
	}
	code, stdout, _ = runMain(t, "dead", "purge", "-c", path)
	if code != 0 {
		t.Errorf("dead purge with nothing to purge: exit %d, %q", code, stdout)
	}
	code, _, stderr := runMain(t, "completion", "bash")
	if code != 0 || stderr != "" {
		t.Errorf("completion bash: exit %d, %q", code, stderr)
	}
}

// TestNoDatabaseNotCreated: status and dead on a data_dir without a
// database (a typo) fail clearly and create nothing.
func TestNoDatabaseNotCreated(t *testing.T) {
	path := writeConfig(t, strings.Replace(validTOML, `data_dir = "data"`, `data_dir = "dta"`, 1))
	dir := filepath.Join(filepath.Dir(path), "dta")
	for _, args := range [][]string{{"status"}, {"dead", "list"}} {
		code, _, stderr := runMain(t, append(args, "-c", path)...)
		if code != exitFailure || !strings.Contains(stderr, "no database at "+filepath.Join(dir, dbFile)) || !strings.Contains(stderr, "data_dir") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("%v created %s", args, dir)
		}
	}
}

// TestCheckDataDir: check rejects a data_dir this user cannot create.
func TestCheckDataDir(t *testing.T) {
	// Under a file: no one can create it.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, strings.Replace(validTOML, `data_dir = "data"`, `data_dir = "`+filepath.Join(file, "data")+`"`, 1))
	if code, _, stderr := runMain(t, "check", "-c", path); code != exitUsage || !strings.Contains(stderr, "cannot be created: "+file+" is a file") {
		t.Errorf("check with data_dir under a file: exit %d, stderr %q", code, stderr)
	}
	if os.Geteuid() == 0 {
		t.Skip("root can create a directory anywhere else")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	path = writeConfig(t, strings.Replace(validTOML, `data_dir = "data"`, `data_dir = "`+filepath.Join(ro, "x", "data")+`"`, 1))
	code, _, stderr := runMain(t, "check", "-c", path)
	if code != exitUsage || !strings.Contains(stderr, "cannot create it in "+ro) {
		t.Errorf("check: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runMain(t, "check", "-c", writeConfig(t, validTOML)); code != 0 {
		t.Errorf("check of a creatable data_dir: exit %d, %s", code, stderr)
	}
}

// TestLoginCodeFlowWithoutCode: an instance with flow = "code" (what import
// writes for Open Connectors) is not a dead end without --code: login
// prints the sign-in address and the exact command to run.
func TestLoginCodeFlowWithoutCode(t *testing.T) {
	cfg := strings.Replace(validTOML, `flow = "client_credentials"`, "flow = \"code\"\nredirect_url = \"https://app.example/callback\"", 1)
	cfg = strings.Replace(cfg, `drive = "user:alice@contoso.example"`, `drive = "me"`, 1)
	path := writeConfig(t, cfg)
	code, _, stderr := runMain(t, "login", "-c", path, "finance")
	for _, want := range []string{
		"/contoso.example/oauth2/v2.0/authorize?",
		"redirect_uri=https%3A%2F%2Fapp.example%2Fcallback",
		"onedrive-agent login finance --code 'THE-CODE'",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("login without --code: stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != exitUsage {
		t.Errorf("login without --code: exit %d, want %d", code, exitUsage)
	}
}

// TestInstallDryRun: install --dry-run prints the service definition with
// the absolute config path and changes nothing (no privileges needed).
func TestInstallDryRun(t *testing.T) {
	path := writeConfig(t, validTOML)
	_, before := os.Stat(service.Location(service.Config{}))
	code, stdout, stderr := runMain(t, "install", "--dry-run", "-c", path)
	if _, after := os.Stat(service.Location(service.Config{})); (before == nil) != (after == nil) {
		t.Errorf("install --dry-run changed %s", service.Location(service.Config{}))
	}
	if code != 0 {
		t.Fatalf("install --dry-run: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"# would write: ", "run", "-c", path} {
		if !strings.Contains(stdout, want) {
			t.Errorf("install --dry-run output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestCompletionFlags: the bash completion offers each command exactly the
// flags it takes (those `COMMAND -h` lists).
func TestCompletionFlags(t *testing.T) {
	offered := func(cmd string) []string {
		flags := "-c --config -h" // what the script offers a command it has no case for
		for _, l := range strings.Split(bashCompletion, "\n") {
			pattern, rest, ok := strings.Cut(strings.TrimSpace(l), `) flags="`)
			if !ok {
				continue
			}
			for _, p := range strings.Split(pattern, "|") {
				if strings.TrimSpace(p) == cmd {
					v, _, _ := strings.Cut(rest, `"`)
					flags = strings.ReplaceAll(v, "$flags", flags)
				}
			}
		}
		var names []string
		for _, f := range strings.Fields(flags) {
			if f != "-h" {
				names = append(names, strings.TrimLeft(f, "-"))
			}
		}
		slices.Sort(names)
		return names
	}
	for _, cmd := range []string{"run", "demo", "check", "login", "status", "poll", "resync", "dead", "drives", "install", "uninstall", "start", "stop", "restart", "version"} {
		takes := commandFlags(t, cmd)
		slices.Sort(takes)
		if got := offered(cmd); !slices.Equal(got, takes) {
			t.Errorf("the completion offers %s the flags %v; it takes %v", cmd, got, takes)
		}
	}
}

// TestUsageNamesFlags: the command list of `onedrive-agent help` names every
// flag of each command (-c as [-c FILE]).
func TestUsageNamesFlags(t *testing.T) {
	entry := map[string]string{} // command → its lines in the list
	cmd := ""
	for _, l := range strings.Split(usageText, "\n") {
		switch {
		case strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   "):
			cmd = strings.Fields(l)[0]
		case !strings.HasPrefix(l, "  "):
			cmd = ""
		}
		if cmd != "" {
			entry[cmd] += l + "\n"
		}
	}
	for _, c := range []string{"run", "demo", "check", "login", "status", "poll", "resync", "dead", "drives", "install"} {
		if entry[c] == "" {
			t.Errorf("the command list has no %s", c)
			continue
		}
		for _, f := range commandFlags(t, c) {
			want := "--" + f
			if want == "--c" || want == "--config" {
				want = "[-c FILE]"
			}
			if !strings.Contains(entry[c], want) {
				t.Errorf("the command list lacks %s for %s:\n%s", want, c, entry[c])
			}
		}
	}
}

// commandFlags is the names of the flags `onedrive-agent CMD -h` lists.
func commandFlags(t *testing.T, cmd string) []string {
	t.Helper()
	code, stdout, stderr := runMain(t, cmd, "-h")
	if code != 0 {
		t.Errorf("%s -h: exit %d, %s", cmd, code, stderr)
	}
	var names []string
	for _, l := range strings.Split(stdout, "\n") {
		if rest, ok := strings.CutPrefix(l, "  -"); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	return names
}
