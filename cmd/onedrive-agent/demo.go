package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

const demoInstance = "demo"

// demo is one run of the demo: a simulated drive, a receiver, and the agent.
type demo struct {
	out     io.Writer
	errOut  io.Writer // the agent's own log lines (warnings and worse)
	drive   *graphtest.Server
	recv    *demoReceiver
	agent   *agent.Agent
	changes int
	base    map[string]string // item id → path at the baseline, in scope
	// callback, when set, is the operator's own receiver: the events go
	// there instead of to the built-in one.
	callback string
}

// cmdDemo runs the whole pipeline against a built-in simulated drive and a
// built-in receiver that prints what it gets.
func cmdDemo(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dur := fs.Duration("for", 0, "after the scripted story, keep making random changes for this long (e.g. 1m)")
	keep := fs.Bool("keep", false, "keep the demo's configuration and database (the command says where)")
	callbackURL := fs.String("callback", "", "send the events to this receiver (http or https URL) instead of the built-in one")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("demo: unexpected argument %q", pos[0])
	}
	if *callbackURL != "" {
		if u, err := url.Parse(*callbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usagef("demo: --callback %q is not an http or https URL", *callbackURL)
		}
	}
	dir, err := os.MkdirTemp("", "onedrive-agent-demo-")
	if err != nil {
		return err
	}
	d := &demo{out: env.stdout, errOut: env.stderr, callback: *callbackURL}
	err = d.run(env.ctx, dir, *dur)
	if !*keep {
		os.RemoveAll(dir)
		return err
	}
	d.say("")
	d.say("Kept (--keep) in %s:", dir)
	d.say("  configuration  %s", filepath.Join(dir, "agent.toml"))
	d.say("  database       %s", filepath.Join(dir, "data", dbFile))
	d.say("Look inside with: onedrive-agent status -c %s   (or dead list -c …)", filepath.Join(dir, "agent.toml"))
	d.say("The simulated drive and receiver are gone, so `run` with it finds nothing to poll. Remove it with: rm -r %s", dir)
	return err
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}

func (d *demo) run(ctx context.Context, dir string, churn time.Duration) error {
	d.drive = graphtest.NewServer(graphtest.Options{PageSize: 50})
	defer d.drive.Close()
	const clientID, secret = "00000000-0000-0000-0000-00000000demo", "demo-secret"
	d.drive.AddClient(clientID, secret, false)
	recv, err := newDemoReceiver(d.out)
	if err != nil {
		return err
	}
	d.recv = recv
	defer recv.down()
	callbackURL := recv.URL()
	if d.callback != "" {
		callbackURL = d.callback
	}

	// A few files exist before the agent starts: they are the baseline.
	root := d.drive.Root()
	inbox := d.drive.CreateFolder(root, "Inbox")
	for i := 1; i <= 3; i++ {
		d.drive.CreateFile(inbox, fmt.Sprintf("scan-%d.pdf", i), []byte(fmt.Sprint("scan ", i)))
	}

	toml := fmt.Sprintf(`data_dir = %q
[log]
level = "warn"
[admin]
listen = ""
[[instance]]
name = %q
tags = ["demo"]
[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = %q
client_secret = %q
login_url = %q
graph_url = %q
[instance.drive]
drive = %q
[instance.poll]
interval = "1h"
[instance.callback]
url = %q
signature_key = "demo-signature-key"
retry_initial = "200ms"
retry_max = "1s"
`, filepath.Join(dir, "data"), demoInstance, clientID, secret, d.drive.LoginURL(), d.drive.GraphURL(), d.drive.DriveID(), callbackURL)
	cfgFile := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(cfgFile, []byte(toml), 0o600); err != nil {
		return err
	}
	a, db, err := d.newAgent(cfgFile, toml, slog.LevelWarn)
	if err != nil {
		return err
	}
	defer db.Close()
	d.agent = a
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.agent.Run(ctx) }()

	if d.callback != "" {
		d.say("onedrive-agent demo: a simulated OneDrive (%d items); the events go to your receiver at %s", d.drive.Len(), d.callback)
		d.say("(POST application/json, Elements-Webhook-Signature with signature_key \"demo-signature-key\")")
	} else {
		d.say("onedrive-agent demo: a simulated OneDrive (%d items) and a receiver at %s", d.drive.Len(), recv.URL())
	}
	d.say("")
	d.say("1. First poll: the agent indexes the drive silently (initial = \"baseline\").")
	if err := d.poll(ctx); err != nil {
		return err
	}
	d.base = d.inScope()

	steps := []struct {
		title string
		do    func()
	}{
		{"2. A user creates a folder with two reports.", func() {
			r := d.create(root, "Reports", nil)
			d.create(r, "q1.xlsx", []byte("q1"))
			d.create(r, "q2.xlsx", []byte("q2"))
		}},
		{"3. Edits, a rename, a move and a delete.", func() {
			q1, _ := d.drive.Lookup("/Reports/q1.xlsx")
			d.drive.Modify(q1, []byte("q1, revised"))
			q2, _ := d.drive.Lookup("/Reports/q2.xlsx")
			d.drive.Rename(q2, "q2-final.xlsx")
			s1, _ := d.drive.Lookup("/Inbox/scan-1.pdf")
			r, _ := d.drive.Lookup("/Reports")
			d.drive.Move(s1, r)
			s2, _ := d.drive.Lookup("/Inbox/scan-2.pdf")
			d.drive.Delete(s2)
			d.changes += 4
		}},
	}
	for _, s := range steps {
		d.say("")
		d.say("%s", s.title)
		s.do()
		if err := d.pollAndDrain(ctx); err != nil {
			return err
		}
	}

	if d.callback != "" {
		// The outage needs the built-in receiver; show more changes instead.
		d.say("")
		d.say("4. More changes: a folder of 25 invoices, and the Inbox deleted.")
		d.archiveAndDeleteInbox(root)
		if err := d.pollAndDrain(ctx); err != nil {
			return err
		}
	} else if err := d.outage(ctx, root); err != nil {
		return err
	}

	if err := d.pushStory(ctx, dir, `5. Push: a second drive, signed in as a user, polled every 10 s with push = "auto".`); err != nil {
		return err
	}

	if churn > 0 {
		d.say("")
		d.say("6. Random changes for %s.", churn)
		if err := d.churn(ctx, churn); err != nil {
			return err
		}
	}

	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if d.callback != "" {
		return d.callbackSummary()
	}
	return d.summary()
}

// newAgent builds an agent from toml, read as the configuration file name, with its database
// in the configured data_dir; its log lines at level and above go to d.errOut. The caller
// closes db once the agent has stopped.
func (d *demo) newAgent(name, toml string, level slog.Level) (*agent.Agent, *store.DB, error) {
	cfg, err := config.Parse(name, []byte(toml), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, nil, fmt.Errorf("demo config: %w", err)
	}
	log := slog.New(slog.NewTextHandler(d.errOut, &slog.HandlerOptions{Level: level}))
	db, err := store.Open(filepath.Join(cfg.DataDir, dbFile), store.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	a, err := agent.New(agent.Options{Config: cfg, DB: db, Logger: log, Version: agentVersion(), Commit: agentCommit()})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return a, db, nil
}

// archiveAndDeleteInbox creates a folder of 25 invoices and deletes the
// Inbox with what is left in it.
func (d *demo) archiveAndDeleteInbox(root string) {
	arch := d.create(root, "Archive", nil)
	for i := 1; i <= 25; i++ {
		d.create(arch, fmt.Sprintf("invoice-%03d.pdf", i), []byte(fmt.Sprint("invoice ", i)))
	}
	inboxID, _ := d.drive.Lookup("/Inbox")
	d.drive.Delete(inboxID)
	d.changes++
}

// outage takes the built-in receiver down while changes come in, shows the
// queue, and brings it back.
func (d *demo) outage(ctx context.Context, root string) error {
	recv := d.recv
	d.say("")
	d.say("4. The receiver goes down. Changes keep coming; the agent queues them on disk.")
	recv.down()
	d.archiveAndDeleteInbox(root)
	if err := d.poll(ctx); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		st, _ := d.agent.Status(ctx)
		in := st.Instances[0]
		d.say("   receiver down: %d events in %d messages queued, last error: %s", in.QueuedEvents, in.QueuedMessages, oneLineErr(in.LastDeliveryError))
		if !sleepCtx(ctx, time.Second) {
			return ctx.Err()
		}
	}
	d.say("   the receiver comes back:")
	if err := recv.up(); err != nil {
		return fmt.Errorf("demo receiver: %w", err)
	}
	return d.drain(ctx)
}

func oneLineErr(s string) string {
	if s == "" {
		return "-"
	}
	return oneLine(s)
}

func (d *demo) create(parent, name string, content []byte) string {
	d.changes++
	if content == nil {
		return d.drive.CreateFolder(parent, name)
	}
	return d.drive.CreateFile(parent, name, content)
}

func (d *demo) poll(ctx context.Context) error {
	res, err := d.agent.Poll(ctx, demoInstance)
	if err != nil {
		return fmt.Errorf("poll: %w", err)
	}
	d.say("   poll: %d changed items from Graph in %d page(s) -> %d events queued", res.Items, res.Pages, res.Events)
	return nil
}

func (d *demo) pollAndDrain(ctx context.Context) error {
	if err := d.poll(ctx); err != nil {
		return err
	}
	return d.drain(ctx)
}

// drain waits until the queue is empty.
func (d *demo) drain(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := d.agent.Status(ctx)
		if err != nil {
			return err
		}
		if st.Instances[0].QueuedEvents == 0 {
			return nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
	}
	if d.callback != "" {
		return fmt.Errorf("the queue did not drain within 30s: does %s answer 2xx? (the agent's log above says what it answered)", d.callback)
	}
	return errors.New("the queue did not drain within 30s")
}

// churn makes random changes and polls every couple of seconds.
func (d *demo) churn(ctx context.Context, dur time.Duration) error {
	rng := rand.New(rand.NewPCG(1, 2))
	end := time.Now().Add(dur)
	n := 0
	for time.Now().Before(end) && ctx.Err() == nil {
		for i := 0; i < 10; i++ {
			d.randomChange(rng, &n)
		}
		if err := d.pollAndDrain(ctx); err != nil {
			return err
		}
		if !sleepCtx(ctx, 2*time.Second) {
			break
		}
	}
	return nil
}

func (d *demo) randomChange(rng *rand.Rand, n *int) {
	tree := d.drive.Tree()
	var files, folders []graphtest.Entry
	for _, e := range tree {
		switch {
		case e.Root:
			folders = append(folders, e)
		case e.Folder:
			folders = append(folders, e)
		default:
			files = append(files, e)
		}
	}
	*n++
	pick := func(es []graphtest.Entry) graphtest.Entry { return es[rng.IntN(len(es))] }
	switch op := rng.IntN(6); {
	case op == 0 || len(files) < 3:
		d.create(pick(folders).ID, fmt.Sprintf("file-%d.txt", *n), []byte(fmt.Sprint(*n)))
	case op == 1:
		d.create(pick(folders).ID, fmt.Sprintf("folder-%d", *n), nil)
	case op == 2:
		d.drive.Modify(pick(files).ID, []byte(fmt.Sprint("edit ", *n)))
		d.changes++
	case op == 3:
		d.drive.Rename(pick(files).ID, fmt.Sprintf("renamed-%d.txt", *n))
		d.changes++
	case op == 4:
		f, to := pick(files), pick(folders)
		if f.ParentID != to.ID {
			d.drive.Move(f.ID, to.ID)
			d.changes++
		}
	default:
		d.drive.Delete(pick(files).ID)
		d.changes++
	}
}

// inScope maps every live item but the root to its path.
func (d *demo) inScope() map[string]string {
	m := map[string]string{}
	for id, e := range d.drive.Tree() {
		if !e.Root {
			m[id] = e.Path
		}
	}
	return m
}

// summary replays the received events onto the baseline and compares the
// result with the simulated drive: any difference is a lost event.
func (d *demo) summary() error {
	events, messages, dups := d.recv.snapshot()
	mirror := map[string]string{}
	for id, p := range d.base {
		mirror[id] = p
	}
	replay(mirror, events)
	want := d.inScope()
	lost := 0
	for id, p := range want {
		if mirror[id] != p {
			lost++
		}
	}
	for id := range mirror {
		if _, ok := want[id]; !ok {
			lost++
		}
	}
	d.say("")
	d.say("Summary: %d changes made, %d events delivered in %d messages (%d duplicates), lost: %d",
		d.changes, len(events), messages, dups, lost)
	d.say("(A change is one operation on the drive; an event is what the receiver gets. They differ:")
	d.say("deleting a folder also reports each item inside it, and several changes to one item between")
	d.say("two polls arrive as one event with its latest state. \"lost\" counts items whose state the")
	d.say("receiver could not rebuild from its events: it must be 0.)")
	d.say("The receiver's copy of the drive, rebuilt from the events alone, matches the drive: %v", lost == 0)
	if lost > 0 {
		return fmt.Errorf("%d items differ between the drive and the events received", lost)
	}
	return nil
}

// callbackSummary ends a demo whose events went to the operator's receiver.
func (d *demo) callbackSummary() error {
	st, err := d.agent.Status(context.Background())
	if err != nil {
		return err
	}
	in := st.Instances[0]
	d.say("")
	d.say("Summary: %d changes made; their events went to %s. Queued now: %d events; dead letters: %d.",
		d.changes, d.callback, in.QueuedEvents, in.DeadMessages)
	d.say("(A change is one operation on the drive; an event is what the receiver gets: deleting a folder")
	d.say("also reports each item inside it, and several changes to one item between two polls arrive as one event.)")
	return nil
}

// sleepCtx sleeps for d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
