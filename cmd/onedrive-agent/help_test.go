package main

import (
	"encoding/json"
	"strings"
	"testing"
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
