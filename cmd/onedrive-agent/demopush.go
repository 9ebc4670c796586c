package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// pushStory shows push on a second simulated drive, signed in as a user: changes reach the
// receiver about a second after they are made, without waiting for the interval; then the
// notification link drops and stays down, and the scheduled poll (every 10 s here) delivers
// the next change anyway.
func (d *demo) pushStory(ctx context.Context, dir, title string) error {
	drive := graphtest.NewServer(graphtest.Options{})
	defer drive.Close()
	const clientID = "00000000-0000-0000-0000-0000000push"
	recv, err := newDemoReceiver(d.out)
	if err != nil {
		return err
	}
	defer recv.down()
	toml := fmt.Sprintf(`data_dir = %q
[log]
level = "warn"
[admin]
listen = ""
[[instance]]
name = "live"
[instance.auth]
flow = "device"
client_id = %q
login_url = %q
graph_url = %q
[instance.poll]
interval = "10s"
push = "auto"
debounce = "1s"
[instance.callback]
url = %q
retry_initial = "200ms"
retry_max = "1s"
`, filepath.Join(dir, "live"), clientID, drive.LoginURL(), drive.GraphURL(), recv.URL())
	a, db, err := d.newAgent("demo-live.toml", toml, slog.LevelError)
	if err != nil {
		return err
	}
	defer db.Close()
	// The user signed in earlier (`onedrive-agent login live`); the agent reads the token
	// when it first calls Graph.
	if err := db.SaveToken("live", store.Token{AccessToken: drive.IssueToken(), RefreshToken: drive.IssueRefreshToken(clientID),
		TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	d.say("")
	d.say("%s", title)
	pushState := func() string {
		st, err := a.Status(ctx)
		if err != nil || len(st.Instances) == 0 {
			return ""
		}
		return st.Instances[0].Push
	}
	if err := waitCtx(ctx, 15*time.Second, func() bool { return pushState() == "connected" }); err != nil {
		return fmt.Errorf("push did not connect: %w", err)
	}
	d.say("   push connected: Graph announces each change on an open link; the agent polls a second later")
	if !sleepCtx(ctx, 1500*time.Millisecond) { // the poll that follows a connect
		return ctx.Err()
	}
	arrive := func(name string) (time.Duration, error) {
		t0 := time.Now()
		drive.CreateFile(drive.Root(), name, []byte(name))
		err := waitCtx(ctx, 30*time.Second, func() bool {
			events, _, _ := recv.snapshot()
			for _, e := range events {
				if e.Path == "/"+name {
					return true
				}
			}
			return false
		})
		return time.Since(t0), err
	}
	for _, name := range []string{"minutes.docx", "budget.xlsx"} {
		took, err := arrive(name)
		if err != nil {
			return fmt.Errorf("push: %s never arrived: %w", name, err)
		}
		d.say("   %s arrived %.1f s after the change (the interval is 10 s; no poll was asked for)", name, took.Seconds())
	}

	d.say("   The notification link drops and cannot reconnect; the scheduled poll is the safety net:")
	drive.RefusePushHandshakes(3, 503) // about 7 s of refused reconnects, then it heals
	drive.DropPushLinks()
	if err := waitCtx(ctx, 10*time.Second, func() bool { return pushState() != "connected" }); err != nil {
		return err
	}
	// Change the drive about 2 s before the next scheduled poll, so it is plain which one
	// delivers it.
	if err := waitCtx(ctx, 15*time.Second, func() bool {
		st, err := a.Status(ctx)
		if err != nil || st.Instances[0].NextPoll == nil {
			return false
		}
		left := time.Until(*st.Instances[0].NextPoll)
		return left > 500*time.Millisecond && left <= 2*time.Second
	}); err != nil {
		return err
	}
	took, err := arrive("offline-edit.txt")
	if err != nil {
		return fmt.Errorf("push: the safety poll did not deliver: %w", err)
	}
	d.say("   offline-edit.txt arrived %.1f s after the change, through the scheduled poll (push: %s)", took.Seconds(), pushState())
	if err := waitCtx(ctx, 40*time.Second, func() bool { return pushState() == "connected" }); err != nil {
		return fmt.Errorf("push did not reconnect: %w", err)
	}
	d.say("   the link is back: push connected")
	return nil
}

// waitCtx polls cond every 50 ms until it holds, d passes or ctx ends.
func waitCtx(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	return nil
}
