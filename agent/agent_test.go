package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// testEnv is an agent wired to a fake Graph and a receiver, with its
// admin API on an httptest server.
type testEnv struct {
	graph *graphtest.Server
	recv  *receiver
	db    *store.DB
	agent *Agent
	cfg   *config.Config
	admin *httptest.Server
	token string
	toml  string // the agent.toml cfg was parsed from
}

// receiver is a callback endpoint that answers status (200 by default)
// with body (a JSON answer; none by default) and keeps the message ids of
// what it accepted.
type receiver struct {
	mu       sync.Mutex
	status   int
	body     string
	accepted []string
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.status/100 == 2 {
			r.accepted = append(r.accepted, req.Header.Get("Elements-Webhook-Id"))
		}
		if r.body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(r.status)
		_, _ = io.WriteString(w, r.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// answer makes the receiver answer status with body from now on.
func (r *receiver) answer(status int, body string) {
	r.mu.Lock()
	r.status, r.body = status, body
	r.mu.Unlock()
}

// has reports whether the receiver accepted the message id.
func (r *receiver) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.accepted {
		if a == id {
			return true
		}
	}
	return false
}

func (r *receiver) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func (r *receiver) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.accepted...)
}

const testClientID, testSecret = "11111111-2222-3333-4444-555555555555", "test-secret"

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	g := graphtest.NewServer(graphtest.Options{})
	t.Cleanup(g.Close)
	g.AddClient(testClientID, testSecret, false)
	recv := newReceiver(t)
	dir := t.TempDir()
	toml := agentTOML(dir) +
		graphInstanceTOML(g, "finance", "tags = [\"fin\"]\n", recv.srv.URL) + `
[[instance]]
name = "off"
enabled = false
[instance.auth]
client_id = "x"
[instance.callback]
url = "http://127.0.0.1:1/"
`
	cfg, db := parseAndOpen(t, dir, toml)
	a, err := New(Options{Config: cfg, DB: db, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := EnsureAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(AdminHandler(a, a.Metrics().Handler(), tok, nil))
	t.Cleanup(admin.Close)
	return &testEnv{graph: g, recv: recv, db: db, agent: a, cfg: cfg, admin: admin, token: tok, toml: toml}
}

func (e *testEnv) client() *AdminClient {
	return &AdminClient{BaseURL: e.admin.URL, Token: e.token}
}

// addDead puts a message with n events straight into the dead letters.
func (e *testEnv) addDead(t *testing.T, id string, n int) {
	t.Helper()
	err := e.db.Update("finance", func(tx *store.Tx) error {
		return tx.Enqueue(store.Message{ID: id, Events: n, Body: []byte(`{"message":{"eventId":"` + id + `"}}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := e.db.Peek("finance", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			if err := e.db.Reject("finance", m.Key, "400 Bad Request"); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("message %s not queued", id)
}

// TestAgent_StatusJSON checks the field names of GET /v1/status (what
// `status --json` prints) for an agent that is not running.
func TestAgent_StatusJSON(t *testing.T) {
	e := newTestEnv(t)
	e.addDead(t, "m1", 3)
	code, _, body := doReq(t, "GET", e.admin.URL+"/v1/status", "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "running", "database", "instances"} {
		if _, ok := s[k]; !ok {
			t.Errorf("status has no %q: %s", k, body)
		}
	}
	if s["version"] != "1.2.3" || s["running"] != false || s["database"] != e.db.Path() {
		t.Errorf("status = %s", body)
	}
	if _, ok := s["pid"]; ok {
		t.Errorf("a stopped agent's status has a pid: %s", body)
	}
	insts, _ := s["instances"].([]any)
	if len(insts) != 2 {
		t.Fatalf("instances: %s", body)
	}
	fin := insts[0].(map[string]any)
	for _, k := range []string{"name", "id", "enabled", "state", "queuedEvents", "queuedMessages",
		"deadMessages", "deadEvents", "resyncs", "hint"} {
		if _, ok := fin[k]; !ok {
			t.Errorf("instance status has no %q: %v", k, fin)
		}
	}
	if fin["name"] != "finance" || fin["id"] != 1.0 || fin["enabled"] != true || fin["state"] != StateStopped ||
		fin["deadMessages"] != 1.0 || fin["deadEvents"] != 3.0 || fin["queuedEvents"] != 0.0 {
		t.Errorf("finance status = %v", fin)
	}
	if !strings.Contains(fin["hint"].(string), "dead list finance") {
		t.Errorf("hint %q does not say how to inspect the dead letters", fin["hint"])
	}
	off := insts[1].(map[string]any)
	if off["name"] != "off" || off["id"] != 2.0 || off["enabled"] != false || off["state"] != StateDisabled {
		t.Errorf("disabled instance status = %v", off)
	}
}

// TestAgent_DeadThroughAdmin lists, replays and purges dead letters through
// AdminClient → AdminHandler → Agent → store.
func TestAgent_DeadThroughAdmin(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.client()
	for i := 1; i <= 3; i++ {
		e.addDead(t, fmt.Sprintf("m%d", i), i)
	}
	dl, err := c.Dead(ctx, "finance")
	if err != nil || len(dl) != 3 {
		t.Fatalf("Dead = %v, %v; want 3", dl, err)
	}
	if dl[0].ID != "m1" || dl[2].Events != 3 || dl[0].Reason != "400 Bad Request" || dl[0].Died.IsZero() || len(dl[0].Body) == 0 {
		t.Errorf("dead letters = %+v", dl)
	}
	if n, err := c.Replay(ctx, "finance", []string{"m2"}); err != nil || n != 1 {
		t.Errorf("Replay(m2) = %d, %v", n, err)
	}
	st, _ := e.db.Stats("finance")
	if st.QueuedMessages != 1 || st.QueuedEvents != 2 || st.DeadMessages != 2 {
		t.Errorf("after replay of m2: %+v", st)
	}
	if n, err := c.Purge(ctx, "finance", []string{"m3"}); err != nil || n != 1 {
		t.Errorf("Purge(m3) = %d, %v", n, err)
	}
	if n, err := c.Purge(ctx, "finance", nil); err != nil || n != 1 {
		t.Errorf("Purge(all) = %d, %v; want the 1 left", n, err)
	}
	if dl, err := c.Dead(ctx, "finance"); err != nil || len(dl) != 0 {
		t.Errorf("Dead after purge = %v, %v", dl, err)
	}
	for _, f := range []func() error{
		func() error { _, err := c.Dead(ctx, "nope"); return err },
		func() error { _, err := c.Replay(ctx, "nope", nil); return err },
		func() error { _, err := c.Purge(ctx, "nope", nil); return err },
		func() error { _, err := c.Poll(ctx, "nope"); return err },
		func() error { _, err := c.Resync(ctx, "nope"); return err },
	} {
		if err := f(); !errors.Is(err, ErrUnknownInstance) {
			t.Errorf("unknown instance: %v, want ErrUnknownInstance", err)
		}
	}
	if _, err := c.Poll(ctx, "off"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("Poll of a disabled instance = %v, want an error saying so", err)
	}
}

// contractMetrics are the metric names docs/operations.md promises, each per
// instance.
var contractMetrics = []string{
	"onedrive_agent_queue_events",
	"onedrive_agent_queue_oldest_age_seconds",
	"onedrive_agent_dead_letter_events",
	"onedrive_agent_events_total",
	"onedrive_agent_deliveries_total",
	"onedrive_agent_polls_total",
	"onedrive_agent_graph_requests_total",
	"onedrive_agent_graph_throttles_total",
	"onedrive_agent_resyncs_total",
	"onedrive_agent_last_successful_poll_timestamp_seconds",
	"onedrive_agent_push_connected",
	"onedrive_agent_push_notifications_total",
	"onedrive_agent_push_reconnects_total",
	"onedrive_agent_event_latency_seconds_bucket",
}

// TestAgent_Run runs the agent with its own admin listener: it polls at
// start, serves the admin API, delivers what a poll finds, shows the
// contract's metrics per instance, and stops promptly when cancelled.
func TestAgent_Run(t *testing.T) {
	e := newTestEnv(t)
	root := e.graph.Root()
	e.graph.CreateFile(root, "before.txt", []byte("x"))
	_, c, ctx, stop := e.runWithAdmin(t, Options{})
	defer stop()
	s, err := c.Status(ctx)
	if err != nil || !s.Running || s.PID != os.Getpid() || s.Started == nil {
		t.Fatalf("Status = %+v, %v; want running with our pid", s, err)
	}
	if got := s.Instances[0]; got.NextPoll == nil || got.LastSuccess == nil || got.QueuedEvents != 0 {
		t.Errorf("finance after the baseline = %+v; want next and last poll set, nothing queued", got)
	}
	if len(e.recv.ids()) != 0 {
		t.Errorf("the baseline delivered %v, want nothing", e.recv.ids())
	}

	e.graph.CreateFile(root, "after.txt", []byte("y"))
	res, err := c.Poll(ctx, "finance")
	if err != nil || res.Events != 1 {
		t.Fatalf("Poll = %+v, %v; want 1 event", res, err)
	}
	waitFor(t, 5*time.Second, "delivery", func() bool { return len(e.recv.ids()) == 1 })

	code, _, body := doReq(t, "GET", c.BaseURL+"/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, m := range contractMetrics {
		if !strings.Contains(body, m+`{instance="finance"`) {
			t.Errorf("/metrics has no %s for instance finance", m)
		}
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
