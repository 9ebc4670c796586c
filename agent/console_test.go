package agent

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/agent/console"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/webhook"
)

func TestConsoleBackend(t *testing.T) {
	fc := &fakeController{known: map[string]bool{"finance": true}}
	b := consoleBackend{c: fc, targets: func(name string) string {
		return map[string]string{"finance": "https://u:p@hooks.example/x?token=abc"}[name]
	}}
	ov, err := b.Overview(context.Background())
	if err != nil || len(ov.Instances) != 1 {
		t.Fatalf("Overview = %+v, %v", ov, err)
	}
	if got := ov.Instances[0]; got.Name != "finance" || got.State != StateIdle || got.Target != "https://hooks.example/x?…" {
		t.Errorf("instance %+v: want finance, idle, the target without credentials or query", got)
	}
	if res, err := b.Poll(context.Background(), "finance"); err != nil || res != "2 events from 3 items in 1 page" {
		t.Errorf("Poll = %q, %v", res, err)
	}
	for name, call := range map[string]func() error{
		"poll":   func() error { _, err := b.Poll(context.Background(), "nope"); return err },
		"resync": func() error { _, err := b.Resync(context.Background(), "nope"); return err },
		"dead":   func() error { _, err := b.DeadLetters(context.Background(), "nope"); return err },
		"replay": func() error { _, err := b.Replay(context.Background(), "nope", nil); return err },
		"purge":  func() error { _, err := b.Purge(context.Background(), "nope", nil); return err },
	} {
		if err := call(); !errors.Is(err, console.ErrNotFound) {
			t.Errorf("%s of an unknown instance: %v, want console.ErrNotFound", name, err)
		}
	}
}

func TestRecordAttempt(t *testing.T) {
	rec := activity.New(activity.Options{})
	record := recordAttempt(rec, "finance")
	refusal := &webhook.StatusError{Status: 422, Text: "HTTP 422 Unprocessable Entity: bad amount"}
	record(deliver.Attempt{Message: "m-1", Events: 2, Outcome: deliver.Delivered, Code: 204, Took: time.Millisecond})
	record(deliver.Attempt{Message: "m-2", Events: 1, Outcome: deliver.Reject, Code: 422, Err: refusal.Error()})
	record(deliver.Attempt{Message: "m-3", Events: 1, Outcome: deliver.Retry, Err: "connection refused"})
	record(deliver.Attempt{Message: "m-4", Events: 8, Outcome: deliver.Split, Code: 413, Err: "HTTP 413"})
	got := rec.Recent("finance")
	want := []struct{ id, outcome, err string }{
		{"m-4", activity.Split, "HTTP 413"},
		{"m-3", activity.Retry, "connection refused"},
		{"m-2", activity.Dead, "HTTP 422 Unprocessable Entity: bad amount"},
		{"m-1", activity.Delivered, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("%d deliveries recorded, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].ID != w.id || got[i].Outcome != w.outcome || got[i].Error != w.err {
			t.Errorf("delivery %d = %+v, want %+v", i, got[i], w)
		}
	}
	if h := rec.LastHour("finance"); h.Delivered != 1 || h.Failed != 2 {
		t.Errorf("last hour %d delivered, %d failed; want 1, 2", h.Delivered, h.Failed)
	}
}

// TestConsoleBackend_OverviewOf: an instance's console pages read that
// instance alone, and an unknown one is the console's not-found.
func TestConsoleBackend_OverviewOf(t *testing.T) {
	e := newTestEnv(t)
	b := consoleBackend{c: e.agent}
	ov, err := b.OverviewOf(context.Background(), "finance")
	if err != nil || len(ov.Instances) != 1 || ov.Instances[0].Name != "finance" {
		t.Fatalf("OverviewOf(finance) = %+v, %v; want finance alone", ov.Instances, err)
	}
	all, err := b.Overview(context.Background())
	if err != nil || len(all.Instances) != 2 {
		t.Fatalf("Overview = %d instances, %v; want 2", len(all.Instances), err)
	}
	if !reflect.DeepEqual(ov.Instances[0], all.Instances[0]) {
		t.Errorf("OverviewOf(finance) = %+v, want the overview's %+v", ov.Instances[0], all.Instances[0])
	}
	if _, err := b.OverviewOf(context.Background(), "nope"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("OverviewOf(nope) = %v, want console.ErrNotFound", err)
	}
}
