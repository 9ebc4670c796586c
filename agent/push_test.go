package agent

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// pushEnv is a running agent with one signed-in instance ("docs") against a fake Graph whose
// notification link pings every 100 ms (a client has 400 ms to answer).
type pushEnv struct {
	graph *graphtest.Server
	recv  *receiver
	agent *Agent
}

// startPushEnv starts the agent; poll is extra [instance.poll] lines, flow the sign-in flow.
func startPushEnv(t *testing.T, flow, poll string, gopts graphtest.Options) *pushEnv {
	t.Helper()
	gopts.PushPingInterval, gopts.PushPingTimeout = 100*time.Millisecond, 400*time.Millisecond
	g := graphtest.NewServer(gopts)
	t.Cleanup(g.Close)
	g.AddClient(testClientID, testSecret, false)
	recv := newReceiver(t)
	dir := t.TempDir()
	toml := agentTOML(dir) + instanceBlock{name: "docs", flow: flow, clientID: testClientID, loginURL: g.LoginURL(),
		graphURL: g.GraphURL(), drive: g.DriveID(), poll: "debounce = \"200ms\"\n" + poll + "\n",
		callback: recv.srv.URL, quickRetries: true}.String()
	cfg, db := parseAndOpen(t, dir, toml)
	if _, err := db.EnsureInstance("docs"); err != nil {
		t.Fatal(err)
	}
	if flow != config.FlowClientCredentials {
		if err := db.SaveToken("docs", store.Token{AccessToken: g.IssueToken(), RefreshToken: g.IssueRefreshToken(testClientID),
			TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(Options{Config: cfg, DB: db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	return &pushEnv{graph: g, recv: recv, agent: a}
}

func (e *pushEnv) status(t *testing.T) InstanceStatus {
	t.Helper()
	s, err := e.agent.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Instances[0]
}

// graphRequests counts every request that costs Graph something: delta, drive and
// subscription requests.
func (e *pushEnv) graphRequests() int {
	return e.graph.Count(graphtest.ClassGraph, 0) + e.graph.Count(graphtest.ClassSubscription, 0)
}

// TestPush_DebouncedPolls: a burst of changes (each announced three times) makes one poll;
// an idle connected drive costs no Graph request; a dropped link reconnects and polls once.
func TestPush_DebouncedPolls(t *testing.T) {
	e := startPushEnv(t, config.FlowDevice, "", graphtest.Options{PushDuplicates: 3})
	waitFor(t, 5*time.Second, "push connected and the drive baselined", func() bool {
		st := e.status(t)
		return st.Push == "connected" && st.LastSuccess != nil && st.State == StateIdle
	})
	time.Sleep(500 * time.Millisecond) // the connect's debounced poll
	deltas := e.graph.Count(graphtest.ClassDelta, 0)

	root := e.graph.Root()
	for i := 0; i < 5; i++ {
		e.graph.CreateFile(root, fmt.Sprintf("burst-%d.txt", i), []byte("x"))
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, 5*time.Second, "the burst delivered", func() bool { return len(e.recv.ids()) >= 1 })
	time.Sleep(600 * time.Millisecond)
	if n := e.graph.Count(graphtest.ClassDelta, 0) - deltas; n != 1 {
		t.Fatalf("a burst of 5 changes within 100ms made %d delta requests, want 1", n)
	}
	st := e.status(t)
	if st.PushNotifications != 15 || st.LastNotification == nil || st.QueuedEvents != 0 {
		t.Fatalf("status after the burst: push %s, notifications %d, last %v, queued %d; want 15 notifications, nothing queued",
			st.Push, st.PushNotifications, st.LastNotification, st.QueuedEvents)
	}

	// Idle: pings flow, nothing else.
	before := e.graphRequests()
	time.Sleep(1500 * time.Millisecond)
	if n := e.graphRequests() - before; n != 0 {
		t.Fatalf("an idle connected drive made %d Graph requests in 1.5s, want 0", n)
	}

	// A change made while the link is down arrives through the reconnect's poll.
	deltas = e.graph.Count(graphtest.ClassDelta, 0)
	e.graph.RefusePushHandshakes(1, 503)
	e.graph.DropPushLinks()
	waitFor(t, 5*time.Second, "the agent to see the link drop", func() bool { return e.status(t).Push != "connected" })
	e.graph.CreateFile(root, "while-down.txt", []byte("x"))
	waitFor(t, 10*time.Second, "reconnected", func() bool {
		return e.status(t).Push == "connected" && e.graph.PushLinks() == 1
	})
	waitFor(t, 5*time.Second, "the change made while disconnected", func() bool { return e.status(t).QueuedEvents == 0 && len(e.recv.ids()) >= 2 })
	if n := e.graph.Count(graphtest.ClassDelta, 0) - deltas; n < 1 || n > 2 {
		t.Fatalf("%d delta requests around the reconnect, want 1 or 2", n)
	}
	m := metricsText(t, e.agent)
	for _, c := range []struct {
		name string
		min  float64
		max  float64
	}{
		{"onedrive_agent_push_connected", 1, 1},
		{"onedrive_agent_push_reconnects_total", 1, 1},
		{"onedrive_agent_push_notifications_total", 15, 15},
		{"onedrive_agent_event_latency_seconds_count", 6, 6},
	} {
		if v := metricValue(m, c.name+`{instance="docs"}`); v < c.min || v > c.max {
			t.Errorf("%s = %v, want %v..%v", c.name, v, c.min, c.max)
		}
	}
}

// metricValue returns the value of the sample named series in a Prometheus text page, -1
// when absent.
func metricValue(page, series string) float64 {
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// TestPush_ActiveHours: outside active_hours notifications start no poll.
func TestPush_ActiveHours(t *testing.T) {
	day := time.Now().UTC().Add(48 * time.Hour).Weekday().String()[:3]
	e := startPushEnv(t, config.FlowDevice, fmt.Sprintf("active_hours = [%q]", day+" 00:00-23:59"), graphtest.Options{})
	// A drive never polled is baselined at once, active hours or not.
	waitFor(t, 5*time.Second, "push connected and the baseline", func() bool {
		st := e.status(t)
		return st.Push == "connected" && st.LastSuccess != nil
	})
	time.Sleep(300 * time.Millisecond)
	before := e.graph.Count(graphtest.ClassDelta, 0)
	e.graph.CreateFile(e.graph.Root(), "late.txt", []byte("x"))
	waitFor(t, 5*time.Second, "the notification", func() bool { return e.status(t).PushNotifications > 0 })
	time.Sleep(500 * time.Millisecond)
	if n := e.graph.Count(graphtest.ClassDelta, 0) - before; n != 0 {
		t.Fatalf("%d delta requests outside active hours, want 0", n)
	}
}

// TestPush_StatusWithoutPush: app-only sign-ins show unsupported without asking Graph, and
// push = "off" shows off.
func TestPush_StatusWithoutPush(t *testing.T) {
	tests := []struct{ name, flow, poll, want string }{
		{"app-only", config.FlowClientCredentials, "", "unsupported"},
		{"off", config.FlowDevice, `push = "off"`, "off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startPushEnv(t, tt.flow, tt.poll, graphtest.Options{})
			waitFor(t, 5*time.Second, "the first poll", func() bool { return e.status(t).LastSuccess != nil })
			time.Sleep(300 * time.Millisecond)
			st := e.status(t)
			if st.Push != tt.want {
				t.Fatalf("push = %q (%s), want %q", st.Push, st.PushError, tt.want)
			}
			if n := e.graph.Count(graphtest.ClassSubscription, 0) + e.graph.Count(graphtest.ClassPush, 0); n != 0 {
				t.Fatalf("%d subscription or link requests, want none", n)
			}
		})
	}
}

func metricsText(t *testing.T, a *Agent) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestStatusTable_Push(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	last := now.Add(-5 * time.Second)
	s := Status{Version: "v", Running: true, Instances: []InstanceStatus{
		{Name: "docs", State: StateIdle, Push: "connected", PushNotifications: 3, LastNotification: &last},
		{Name: "apps", State: StateIdle, Push: "unsupported", PushError: appOnlyReason},
		{Name: "quiet", State: StateIdle, Push: "off"},
	}}
	var b strings.Builder
	if err := s.WriteTable(&b, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"docs: push connected, 3 notifications, last 5s ago", "apps: push unsupported: app-only sign-in"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "quiet: push") {
		t.Errorf("table shows push for an instance with push off:\n%s", out)
	}
}
