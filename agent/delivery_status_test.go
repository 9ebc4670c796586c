package agent

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// TestAgent_DeliveryStatusAndHealth: while the receiver fails, status shows
// the delivery retrying with its attempts, next attempt, failing-since and
// full error, and /healthz?maxDeliveryFailing answers 503; after the
// receiver recovers both are back to normal.
func TestAgent_DeliveryStatusAndHealth(t *testing.T) {
	e := newTestEnv(t)
	e.recv.setStatus(http.StatusServiceUnavailable)
	var mu sync.Mutex
	var seen []deliver.Attempt
	_, c, ctx, stop := e.runWithAdmin(t, Options{
		ObserveDelivery: func(at deliver.Attempt) { mu.Lock(); seen = append(seen, at); mu.Unlock() }})
	defer stop()
	e.graph.CreateFile(e.graph.Root(), "x.txt", []byte("x"))
	if _, err := c.Poll(ctx, "finance"); err != nil {
		t.Fatal(err)
	}
	var fin InstanceStatus
	waitFor(t, 5*time.Second, "two failed attempts", func() bool {
		s, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fin = s.Instances[0]
		return fin.Delivery != nil && fin.Delivery.Attempts >= 2
	})
	d := fin.Delivery
	if fin.State != StateRetrying || d.State != StateRetrying || fin.Sink != "webhook" || d.FailingSince == nil ||
		d.NextAttempt == nil || !strings.HasPrefix(d.LastError, "HTTP 503 Service Unavailable") {
		t.Errorf("while the receiver fails: state %s, sink %s, delivery %+v", fin.State, fin.Sink, d)
	}
	var table bytes.Buffer
	s, _ := c.Status(ctx)
	if err := s.WriteTable(&table, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "finance: delivery retrying, failing since") || !strings.Contains(table.String(), ": "+d.LastError) {
		t.Errorf("status table does not show the delivery:\n%s", table.String())
	}

	health := func(q string) (int, string) {
		code, _, body := doReq(t, "GET", c.BaseURL+"/healthz"+q, "")
		return code, body
	}
	if code, body := health(""); code != 200 {
		t.Errorf("/healthz = %d %s, want 200", code, body)
	}
	if code, body := health("?maxDeliveryFailing=1h"); code != 200 {
		t.Errorf("/healthz?maxDeliveryFailing=1h = %d %s, want 200", code, body)
	}
	time.Sleep(20 * time.Millisecond)
	if code, body := health("?maxDeliveryFailing=10ms"); code != 503 || !strings.Contains(body, "finance: not delivering for") {
		t.Errorf("/healthz?maxDeliveryFailing=10ms = %d %q, want 503 naming finance", code, body)
	}
	if code, _ := health("?maxDeliveryFailing=soon"); code != 400 {
		t.Errorf("bad duration: %d, want 400", code)
	}

	e.recv.setStatus(http.StatusOK)
	waitFor(t, 5*time.Second, "the delivery", func() bool { return len(e.recv.ids()) == 1 })
	waitFor(t, 5*time.Second, "idle", func() bool {
		s, err := c.Status(ctx)
		return err == nil && s.Instances[0].State == StateIdle && s.Instances[0].Delivery.State == StateIdle
	})
	s, _ = c.Status(ctx)
	if d := s.Instances[0].Delivery; d.FailingSince != nil || d.LastError != "" || d.LastDelivered == nil {
		t.Errorf("after recovery: %+v", d)
	}
	if code, body := health("?maxDeliveryFailing=10ms"); code != 200 {
		t.Errorf("after recovery: /healthz = %d %s", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(seen); n < 3 || seen[0].Outcome != deliver.Retry || seen[0].Code != 503 || seen[0].Instance != "finance" ||
		seen[0].Sink != "webhook" || !strings.HasPrefix(seen[0].Err, "HTTP 503") || seen[n-1].Outcome != deliver.Delivered ||
		seen[n-1].Code != 200 || seen[n-1].Message != seen[0].Message || seen[n-1].Events != 1 {
		t.Errorf("observed attempts %+v", seen)
	}
}

func TestOneLine_CutsAtWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 20, "short"},
		{"HTTP 503 Service Unavailable: try later", 20, "HTTP 503 Service…"},
		{"averyveryverylongwordwithoutspaces", 10, "averyvery…"},
		{"été été été", 6, "été…"},
	} {
		if got := oneLine(tc.in, tc.max); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestStatus_NotRunningReadsTheQueueHead: without a running agent, status
// reads the delivery state from the message at the head of the queue.
func TestStatus_NotRunningReadsTheQueueHead(t *testing.T) {
	e := newTestEnv(t)
	in := e.agent.instances["finance"]
	if d := mustStatus(t, in).Delivery; d == nil || d.State != StateIdle {
		t.Fatalf("empty queue: %+v", d)
	}
	if err := e.db.Update("finance", func(tx *store.Tx) error {
		return tx.Enqueue(store.Message{ID: "m1", Events: 1, Body: []byte(`{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	if d := mustStatus(t, in).Delivery; d.State != StateDelivering || d.Attempts != 0 {
		t.Errorf("queued, never tried: %+v", d)
	}
	head, _ := e.db.Peek("finance", 1)
	next := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	if err := e.db.Retry("finance", head[0].Key, 4, next, "HTTP 502 Bad Gateway: upstream down"); err != nil {
		t.Fatal(err)
	}
	d := mustStatus(t, in).Delivery
	if d.State != StateRetrying || d.Attempts != 4 || d.NextAttempt == nil || !d.NextAttempt.Equal(next) ||
		d.LastError != "HTTP 502 Bad Gateway: upstream down" || d.FailingSince != nil {
		t.Errorf("after failed attempts: %+v", d)
	}
}

func mustStatus(t *testing.T, in *instance) InstanceStatus {
	t.Helper()
	s, err := in.status(false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
