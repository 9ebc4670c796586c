//go:build unix

package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestE2E_RunPollRestart runs the binary against a fake Graph and a receiver:
// the baseline poll at start, the admin API, `poll` through the admin API,
// a receiver outage across SIGTERM and a restart, and a second `run` on the
// same data_dir.
func TestE2E_RunPollRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.graph.Root()
	docs := f.graph.CreateFolder(root, "Docs")
	f.graph.CreateFile(docs, "old.txt", []byte("baseline"))

	p := f.run()

	// The instance never polled: run polls it at start (the baseline,
	// which reports nothing).
	waitUntil(t, 10*time.Second, "the baseline poll at start", func() bool {
		s := f.status()
		return s.Instances[0].LastSuccess != nil
	})
	if f.deltaRequests() == 0 {
		t.Fatal("no delta request reached Graph")
	}
	s := f.status()
	if !s.Running || s.PID != p.pid() {
		t.Errorf("status: running %v pid %d, want running with pid %d", s.Running, s.PID, p.pid())
	}
	if got := f.recv.got(); len(got) != 0 {
		t.Errorf("the baseline delivered %v, want nothing", got)
	}

	// The admin API.
	if code, body, err := f.httpGet("/healthz"); err != nil || code != 200 {
		t.Errorf("/healthz: %d %q %v", code, body, err)
	}
	if code, body, err := f.httpGet("/v1/status"); err != nil || code != 200 || !strings.Contains(body, `"name": "finance"`) {
		t.Errorf("/v1/status: %d %v\n%s", code, err, body)
	}
	code, metrics, err := f.httpGet("/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, m := range []string{
		"onedrive_agent_queue_events", "onedrive_agent_queue_oldest_age_seconds",
		"onedrive_agent_dead_letter_events", "onedrive_agent_events_total",
		"onedrive_agent_deliveries_total", "onedrive_agent_polls_total",
		"onedrive_agent_graph_requests_total", "onedrive_agent_graph_throttles_total",
		"onedrive_agent_resyncs_total", "onedrive_agent_last_successful_poll_timestamp_seconds",
	} {
		if !strings.Contains(metrics, m+`{instance="finance"`) {
			t.Errorf("/metrics has no %s for instance finance", m)
		}
	}
	if !strings.Contains(metrics, `onedrive_agent_polls_total{instance="finance",outcome="ok"} 1`) {
		t.Errorf("/metrics does not count the baseline poll:\n%s", grepLines(metrics, "polls_total"))
	}
	// State-changing routes need the token; the command line reads it from
	// data_dir/admin.token.
	resp, err := http.Post("http://"+f.admin+"/v1/instances/finance/poll", "", nil)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST poll without token: %v %v, want 401", resp.Status, err)
	}
	resp.Body.Close()
	if fi, err := os.Stat(filepath.Join(f.dataDir, "admin.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.token: %v %v, want mode 0600", fi.Mode(), err)
	}

	// Changes on the drive reach the receiver after `poll`.
	f.graph.CreateFile(docs, "new.txt", []byte("new"))
	old, _ := f.graph.Lookup("/Docs/old.txt")
	f.graph.Modify(old, []byte("changed"))
	before := f.deltaRequests()
	out := f.mustCLI("poll", "-c", f.cfg, "finance")
	if !strings.Contains(out, "2 events queued") {
		t.Errorf("poll printed %q, want 2 events queued", out)
	}
	if f.deltaRequests() == before {
		t.Error("poll did not reach the running agent's Graph client")
	}
	waitUntil(t, 10*time.Second, "delivery of the polled changes", func() bool { return len(f.recv.got()) == 2 })
	wantEvents(t, f.recv.got(), "UPDATED /Docs/old.txt", "CREATED /Docs/new.txt")

	// A poll that fails exits 1 with the reason; resync reconciles and
	// reports nothing when nothing differs.
	f.graph.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Status: http.StatusForbidden, Message: "no access to this drive"})
	code, out, errOut := f.cli("poll", "-c", f.cfg, "finance")
	t.Logf("poll against a 403: %s", strings.TrimSpace(errOut))
	if code != 1 || !strings.Contains(errOut, "403") || !strings.Contains(errOut, "no access to this drive") {
		t.Errorf("poll against a 403: exit %d\nstdout: %s\nstderr: %s\nwant exit 1 with Graph's reason", code, out, errOut)
	}
	out = f.mustCLI("resync", "-c", f.cfg, "finance")
	if !strings.Contains(out, "0 events queued") {
		t.Errorf("resync printed %q, want 0 events", out)
	}
	if n := f.status().Instances[0]; n.State != "idle" {
		t.Errorf("state after a good resync: %q, want idle", n.State)
	}

	// The receiver fails: events stay queued, also across a stop.
	f.recv.setStatus(http.StatusServiceUnavailable)
	for i := range 12 {
		f.graph.CreateFile(docs, fmt.Sprintf("queued-%02d.txt", i), []byte{byte(i)})
	}
	f.mustCLI("poll", "-c", f.cfg, "finance")
	waitUntil(t, 10*time.Second, "a refused delivery", func() bool { return f.recv.refusals() > 0 })
	queued := f.status().Instances[0]
	if queued.QueuedEvents != 12 || queued.QueuedMessages != 2 {
		t.Fatalf("while the receiver fails: %d events in %d messages queued, want 12 in 2", queued.QueuedEvents, queued.QueuedMessages)
	}
	p.stop()

	// No agent runs: status opens the database itself and shows the same queue.
	off := f.status()
	if off.Running || off.Instances[0].QueuedEvents != queued.QueuedEvents || off.Instances[0].QueuedMessages != queued.QueuedMessages {
		t.Fatalf("status without agent: running %v, %d events in %d messages; want not running, %d in %d",
			off.Running, off.Instances[0].QueuedEvents, off.Instances[0].QueuedMessages, queued.QueuedEvents, queued.QueuedMessages)
	}

	table := f.mustCLI("status", "-c", f.cfg)
	if !strings.Contains(table, "not running") || !regexp.MustCompile(`(?m)^finance\s+not_running\s.*\s12\s`).MatchString(table) {
		t.Errorf("status table without agent:\n%s", table)
	}

	// A restart with a working receiver delivers them.
	f.recv.setStatus(http.StatusOK)
	polls := f.deltaRequests()
	p2 := f.run()
	waitUntil(t, 10*time.Second, "delivery of the queue after the restart", func() bool { return len(f.recv.got()) >= 14 })
	got := f.recv.got()
	var want []string
	for i := range 12 {
		want = append(want, fmt.Sprintf("CREATED /Docs/queued-%02d.txt", i))
	}
	wantEvents(t, got[2:], want...)
	if n := f.deltaRequests() - polls; n != 0 {
		// The last poll succeeded less than an interval (1h) ago.
		t.Errorf("the restart polled Graph %d times, want 0 (last success is recent)", n)
	}

	// A second agent on the same data_dir fails fast and names the holder.
	start := time.Now()
	second := f.start("run", "-c", f.cfg)
	code, ok := second.wait(5 * time.Second)
	if !ok {
		t.Fatalf("a second run did not exit within 5s; stderr:\n%s", second.stderr.String())
	}
	took := time.Since(start)
	errOut = second.stderr.String()
	wantMsg := fmt.Sprintf("database %s is in use by another onedrive-agent (pid %d)", filepath.Join(f.dataDir, dbFile), p2.pid())
	if code != 1 || !strings.Contains(errOut, wantMsg) {
		t.Errorf("second run: exit %d after %v, stderr:\n%s\nwant exit 1 and %q", code, took, errOut, wantMsg)
	}
	t.Logf("second run refused in %v", took.Round(time.Millisecond))
	p2.stop()

	// Every event was delivered exactly once (no crash happened).
	ids := map[string]bool{}
	for _, e := range f.recv.got() {
		if ids[e.ID] {
			t.Errorf("event %s delivered twice", e.ID)
		}
		ids[e.ID] = true
	}
}

// TestE2E_StopWhileBusy: SIGTERM while a callback POST hangs and a poll
// waits for a slow Graph still ends the process with 0 within 10 s, and
// the undelivered message stays queued.
func TestE2E_StopWhileBusy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.graph.Root()
	p := f.run()
	waitUntil(t, 10*time.Second, "the baseline", func() bool { return f.status().Instances[0].LastSuccess != nil })

	f.recv.setStatus(statusHang)
	f.graph.CreateFile(root, "a.txt", []byte("a"))
	f.mustCLI("poll", "-c", f.cfg, "finance")
	waitUntil(t, 10*time.Second, "a hanging delivery", func() bool { return f.recv.held() > 0 })

	f.graph.CreateFile(root, "b.txt", []byte("b"))
	f.graph.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Delay: time.Minute})
	pollDone := make(chan int, 1)
	go func() {
		code, _, _ := f.cli("poll", "-c", f.cfg, "finance")
		pollDone <- code
	}()
	waitUntil(t, 10*time.Second, "the poll waiting for Graph", func() bool {
		_, body, err := f.httpGet("/v1/status")
		return err == nil && strings.Contains(body, `"state": "polling"`)
	})
	time.Sleep(100 * time.Millisecond) // the delta request is on its way
	p.stop()
	select {
	case code := <-pollDone:
		if code != 1 {
			t.Errorf("the interrupted poll command exited %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("the poll command did not end after the agent stopped")
	}
	if s := f.status().Instances[0]; s.QueuedEvents != 1 {
		t.Errorf("after the stop: %d events queued, want the 1 whose delivery hung", s.QueuedEvents)
	}
}

// TestE2E_DeadLetters: a receiver answering 400 sends messages to the dead
// letters; `dead list/replay/purge` work through the admin API and, with no
// agent running, on the database.
func TestE2E_DeadLetters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.graph.Root()
	p := f.run()
	waitUntil(t, 10*time.Second, "the baseline", func() bool { return f.status().Instances[0].LastSuccess != nil })

	f.recv.setStatus(http.StatusBadRequest)
	f.graph.CreateFile(root, "a.txt", []byte("a"))
	f.mustCLI("poll", "-c", f.cfg, "finance")
	waitUntil(t, 10*time.Second, "a dead letter", func() bool { return f.status().Instances[0].DeadMessages == 1 })
	list := f.mustCLI("dead", "-c", f.cfg, "list", "finance")
	idA := deadIDs(t, list)
	if len(idA) != 1 || !strings.Contains(list, "1 events") || !strings.Contains(list, "400") {
		t.Fatalf("dead list through the admin API:\n%s", list)
	}

	// Replay through the admin API: delivered once the receiver accepts.
	f.recv.setStatus(http.StatusOK)
	if out := f.mustCLI("dead", "-c", f.cfg, "replay", "finance"); !strings.Contains(out, "finance: 1 messages back") {
		t.Errorf("dead replay printed %q", out)
	}
	waitUntil(t, 10*time.Second, "delivery of the replayed message", func() bool { return len(f.recv.got()) == 1 })
	wantEvents(t, f.recv.got(), "CREATED /a.txt")

	// Two more dead letters, then stop the agent.
	f.recv.setStatus(http.StatusBadRequest)
	f.graph.CreateFile(root, "b.txt", []byte("b"))
	f.mustCLI("poll", "-c", f.cfg, "finance")
	waitUntil(t, 10*time.Second, "dead letter b", func() bool { return f.status().Instances[0].DeadMessages == 1 })
	f.graph.CreateFile(root, "c.txt", []byte("c"))
	f.mustCLI("poll", "-c", f.cfg, "finance")
	waitUntil(t, 10*time.Second, "dead letter c", func() bool { return f.status().Instances[0].DeadMessages == 2 })
	p.stop()

	// Offline: list, purge one by id, replay the other.
	list = f.mustCLI("dead", "-c", f.cfg, "list")
	ids := deadIDs(t, list)
	if len(ids) != 2 {
		t.Fatalf("offline dead list:\n%s", list)
	}
	if out := f.mustCLI("dead", "-c", f.cfg, "list", "finance", "--id", ids[1]); len(deadIDs(t, out)) != 1 {
		t.Errorf("dead list --id %s:\n%s", ids[1], out)
	}
	// Purging them all without a terminal to ask on needs --yes.
	if code, _, stderr := f.cli("dead", "-c", f.cfg, "purge", "finance"); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Errorf("dead purge without --id or --yes: exit %d, stderr %q; want 2 naming --yes", code, stderr)
	}
	if out := f.mustCLI("dead", "-c", f.cfg, "purge", "finance", "--id", ids[0]); !strings.Contains(out, "1 dead letters purged") {
		t.Errorf("offline purge printed %q", out)
	}
	if out := f.mustCLI("dead", "-c", f.cfg, "replay", "finance"); !strings.Contains(out, "1 messages back") {
		t.Errorf("offline replay printed %q", out)
	}
	s := f.status().Instances[0]
	if s.DeadMessages != 0 || s.QueuedMessages != 1 {
		t.Errorf("after the offline purge and replay: %d dead, %d queued; want 0 and 1", s.DeadMessages, s.QueuedMessages)
	}

	f.recv.setStatus(http.StatusOK)
	p = f.start("run", "-c", f.cfg)
	f.waitHealthy(p)
	waitUntil(t, 10*time.Second, "delivery of the offline replay", func() bool { return len(f.recv.got()) == 2 })
	wantEvents(t, f.recv.got()[1:], "CREATED /c.txt")
	if out := f.mustCLI("dead", "-c", f.cfg, "list"); out != "no dead letters\n" {
		t.Errorf("dead list at the end:\n%s", out)
	}
	p.stop()
}

// wantEvents compares delivered events ("TYPE path") with want, in order.
func wantEvents(t *testing.T, got []event, want ...string) {
	t.Helper()
	var g []string
	for _, e := range got {
		g = append(g, e.Type+" "+e.Path)
	}
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("delivered events:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

var deadLine = regexp.MustCompile(`(?m)^\S+\t(\S+)\t`)

// deadIDs returns the message ids of `dead list` output, sorted.
func deadIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, m := range deadLine.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	sort.Strings(ids)
	return ids
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
