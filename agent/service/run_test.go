//go:build !windows

package service

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestRun_Console(t *testing.T) {
	if IsServiceManaged() {
		t.Skip("the test runs under a service manager")
	}
	type key struct{}
	ctx := context.WithValue(t.Context(), key{}, "v")
	want := errors.New("boom")
	err := Run(ctx, func(ctx context.Context) error {
		if ctx.Value(key{}) != "v" {
			t.Error("runFn did not get the caller's context")
		}
		return want
	}, nil)
	if err != want {
		t.Errorf("Run = %v, want runFn's error", err)
	}
}

// The managed path is kardianos' Run with our program; outside Windows it
// calls Start, waits in program.wait, then calls Stop.

func TestRunManaged_StopCancelsAndWaits(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	started := make(chan struct{})
	var finished bool
	go func() {
		<-started
		stop() // what a SIGTERM does to main's context
	}()
	err := runManaged(ctx, "odtest", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // flushing, closing the database
		finished = true
		return ctx.Err()
	}, discardLogger(), time.Second)
	if err != nil {
		t.Errorf("runManaged = %v, want nil for a clean stop", err)
	}
	if !finished {
		t.Error("runManaged returned before runFn did")
	}
}

func TestRunManaged_AgentFails(t *testing.T) {
	want := errors.New("database corrupt")
	done := make(chan error, 1)
	go func() {
		done <- runManaged(t.Context(), "odtest", func(context.Context) error { return want }, discardLogger(), time.Second)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Errorf("runManaged = %v, want %v", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runManaged did not return after runFn failed")
	}
}

func TestRunManaged_StopTimeout(t *testing.T) {
	ctx, stop := context.WithCancel(t.Context())
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	go func() {
		<-started
		stop()
	}()
	begin := time.Now()
	err := runManaged(ctx, "odtest", func(context.Context) error {
		close(started)
		<-release // ignores its context
		return nil
	}, discardLogger(), 100*time.Millisecond)
	if !errors.Is(err, ErrStopTimeout) {
		t.Errorf("runManaged = %v, want ErrStopTimeout", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("gave up after %s, want about 100ms", d)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
