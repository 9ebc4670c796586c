package connector

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// firstRequests returns, per delta path, the arrival times of its requests.
func arrivals(f *fakeMS) map[string][]time.Time {
	m := map[string][]time.Time{}
	for _, r := range f.graphRequests() {
		m[r.Path] = append(m[r.Path], r.At)
	}
	return m
}

func TestClient_PageThrottleSharedPerAccount(t *testing.T) {
	t.Parallel()
	f := newFakeMS(t)
	seed := f.seed()
	throttled := make(chan time.Time, 1)
	var once sync.Once
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/drives/dA/") {
			first := false
			once.Do(func() { first = true })
			if first {
				w.Header().Set("Retry-After", "2")
				writeJSON(w, 429, map[string]any{"error": map[string]any{"code": "activityLimitReached", "message": "The request has been throttled",
					"innerError": map[string]any{"code": "throttledRequest"}}})
				throttled <- time.Now()
				return
			}
		}
		servePage(deltaPage("x"))(w, r)
	}
	shared := NewThrottle(ThrottleOptions{})
	var infos []RequestInfo
	var imu sync.Mutex
	mk := func(clientID string) *Client {
		return newTestClient(t, f, &memStore{tok: &seed}, func(o *ClientOptions) {
			o.Auth.ClientID = clientID
			o.Throttle = shared
			o.Observe = func(ri RequestInfo) { imu.Lock(); infos = append(infos, ri); imu.Unlock() }
		})
	}
	a, b, other := mk("cid"), mk("CID"), mk("another-app")

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(1)
	go func() { defer wg.Done(); _, err := a.Page(context.Background(), a.DeltaURL("dA")); errs <- err }()
	at429 := <-throttled
	time.Sleep(20 * time.Millisecond) // let the client record the pause
	wg.Add(2)
	go func() { defer wg.Done(); _, err := b.Page(context.Background(), b.DeltaURL("dB")); errs <- err }()
	go func() { defer wg.Done(); _, err := other.Page(context.Background(), other.DeltaURL("dC")); errs <- err }()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := arrivals(f)
	pathA, pathB, pathC := "/v1.0/drives/dA/root/delta", "/v1.0/drives/dB/root/delta", "/v1.0/drives/dC/root/delta"
	if len(got[pathA]) != 2 || len(got[pathB]) != 1 || len(got[pathC]) != 1 {
		t.Fatalf("arrivals = %v", got)
	}
	window := at429.Add(2 * time.Second)
	if got[pathA][1].Before(window) {
		t.Errorf("retry of A left %v before the Retry-After window ended", window.Sub(got[pathA][1]))
	}
	if got[pathB][0].Before(window) {
		t.Errorf("B (same account) left %v inside the window", window.Sub(got[pathB][0]))
	}
	if !got[pathC][0].Before(window) {
		t.Errorf("another account waited for the pause: left %v after the 429", got[pathC][0].Sub(at429))
	}
	throttledSeen := 0
	for _, ri := range infos {
		if ri.Throttled {
			throttledSeen++
			if ri.Status != 429 {
				t.Errorf("throttled info = %+v", ri)
			}
		}
	}
	if throttledSeen != 1 {
		t.Errorf("observer saw %d throttled requests, want 1", throttledSeen)
	}
}

func TestClient_PageThrottleBackoffWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFakeMS(t)
	seed := f.seed()
	var mu sync.Mutex
	n := 0
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		switch {
		case k <= 2:
			writeJSON(w, 429, map[string]any{"error": map[string]any{"code": "activityLimitReached"}})
		case k <= 4:
			w.WriteHeader(503) // empty body, as Graph sometimes sends
		default:
			servePage(deltaPage("x"))(w, r)
		}
	}
	const initial, maxPause = 80 * time.Millisecond, 250 * time.Millisecond
	c := newTestClient(t, f, &memStore{tok: &seed}, func(o *ClientOptions) {
		o.Throttle = NewThrottle(ThrottleOptions{Initial: initial, Max: maxPause})
	})
	if _, err := c.Page(context.Background(), c.DeltaURL("d")); err != nil {
		t.Fatal(err)
	}
	at := arrivals(f)["/v1.0/drives/d/root/delta"]
	if len(at) != 5 {
		t.Fatalf("requests = %d", len(at))
	}
	// Pauses: ~80ms, ~160ms, then capped at 250ms, each ±25% but within [initial/2, max].
	wantMin := []time.Duration{initial * 3 / 4, 2 * initial * 3 / 4, maxPause * 3 / 4, maxPause * 3 / 4}
	for i := 1; i < len(at); i++ {
		gap := at[i].Sub(at[i-1])
		if gap < wantMin[i-1] {
			t.Errorf("gap %d = %v, want at least %v", i, gap, wantMin[i-1])
		}
		if gap > maxPause+2*time.Second { // generous: the exact cap is checked in TestGate_Throttled
			t.Errorf("gap %d = %v, more than the %v cap", i, gap, maxPause)
		}
	}
}

func TestClient_PageThrottleMaxWait(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeJSON(w, 429, map[string]any{"error": map[string]any{"code": "activityLimitReached", "message": "throttled"}})
	}
	th := NewThrottle(ThrottleOptions{})
	c := newTestClient(t, f, &memStore{tok: &seed}, func(o *ClientOptions) {
		o.Throttle = th
		o.ThrottleMaxWait = time.Minute
	})
	start := time.Now()
	_, err := c.Page(context.Background(), c.DeltaURL("d"))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 429 || he.RetryAfter != 120*time.Second {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %v although the pause exceeds the budget", time.Since(start))
	}
	if until := th.Gate(c.auth.AccountKey()).Until(); time.Until(until) < 100*time.Second {
		t.Errorf("gate open at %v, the account must stay paused", until)
	}
	// The next call waits on the gate: a short context ends it without any request.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	before := len(f.graphRequests())
	if _, err := c.Page(ctx, c.DeltaURL("d")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if len(f.graphRequests()) != before {
		t.Error("a request left inside the pause")
	}
}

func TestGate_Throttled(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewThrottle(ThrottleOptions{Initial: 4 * time.Second, Max: 5 * time.Minute, Now: func() time.Time { return now }}).Gate("k")
	// Without Retry-After: 4s, 8s, 16s, ... each within ±25%, never above 5 minutes.
	want := 4 * time.Second
	for i := 0; i < 12; i++ {
		d := g.Throttled(0)
		lo, hi := want*3/4, min(want*5/4, 5*time.Minute)
		if d < lo || d > hi {
			t.Errorf("strike %d: pause %v, want within [%v, %v]", i, d, lo, hi)
		}
		if until := g.Until(); until.Before(now.Add(d)) {
			t.Errorf("strike %d: gate open at %v, before now+%v", i, until, d)
		}
		want = min(want*2, 5*time.Minute)
	}
	// Retry-After wins over the backoff; a success resets the backoff.
	if d := g.Throttled(7 * time.Second); d != 7*time.Second {
		t.Errorf("Retry-After pause = %v", d)
	}
	g.Succeeded()
	if d := g.Throttled(0); d < 3*time.Second || d > 5*time.Second {
		t.Errorf("pause after a success = %v, want about 4s", d)
	}
}

func TestGate_Pause(t *testing.T) {
	th := NewThrottle(ThrottleOptions{})
	g := th.Gate("k")
	if th.Gate("k") != g || th.Gate("other") == g {
		t.Fatal("gates not keyed by account")
	}
	long := g.Pause(time.Hour)
	if got := g.Pause(time.Second); !got.Equal(long) {
		t.Errorf("a shorter pause moved the end from %v to %v", long, got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Wait(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v", err)
	}
}

func TestGate_WaitWakesOnExtension(t *testing.T) {
	g := NewThrottle(ThrottleOptions{}).Gate("k")
	g.Pause(50 * time.Millisecond)
	start := time.Now()
	go func() {
		time.Sleep(10 * time.Millisecond)
		g.Pause(200 * time.Millisecond) // extended while a request waits
	}()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("Wait returned after %v, before the extended pause ended", el)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 11, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"15", 15 * time.Second},
		{" 41 ", 41 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"abc", 0},
		{"99999999999", maxRetryAfter},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0},
		{now.Add(10 * 24 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got := parseRetryAfter(h, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestClient_ThrottledUntil(t *testing.T) {
	th := NewThrottle(ThrottleOptions{})
	a, err := NewClient(ClientOptions{Auth: AuthConfig{ClientID: "c"}, Store: &memStore{}, Throttle: th})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewClient(ClientOptions{Auth: AuthConfig{ClientID: "c"}, Store: &memStore{}, Throttle: th})
	if !a.ThrottledUntil().IsZero() {
		t.Fatal("a new account is paused")
	}
	end := th.Gate(a.auth.AccountKey()).Pause(time.Minute)
	if !b.ThrottledUntil().Equal(end) {
		t.Errorf("ThrottledUntil = %v, want %v", b.ThrottledUntil(), end)
	}
}
