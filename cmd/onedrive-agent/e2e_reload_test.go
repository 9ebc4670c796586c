//go:build unix

package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReloadOnSIGHUP: `run` keeps running on SIGHUP and applies the edited
// agent.toml (an instance added, one changed); a configuration that does
// not validate is logged and the running one stays; a new [admin].listen
// is reported as needing a restart.
func TestReloadOnSIGHUP(t *testing.T) {
	f := newFixture(t)
	p := f.run()
	waitUntil(t, 20*time.Second, "the first poll of finance", func() bool {
		s := f.status()
		return len(s.Instances) == 1 && s.Instances[0].LastSuccess != nil
	})
	orig, err := os.ReadFile(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Add "legal" (a copy of finance's table) and change finance's interval.
	text := string(orig)
	i := strings.Index(text, "[[instance]]")
	inst := text[i:]
	edited := strings.Replace(text, `interval = "1h"`, `interval = "2h"`, 1) +
		strings.Replace(inst, `name = "finance"`, `name = "legal"`, 1)
	f.write("agent.toml", edited)
	hup := func() {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hup()
	waitUntil(t, 20*time.Second, "legal to poll after the reload", func() bool {
		for _, in := range f.status().Instances {
			if in.Name == "legal" && in.LastSuccess != nil {
				return true
			}
		}
		return false
	})
	if _, exited := p.wait(0); exited {
		t.Fatalf("the agent exited on SIGHUP: %v", p.err)
	}
	log := p.stderr.String()
	for _, want := range []string{"instance added by reload", "instance changed by reload", "configuration reloaded"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q", want)
		}
	}

	// A configuration that does not validate: logged, the old one stays.
	f.write("agent.toml", edited+"\nbogus_key = 1\n")
	hup()
	waitUntil(t, 10*time.Second, "the rejected reload in the log", func() bool {
		return strings.Contains(p.stderr.String(), "does not validate")
	})
	if _, body, err := f.httpGet("/v1/status"); err != nil || strings.Count(body, `"name"`) != 2 {
		t.Errorf("after a bad reload /v1/status (err %v) should list the 2 instances of the previous config:\n%s", err, body)
	}

	// Removing legal and moving the admin API: legal stops, the admin API
	// stays where it is until a restart, and the log says so.
	moved := strings.Replace(string(orig), f.admin, freeAddr(t), 1)
	f.write("agent.toml", moved)
	hup()
	waitUntil(t, 10*time.Second, "the restart note in the log", func() bool {
		return strings.Contains(p.stderr.String(), "need a restart")
	})
	f.write("agent.toml", string(orig)) // status reads this file and reaches the old address
	if s := f.status(); len(s.Instances) != 1 || s.Instances[0].Name != "finance" {
		t.Errorf("after removing legal: %+v", s.Instances)
	}
	p.stop()
}
