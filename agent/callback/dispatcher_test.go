package callback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

func TestDispatcher_HeadersAndBody(t *testing.T) {
	rc := newReceiver(t, nil)
	q := &fakeQueue{}
	msgs, err := Build(&seqCounter{n: 41}, Meta{DBID: "0123456789abcdef", InstanceID: 7, Name: "finance",
		Tags: []string{"finance", "eu"}, MaxEvents: 2}, testEvents(), testPoll)
	if err != nil {
		t.Fatal(err)
	}
	q.add(msgs...)
	const secretB64 = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	d := newTestDispatcher(t, q, rc.URL+"/hook?x=1", func(c *Config) {
		c.SignatureKey = "oc-key"
		c.WebhookSecret = "whsec_" + secretB64
		c.Headers = map[string]string{"X-Tenant": "acme", "Authorization": "Bearer t0k"}
	})
	fixed := time.Unix(1614265330, 0)
	d.now = func() time.Time { return fixed }
	running(t, d)
	eventually(t, "two deliveries", func() bool { return len(rc.requests()) == 2 && q.Len() == 0 })

	secret, _ := base64.StdEncoding.DecodeString(secretB64)
	for i, r := range rc.requests() {
		m := msgs[i]
		if string(r.body) != string(m.Body) {
			t.Errorf("request %d body:\n%s\nwant\n%s", i, r.body, m.Body)
		}
		mac := hmac.New(sha256.New, []byte("oc-key"))
		mac.Write(m.Body)
		oc := "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		mac = hmac.New(sha256.New, secret)
		mac.Write([]byte(m.ID + ".1614265330." + string(m.Body)))
		sw := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for k, want := range map[string]string{
			"Content-Type":               "application/json",
			"User-Agent":                 "onedrive-agent/1.2.3",
			"Elements-Webhook-Id":        m.ID,
			"Elements-Webhook-Signature": oc,
			"Webhook-Id":                 m.ID,
			"Webhook-Timestamp":          "1614265330",
			"Webhook-Signature":          sw,
			"X-Tenant":                   "acme",
			"Authorization":              "Bearer t0k",
			"Content-Length":             strconv.Itoa(len(m.Body)),
		} {
			if got := r.header.Get(k); got != want && !(k == "Content-Length" && got == "") {
				t.Errorf("request %d header %s = %q, want %q", i, k, got, want)
			}
		}
	}
}

func TestDispatcher_NoSignatureHeadersWithoutKeys(t *testing.T) {
	rc := newReceiver(t, nil)
	q := &fakeQueue{}
	q.add(testMessages(t, &seqCounter{}, 1, 1)...)
	running(t, newTestDispatcher(t, q, rc.URL, nil))
	eventually(t, "delivery", func() bool { return len(rc.requests()) == 1 })
	h := rc.requests()[0].header
	for _, k := range []string{"Elements-Webhook-Signature", "Webhook-Id", "Webhook-Signature", "Webhook-Timestamp"} {
		if v := h.Get(k); v != "" {
			t.Errorf("%s = %q without keys configured", k, v)
		}
	}
	if h.Get("Elements-Webhook-Id") == "" {
		t.Error("Elements-Webhook-Id missing")
	}
}

// TestDispatcher_ResponseTable sends one message per row and checks what
// happened to it in the queue.
func TestDispatcher_ResponseTable(t *testing.T) {
	type want int
	const (
		acked want = iota
		dead
		retried
		split
	)
	rows := []struct {
		name   string
		status int // -1: hang past the timeout; -2: connection refused
		events int
		want   want
	}{
		{"200", 200, 1, acked}, {"201", 201, 3, acked}, {"204", 204, 1, acked},
		{"400", 400, 3, dead}, {"413 one event", 413, 1, dead}, {"415", 415, 2, dead}, {"422", 422, 1, dead},
		{"413 several", 413, 4, split},
		{"301", 301, 1, retried}, {"302", 302, 1, retried}, {"307", 307, 2, retried},
		{"401", 401, 1, retried}, {"403", 403, 1, retried}, {"404", 404, 1, retried}, {"408", 408, 1, retried},
		{"410", 410, 1, retried}, {"429", 429, 1, retried}, {"500", 500, 1, retried}, {"502", 502, 1, retried},
		{"503", 503, 1, retried}, {"504", 504, 1, retried},
		{"timeout", -1, 1, retried}, {"connection refused", -2, 1, retried},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var redirected atomic.Bool
			rc := newReceiver(t, func(r received, n int) (int, map[string]string) {
				if row.status == -1 {
					time.Sleep(300 * time.Millisecond)
					return 204, nil
				}
				if row.want == split && n > 1 {
					return 204, nil
				}
				return row.status, map[string]string{"Location": "/elsewhere"}
			})
			rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					redirected.Store(true)
				}
				rc.serve(w, r)
			})
			url := rc.URL + "/hook"
			if row.status == -2 {
				rc.Close()
			}
			q := &fakeQueue{}
			m := testMessages(t, &seqCounter{}, 1, row.events)[0]
			q.add(m)
			var obs struct{ delivered, failed, dead, split atomic.Int32 }
			var first atomic.Pointer[Attempt]
			d, err := New(Config{Instance: "t", URL: url, Timeout: 100 * time.Millisecond, RetryInitial: time.Hour, RetryMax: time.Hour},
				q, nil, Observer{
					Delivered:    func(int, time.Duration) { obs.delivered.Add(1) },
					Failed:       func(int, error) { obs.failed.Add(1) },
					DeadLettered: func(int) { obs.dead.Add(1) },
					Split:        func(int) { obs.split.Add(1) },
					Attempt:      func(a Attempt) { first.CompareAndSwap(nil, &a) },
				}, nil)
			if err != nil {
				t.Fatal(err)
			}
			stop := running(t, d)
			eventually(t, "an outcome", func() bool {
				switch row.want {
				case acked:
					return q.Len() == 0
				case dead:
					dead, _ := q.DeadLetters()
					return len(dead) == 1
				case retried:
					q.mu.Lock()
					defer q.mu.Unlock()
					return q.retries == 1
				default:
					return q.Len() == 0
				}
			})
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			msgs, _ := q.Peek(1)
			_, reasons := q.DeadLetters()
			switch row.want {
			case acked:
				if obs.delivered.Load() != 1 || q.StateErr != "" {
					t.Errorf("delivered=%d stateErr=%q", obs.delivered.Load(), q.StateErr)
				}
			case dead:
				if len(msgs) != 0 || !strings.Contains(reasons[0], strconv.Itoa(row.status)) || obs.dead.Load() != 1 {
					t.Errorf("queue %d, reasons %q, dead observed %d", len(msgs), reasons, obs.dead.Load())
				}
				if q.StateErr != reasons[0] {
					t.Errorf("state error %q, want %q", q.StateErr, reasons[0])
				}
			case retried:
				got := msgs[0]
				if got.Attempts != 1 || time.Until(got.NextAttempt) < 50*time.Minute || got.LastError == "" {
					t.Errorf("after one failure: attempts %d, next in %v, last error %q", got.Attempts, time.Until(got.NextAttempt), got.LastError)
				}
				if row.status > 0 && !strings.Contains(got.LastError, strconv.Itoa(row.status)) {
					t.Errorf("last error %q does not name status %d", got.LastError, row.status)
				}
				if len(rc.requests()) > 1 && row.status != -1 {
					t.Errorf("%d requests, want 1 (no follow-up)", len(rc.requests()))
				}
				if obs.failed.Load() != 1 || q.StateErr != got.LastError {
					t.Errorf("failed observed %d, state error %q", obs.failed.Load(), q.StateErr)
				}
			case split:
				r := rc.requests()
				if len(r) != 3 || r[1].id != m.ID+".1" || r[2].id != m.ID+".2" ||
					!slices.Equal(append(r[1].events, r[2].events...), r[0].events) || obs.split.Load() != 1 {
					t.Errorf("requests after a 413: %+v", r)
				}
			}
			if redirected.Load() {
				t.Error("the redirect was followed")
			}
			wantOutcome := map[want]Outcome{acked: Delivered, dead: Reject, retried: Retry, split: Split}[row.want]
			wantStatus := max(row.status, 0)
			if a := first.Load(); a == nil || a.ID != m.ID || a.Events != row.events || a.Outcome != wantOutcome ||
				(a.Status != wantStatus && row.status != -1) || (a.Err == nil) != (row.want == acked) {
				t.Errorf("first attempt observed %+v, want id %s, %d events, %v, status %d", a, m.ID, row.events, wantOutcome, wantStatus)
			}
		})
	}
}

func TestDispatcher_Split413(t *testing.T) {
	for _, n := range []int{2, 3, 10} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			rc := newReceiver(t, func(r received, _ int) (int, map[string]string) {
				if len(r.events) > 1 {
					return 413, nil
				}
				return 204, nil
			})
			q := &fakeQueue{}
			seq := &seqCounter{}
			first := testMessages(t, seq, 1, n)[0]
			after := testMessages(t, seq, 1, 1)[0]
			q.add(first, after)
			running(t, newTestDispatcher(t, q, rc.URL, nil))
			eventually(t, "queue drained", func() bool { return q.Len() == 0 && len(rc.requests()) > 0 })
			var gotEvents, gotIDs []string
			for _, r := range rc.requests() {
				if len(r.events) == 1 {
					gotEvents = append(gotEvents, r.events...)
					gotIDs = append(gotIDs, r.id)
				}
			}
			var wantEvents []string
			for i := range n + 1 {
				wantEvents = append(wantEvents, fmt.Sprintf("testdb-1-%012d", i+2))
			}
			wantEvents = slices.Delete(wantEvents, n, n+1) // the second message's own id
			wantEvents = append(wantEvents, fmt.Sprintf("testdb-1-%012d", n+3))
			if !slices.Equal(gotEvents, wantEvents) {
				t.Errorf("events arrived %v\nwant %v", gotEvents, wantEvents)
			}
			for _, id := range gotIDs[:n] {
				if !strings.HasPrefix(id, first.ID+".") {
					t.Errorf("part id %s not derived from %s", id, first.ID)
				}
			}
			if gotIDs[n] != after.ID {
				t.Errorf("last message id %s, want %s", gotIDs[n], after.ID)
			}
			// Splitting again gives the same ids: stable across a crash.
			p1, _ := SplitMessage(first)
			p2, _ := SplitMessage(first)
			if p1[0].ID != p2[0].ID || string(p1[1].Body) != string(p2[1].Body) {
				t.Error("SplitMessage is not deterministic")
			}
		})
	}
}

func TestDispatcher_RetryAfter(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name, value string
		min, max    time.Duration
	}{
		{"seconds", "120", 120 * time.Second, 120 * time.Second},
		{"date", now.Add(10 * time.Minute).UTC().Format(http.TimeFormat), 9*time.Minute + 58*time.Second, 10 * time.Minute},
		{"past date", now.Add(-time.Hour).UTC().Format(http.TimeFormat), 10 * time.Millisecond, 20 * time.Millisecond},
		{"capped", "999999", MaxRetryAfter, MaxRetryAfter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, func(_ received, n int) (int, map[string]string) {
				if n == 1 {
					return 429, map[string]string{"Retry-After": tc.value}
				}
				return 204, nil
			})
			q := &fakeQueue{}
			q.add(testMessages(t, &seqCounter{}, 1, 1)...)
			d := newTestDispatcher(t, q, rc.URL, nil)
			ft := &fastTimer{}
			d.timer = ft.timer
			d.now = func() time.Time { return now }
			running(t, d)
			eventually(t, "delivery", func() bool { return q.Len() == 0 })
			w := ft.recorded()
			if len(w) != 1 || w[0] < tc.min || w[0] > tc.max {
				t.Errorf("waits %v, want one within [%v, %v]", w, tc.min, tc.max)
			}
		})
	}
}

// TestDispatcher_OrderUnderFailures: random failures never reorder.
func TestDispatcher_OrderUnderFailures(t *testing.T) {
	var calls atomic.Int64
	rc := newReceiver(t, func(received, int) (int, map[string]string) {
		if c := calls.Add(1); c%3 == 0 || c%7 == 0 {
			return []int{500, 503, 429, 408}[c%4], nil
		}
		return 204, nil
	})
	q := &fakeQueue{}
	msgs := testMessages(t, &seqCounter{}, 60, 2)
	q.add(msgs...)
	d := newTestDispatcher(t, q, rc.URL, func(c *Config) { c.BatchSize = 7 })
	d.timer = (&fastTimer{}).timer
	running(t, d)
	eventually(t, "queue drained", func() bool { return q.Len() == 0 })
	var got []string
	for _, r := range rc.requests() {
		if len(got) == 0 || got[len(got)-1] != r.id {
			got = append(got, r.id)
		}
	}
	want := make([]string, len(msgs))
	for i, m := range msgs {
		want[i] = m.ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivery order %v\nwant %v", got, want)
	}
}

// TestDispatcher_InstancesIndependent: a receiver that is down does not
// delay another instance.
func TestDispatcher_InstancesIndependent(t *testing.T) {
	down := newReceiver(t, func(received, int) (int, map[string]string) { return 503, nil })
	up := newReceiver(t, nil)
	qa, qb := &fakeQueue{}, &fakeQueue{}
	qa.add(testMessages(t, &seqCounter{}, 5, 1)...)
	qb.add(testMessages(t, &seqCounter{}, 50, 1)...)
	client, _ := connector.NewHTTPClient(connector.HTTPOptions{})
	mk := func(q Queue, url string) *Dispatcher {
		d, err := New(Config{Instance: url, URL: url, RetryInitial: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond}, q, client, Observer{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	running(t, mk(qa, down.URL))
	running(t, mk(qb, up.URL))
	eventually(t, "healthy instance drained", func() bool { return qb.Len() == 0 })
	if qa.Len() != 5 {
		t.Errorf("failing instance has %d queued, want 5", qa.Len())
	}
	eventually(t, "retries of the failing instance", func() bool { return len(down.requests()) >= 2 })
}

// TestDispatcher_ReplayOrder: three rejected messages, replayed while the
// next one waits for a retry, arrive first and in their order.
func TestDispatcher_ReplayOrder(t *testing.T) {
	msgs := testMessages(t, &seqCounter{}, 6, 1)
	rc := newReceiver(t, func(r received, _ int) (int, map[string]string) { return 400, nil })
	q := &fakeQueue{}
	q.add(msgs[:3]...)
	d := newTestDispatcher(t, q, rc.URL, func(c *Config) { c.RetryInitial, c.RetryMax = time.Hour, time.Hour })
	running(t, d)
	eventually(t, "three dead letters", func() bool { dead, _ := q.DeadLetters(); return len(dead) == 3 })

	rc.setRespond(func(received, int) (int, map[string]string) { return 503, nil })
	q.add(msgs[3:]...)
	d.Notify()
	eventually(t, "a retry of the fourth", func() bool { q.mu.Lock(); defer q.mu.Unlock(); return q.retries > 0 })
	mark := len(rc.requests())

	rc.setRespond(nil)
	q.Replay()
	d.Notify()
	eventually(t, "queue drained", func() bool { return q.Len() == 0 })
	var got []string
	for _, r := range rc.requests()[mark:] {
		got = append(got, r.id)
	}
	want := []string{msgs[0].ID, msgs[1].ID, msgs[2].ID, msgs[3].ID, msgs[4].ID, msgs[5].ID}
	if !slices.Equal(got, want) {
		t.Errorf("after replay %v\nwant %v", got, want)
	}
}
