package callback

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// received is one request as a test receiver saw it.
type received struct {
	header http.Header
	body   []byte
	id     string // message.eventId
	events []string
}

// receiver is an httptest server that records every request and answers
// with whatever respond returns (204 when respond is nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(r received, n int) (status int, header map[string]string)
}

func newReceiver(t *testing.T, respond func(r received, n int) (int, map[string]string)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{header: r.Header.Clone(), body: body}
	var b struct {
		Message struct {
			EventID string `json:"eventId"`
			Events  []struct {
				EventID string `json:"eventId"`
			} `json:"events"`
		} `json:"message"`
	}
	if json.Unmarshal(body, &b) == nil {
		rec.id = b.Message.EventID
		for _, e := range b.Message.Events {
			rec.events = append(rec.events, e.EventID)
		}
	}
	rc.mu.Lock()
	rc.got = append(rc.got, rec)
	n := len(rc.got)
	respond := rc.respond
	rc.mu.Unlock()
	status, hdr := http.StatusNoContent, map[string]string(nil)
	if respond != nil {
		status, hdr = respond(rec, n)
	}
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status))
}

func (rc *receiver) setRespond(f func(r received, n int) (int, map[string]string)) {
	rc.mu.Lock()
	rc.respond = f
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// testMessages builds n messages of per events each with Build.
func testMessages(t testing.TB, seq *seqCounter, n, per int) []Message {
	t.Helper()
	evs := make([]Event, n*per)
	for i := range evs {
		evs[i] = Event{Type: TypeCreated, ItemID: "item", ParentID: "root", Path: "/f", Date: testDate,
			Raw: json.RawMessage(`{"id":"item"}`)}
	}
	msgs, err := Build(seq, Meta{DBID: "testdb", InstanceID: 1, Name: "t", MaxEvents: per}, evs, testPoll)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// fastTimer makes every wait fire at once and records the waits asked for.
type fastTimer struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fastTimer) timer(d time.Duration) (<-chan time.Time, func() bool) {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c, func() bool { return false }
}

func (f *fastTimer) recorded() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// newTestDispatcher returns a dispatcher for q posting to url with small
// retry delays; change returns a modified Config.
func newTestDispatcher(t testing.TB, q Queue, url string, change func(*Config)) *Dispatcher {
	t.Helper()
	cfg := Config{Instance: "test", URL: url, Version: "1.2.3", Timeout: 5 * time.Second,
		RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, Grace: time.Second}
	if change != nil {
		change(&cfg)
	}
	d, err := New(cfg, q, nil, Observer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// running runs d until the test ends (or stop is called) and returns stop,
// which cancels it and returns Run's error.
func running(t testing.TB, d *Dispatcher) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Error("dispatcher did not stop within 10s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually polls cond for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
