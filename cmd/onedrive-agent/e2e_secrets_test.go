//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSecretsOnlyInServiceEnvironment: the client secret is ${OD_E2E_SECRET},
// set for the agent (as the service's environment file does) but not in the
// operator's shell. The commands that need no secret work; the ones that do
// name the file, line, key and variable.
func TestSecretsOnlyInServiceEnvironment(t *testing.T) {
	f := newFixture(t)
	b, err := os.ReadFile(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `client_secret_file = "secret"`, `client_secret = "${OD_E2E_SECRET}"`, 1)
	f.write("agent.toml", cfg)
	line := 0
	for i, l := range strings.Split(cfg, "\n") {
		if strings.Contains(l, "OD_E2E_SECRET") {
			line = i + 1
		}
	}

	// No agent runs: check passes with a warning, status and dead work, poll
	// needs the secret.
	code, _, stderr := f.cli("check", "-c", f.cfg)
	if code != 0 || !strings.Contains(stderr, "OD_E2E_SECRET") {
		t.Errorf("check: exit %d, stderr %q; want 0 and a warning naming OD_E2E_SECRET", code, stderr)
	}
	code, _, stderr = f.cli("poll", "-c", f.cfg, "finance")
	want := filepath.Base(f.cfg) + ":" + itoa(line) + ": instance.auth.client_secret: environment variable OD_E2E_SECRET is not set"
	if code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("poll without the secret: exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	f.mustCLI("status", "-c", f.cfg) // the database exists since the poll opened it
	f.mustCLI("dead", "list", "-c", f.cfg)
	code, _, stderr = f.cli("run", "-c", f.cfg)
	if code != 2 || !strings.Contains(stderr, "OD_E2E_SECRET") {
		t.Errorf("run without the secret: exit %d, stderr %q; want 2 naming the variable", code, stderr)
	}

	// The agent has the variable; the operator's commands reach it.
	t.Setenv("OD_E2E_SECRET", e2eSecret)
	p := f.start("run", "-c", f.cfg)
	os.Unsetenv("OD_E2E_SECRET")
	f.waitHealthy(p)
	out := f.mustCLI("poll", "-c", f.cfg, "finance")
	if !strings.Contains(out, "finance:") {
		t.Errorf("poll through the agent printed %q", out)
	}
	f.mustCLI("status", "-c", f.cfg)
	f.mustCLI("dead", "list", "-c", f.cfg, "finance")
	p.stop()
}

func itoa(n int) string { return strconv.Itoa(n) }
