package agent

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

// TestReload: while the agent runs and a poll is requested, Reload adds,
// changes and removes instances, keeps the state of those it restarts, and
// reports data_dir as needing a restart.
func TestReload(t *testing.T) {
	e := newTestEnv(t)
	ctx, stop := runAgent(t, e.agent)
	defer stop()
	waitFor(t, 10*time.Second, "the first poll", func() bool {
		s, err := e.agent.Status(ctx)
		return err == nil && s.Instances[0].LastSuccess != nil
	})
	before, _ := e.agent.Status(ctx)

	// finance gets a new interval, "legal" appears, "off" goes away.
	text := e.toml
	text = strings.Replace(text, `interval = "1h"`, `interval = "2h"`, 1)
	i := strings.Index(text, "[[instance]]\nname = \"off\"")
	legal := strings.Replace(text[strings.Index(text, "[[instance]]"):i], `name = "finance"`, `name = "legal"`, 1)
	text = text[:i] + legal
	cfg, err := config.Parse(filepath.Join(e.cfg.DataDir, "agent.toml"), []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.agent.Activity().Record("off", activity.Delivery{At: time.Now(), Outcome: activity.Delivered, Events: 1})
	go e.agent.Poll(context.Background(), "finance") // a requested round during the reload
	if err := e.agent.Reload(cfg); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	s, _ := e.agent.Status(ctx)
	var names []string
	for _, in := range s.Instances {
		names = append(names, in.Name)
	}
	if strings.Join(names, ",") != "finance,legal" {
		t.Errorf("instances after reload: %v", names)
	}
	if s.Instances[0].ID != before.Instances[0].ID || s.Instances[0].DriveID != before.Instances[0].DriveID {
		t.Errorf("finance lost its state: before %+v, after %+v", before.Instances[0], s.Instances[0])
	}
	waitFor(t, 10*time.Second, "legal's first poll", func() bool {
		s, err := e.agent.Status(ctx)
		return err == nil && len(s.Instances) == 2 && s.Instances[1].LastSuccess != nil
	})
	if _, err := e.agent.Poll(ctx, "off"); !errors.Is(err, ErrUnknownInstance) {
		t.Errorf("poll of a removed instance: %v", err)
	}
	if slices.Contains(e.agent.Activity().Instances(), "off") {
		t.Error("the console still keeps the deliveries of the removed instance")
	}

	moved := *cfg
	moved.DataDir = t.TempDir()
	if err := e.agent.Reload(&moved); !errors.Is(err, ErrRestartNeeded) || !strings.Contains(err.Error(), "data_dir") {
		t.Errorf("Reload with another data_dir: %v", err)
	}
}

// TestReload_ConsoleTarget: the console shows the callback URL in force, also for an
// instance a reload added or whose callback it changed.
func TestReload_ConsoleTarget(t *testing.T) {
	e := newTestEnv(t)
	b := consoleBackend{c: e.agent, targets: e.agent.callbackURL}
	targets := func() map[string]string {
		t.Helper()
		ov, err := b.Overview(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, in := range ov.Instances {
			out[in.Name] = in.Target
		}
		return out
	}
	if got := targets()["finance"]; got != e.recv.srv.URL {
		t.Fatalf("finance's target before the reload: %q, want %q", got, e.recv.srv.URL)
	}
	text := strings.Replace(e.toml, "url = \""+e.recv.srv.URL+"\"", "url = \""+e.recv.srv.URL+"/moved?code=s\"", 1)
	i := strings.Index(text, "[[instance]]\nname = \"off\"")
	text = text[:i] + strings.Replace(text[strings.Index(text, "[[instance]]"):i], `name = "finance"`, `name = "legal"`, 1)
	cfg, err := config.Parse(filepath.Join(e.cfg.DataDir, "agent.toml"), []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.agent.Reload(cfg); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	want := e.recv.srv.URL + "/moved?…"
	if got := targets(); got["finance"] != want || got["legal"] != want {
		t.Errorf("targets after the reload: %v, want %s for finance and legal", got, want)
	}
}
