package callback

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDispatcher_RestartKeepsAttempts: a new dispatcher continues the
// persisted backoff instead of starting over.
func TestDispatcher_RestartKeepsAttempts(t *testing.T) {
	rc := newReceiver(t, func(received, int) (int, map[string]string) { return 500, nil })
	q := &fakeQueue{}
	q.add(testMessages(t, &seqCounter{}, 1, 1)...)
	cfg := func(c *Config) { c.RetryInitial, c.RetryMax = time.Second, time.Hour }

	d1 := newTestDispatcher(t, q, rc.URL, cfg)
	ft := &fastTimer{}
	d1.timer = ft.timer
	stop := running(t, d1)
	eventually(t, "five attempts", func() bool { m, _ := q.Peek(1); return m[0].Attempts >= 5 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	before, _ := q.Peek(1)

	d2 := newTestDispatcher(t, q, rc.URL, cfg)
	ft2 := &fastTimer{}
	d2.timer = ft2.timer
	running(t, d2)
	eventually(t, "one more attempt", func() bool { m, _ := q.Peek(1); return m[0].Attempts > before[0].Attempts })
	after, _ := q.Peek(1)
	waits := ft2.recorded()
	if len(waits) == 0 || waits[0] <= 0 || waits[0] > time.Until(before[0].NextAttempt)+time.Second {
		t.Errorf("restarted dispatcher waited %v first, want the persisted remaining %v", waits, time.Until(before[0].NextAttempt))
	}
	// The delay after attempt n+1 is computed from n+1, not from 1.
	n := after[0].Attempts
	base := min(time.Second<<min(n-1, 30), time.Hour)
	if got := after[0].NextAttempt.Sub(time.Now()); got < base/2-time.Second {
		t.Errorf("after attempt %d next in %v, want about %v", n, got, base)
	}
}

// TestDispatcher_ShutdownFinishesInFlight: cancelling Run lets the request
// finish, acks it and returns nil.
func TestDispatcher_ShutdownFinishesInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	rc := newReceiver(t, func(received, int) (int, map[string]string) {
		started <- struct{}{}
		<-release
		return 204, nil
	})
	q := &fakeQueue{}
	q.add(testMessages(t, &seqCounter{}, 3, 1)...)
	d := newTestDispatcher(t, q, rc.URL, func(c *Config) { c.Grace = 5 * time.Second })
	stop := running(t, d)
	<-started
	go func() { time.Sleep(100 * time.Millisecond); close(release) }()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if q.Len() != 2 {
		t.Errorf("queue has %d, want 2: the in-flight delivery must be acked", q.Len())
	}
}

// TestDispatcher_ShutdownGrace: a request that does not finish within the
// grace period is abandoned without recording an attempt.
func TestDispatcher_ShutdownGrace(t *testing.T) {
	block := make(chan struct{})
	started := make(chan struct{}, 1)
	rc := newReceiver(t, func(received, int) (int, map[string]string) {
		started <- struct{}{}
		<-block
		return 204, nil
	})
	t.Cleanup(func() { close(block) }) // before the server's Close, which waits for handlers
	q := &fakeQueue{}
	q.add(testMessages(t, &seqCounter{}, 1, 1)...)
	d := newTestDispatcher(t, q, rc.URL, func(c *Config) { c.Grace = 50 * time.Millisecond })
	stop := running(t, d)
	<-started
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %v with a 50ms grace", took)
	}
	if m, _ := q.Peek(1); len(m) != 1 || m[0].Attempts != 0 {
		t.Errorf("queue after abandoned request: %+v", m)
	}
}

func TestDispatcher_AcksBatched(t *testing.T) {
	rc := newReceiver(t, nil)
	q := &fakeQueue{}
	q.add(testMessages(t, &seqCounter{}, 300, 1)...)
	running(t, newTestDispatcher(t, q, rc.URL, nil))
	eventually(t, "queue drained", func() bool { return q.Len() == 0 })
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ackCalls >= 100 {
		t.Errorf("%d Ack commits for 300 messages, want batching", q.ackCalls)
	}
}

func TestDispatcher_ErrorsHideURLSecrets(t *testing.T) {
	rc := newReceiver(t, nil)
	url := rc.URL + "/hook?token=S3CR3T"
	rc.Close()
	q := &fakeQueue{}
	q.add(testMessages(t, &seqCounter{}, 1, 1)...)
	d := newTestDispatcher(t, q, url, func(c *Config) { c.RetryInitial, c.RetryMax = time.Hour, time.Hour })
	running(t, d)
	eventually(t, "a failed attempt", func() bool { m, _ := q.Peek(1); return m[0].Attempts == 1 })
	m, _ := q.Peek(1)
	if strings.Contains(m[0].LastError, "S3CR3T") || !strings.Contains(m[0].LastError, "/hook") {
		t.Errorf("last error %q", m[0].LastError)
	}
}

func TestDispatcher_StoreFailureEndsRun(t *testing.T) {
	rc := newReceiver(t, nil)
	q := &fakeQueue{failAck: fmt.Errorf("disk on fire")}
	q.add(testMessages(t, &seqCounter{}, 2, 1)...)
	d := newTestDispatcher(t, q, rc.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("Run = %v, want the ack failure", err)
	}
}

func TestNew_Errors(t *testing.T) {
	for _, cfg := range []Config{
		{URL: ""}, {URL: "ftp://x/"}, {URL: "http://"},
		{URL: "http://x/", WebhookSecret: "whsec_!!"},
	} {
		if _, err := New(cfg, &fakeQueue{}, nil, Observer{}, nil); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
