package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

func TestSocketURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://eastus1-0.pushnp.svc.ms/notifications?token=abc&applicationId=app",
			"wss://eastus1-0.pushnp.svc.ms/socket.io/?EIO=4&transport=websocket&token=abc&applicationId=app"},
		{"http://127.0.0.1:8080/notifications?token=x", "ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket&token=x"},
		{"https://host/callback", "wss://host/socket.io/?EIO=4&transport=websocket"},
	}
	for _, tt := range tests {
		got, err := SocketURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("SocketURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := SocketURL("ftp://host/x"); err == nil {
		t.Error("SocketURL accepted an ftp URL")
	}
}

func TestRenewAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		life, want time.Duration
	}{
		{time.Hour, time.Hour - time.Minute},
		{2 * time.Minute, time.Minute},
		{100 * time.Second, 50 * time.Second},
		{2 * time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := renewAt(t0, t0.Add(tt.life)).Sub(t0); got != tt.want {
			t.Errorf("lifetime %v: renew after %v, want %v", tt.life, got, tt.want)
		}
	}
}

func TestPushBackoff(t *testing.T) {
	for _, r := range []float64{0, 0.5, 1} {
		p := &Push{o: PushOptions{MinBackoff: time.Second, MaxBackoff: time.Minute}, rand: func() float64 { return r }}
		b := &pushBackoff{p: p}
		want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
		for i, w := range want {
			d := b.next()
			lo, hi := time.Duration(float64(w*time.Second)*0.9), time.Duration(float64(w*time.Second)*1.1)
			if d < lo || d > hi {
				t.Fatalf("rand %v: delay %d = %v, want within [%v, %v]", r, i, d, lo, hi)
			}
		}
		b.reset()
		if d := b.next(); d > 1100*time.Millisecond {
			t.Fatalf("after reset: %v, want about 1s", d)
		}
	}
}

func TestSplitNamespace(t *testing.T) {
	tests := []struct{ in, ns, payload string }{
		{`["notification","x"]`, "/", `["notification","x"]`},
		{`/notifications,["notification","x"]`, "/notifications", `["notification","x"]`},
		{`/notifications,12["notification"]`, "/notifications", `["notification"]`},
		{`7["a"]`, "/", `["a"]`},
		{`/notifications`, "/notifications", ``},
	}
	for _, tt := range tests {
		ns, p := splitNamespace([]byte(tt.in))
		if ns != tt.ns || string(p) != tt.payload {
			t.Errorf("splitNamespace(%q) = %q, %q; want %q, %q", tt.in, ns, p, tt.ns, tt.payload)
		}
	}
	if n := eventName([]byte(`["notification","{\"value\":[]}"]`)); n != "notification" {
		t.Errorf("eventName = %q", n)
	}
	if n := eventName([]byte(`{"x":1}`)); n != "" {
		t.Errorf("eventName of an object = %q", n)
	}
}

// pushRecorder keeps what a Push reported.
type pushRecorder struct {
	mu sync.Mutex
	pushSnap
}

// pushSnap is a copy of what a pushRecorder holds.
type pushSnap struct {
	states        []string
	errs          []error
	connects      int
	reconnects    int
	notifications int
}

func (r *pushRecorder) observer() PushObserver {
	return PushObserver{
		State: func(s string, err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.states = append(r.states, s)
			if err != nil {
				r.errs = append(r.errs, err)
			}
		},
		Connected: func(reconnect bool) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.connects++
			if reconnect {
				r.reconnects++
			}
		},
		Notification: func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.notifications++
		},
	}
}

func (r *pushRecorder) get() pushSnap {
	r.mu.Lock()
	defer r.mu.Unlock()
	return pushSnap{states: append([]string(nil), r.states...), errs: append([]error(nil), r.errs...),
		connects: r.connects, reconnects: r.reconnects, notifications: r.notifications}
}

func (r *pushRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return ""
	}
	return r.states[len(r.states)-1]
}

// startPush runs a Push for the drive of s with a delegated token until the test ends.
func startPush(t *testing.T, s *graphtest.Server, app bool, mod func(*PushOptions)) *pushRecorder {
	t.Helper()
	flow, tok := FlowDevice, s.IssueToken()
	if app {
		flow, tok = FlowClientCredentials, s.IssueAppToken()
	}
	c := gtClient(t, s, gtAuth(s, flow), &memStore{tok: &Token{AccessToken: tok, Expiry: time.Now().Add(time.Hour)}}, nil)
	rec := &pushRecorder{}
	o := PushOptions{
		Subscribe:        func(ctx context.Context) (Subscription, error) { return c.Subscribe(ctx, s.DriveID()) },
		HTTPClient:       s.Client(),
		Observer:         rec.observer(),
		MinBackoff:       20 * time.Millisecond,
		MaxBackoff:       200 * time.Millisecond,
		UnsupportedRetry: 300 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	p, err := NewPush(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
	return rec
}

// runPushFor runs a Push with o for d and checks that Run returns nil.
func runPushFor(t *testing.T, o PushOptions, d time.Duration) {
	t.Helper()
	p, err := NewPush(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

func fastPushServer(mod func(*graphtest.Options)) *graphtest.Server {
	o := graphtest.Options{PushPingInterval: 100 * time.Millisecond, PushPingTimeout: 400 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	return graphtest.NewTLSServer(o)
}

// TestPush_PingsAndNotifications keeps a link alive across many pings and reports every
// change, duplicates included.
func TestPush_PingsAndNotifications(t *testing.T) {
	s := fastPushServer(func(o *graphtest.Options) { o.PushDuplicates = 3 })
	defer s.Close()
	rec := startPush(t, s, false, nil)
	waitFor(t, 5*time.Second, "connected", func() bool { return rec.last() == PushConnected })
	time.Sleep(700 * time.Millisecond) // several ping rounds: a missed pong would drop the link
	for i := 0; i < 4; i++ {
		s.CreateFile(s.Root(), "f"+string(rune('a'+i)), []byte("x"))
	}
	waitFor(t, 5*time.Second, "12 notifications", func() bool { return rec.get().notifications >= 12 })
	time.Sleep(100 * time.Millisecond)
	got := rec.get()
	if got.notifications != 12 || got.connects != 1 || got.reconnects != 0 {
		t.Fatalf("notifications %d, connects %d, reconnects %d; want 12, 1, 0", got.notifications, got.connects, got.reconnects)
	}
	if n := s.Count(graphtest.ClassSubscription, 0); n != 1 {
		t.Fatalf("%d subscription requests, want 1", n)
	}
	if s.PushLinks() != 1 {
		t.Fatalf("%d open links, want 1", s.PushLinks())
	}
}

// TestPush_Faults runs the link through each fault of the fake channel and checks that it
// comes back as the protocol says.
func TestPush_Faults(t *testing.T) {
	tests := []struct {
		name  string
		opts  func(*graphtest.Options)
		fault func(*graphtest.Server)
		// check runs after the fault; the link must be connected again afterwards.
		check func(t *testing.T, s *graphtest.Server, rec pushSnap)
	}{
		{"dropped connection", nil,
			func(s *graphtest.Server) { s.DropPushLinks() },
			func(t *testing.T, s *graphtest.Server, rec pushSnap) {
				if rec.reconnects < 1 {
					t.Errorf("reconnects = %d, want at least 1", rec.reconnects)
				}
				if n := s.Count(graphtest.ClassSubscription, 0); n != 1 {
					t.Errorf("%d subscription requests: a dropped link reuses its URL", n)
				}
			}},
		{"silent dead link", nil,
			func(s *graphtest.Server) { s.SilencePushLinks() },
			func(t *testing.T, s *graphtest.Server, rec pushSnap) {
				if !hasErr(rec.errs, errLinkDead) {
					t.Errorf("errors %v, want the watchdog's", rec.errs)
				}
			}},
		{"short expiry renews", func(o *graphtest.Options) { o.PushLifetime = 600 * time.Millisecond },
			func(s *graphtest.Server) { time.Sleep(1500 * time.Millisecond) },
			func(t *testing.T, s *graphtest.Server, rec pushSnap) {
				if n := s.Count(graphtest.ClassSubscription, 0); n < 3 {
					t.Errorf("%d subscription requests in 1.5s with a 600ms lifetime, want at least 3", n)
				}
				if len(rec.errs) != 0 {
					t.Errorf("renewal reported errors %v", rec.errs)
				}
			}},
		{"400 notSupported on the subscription request", nil,
			func(s *graphtest.Server) {
				s.InjectFault(graphtest.ClassSubscription, 3, graphtest.Fault{Status: 400, Code: "notSupported", Message: "Operation not supported"})
				s.ExpirePushURLs()
			},
			func(t *testing.T, s *graphtest.Server, rec pushSnap) {
				if n := s.Count(graphtest.ClassSubscription, 400); n != 3 {
					t.Errorf("%d refused subscription requests, want 3", n)
				}
				if !hasState(rec.states, PushError) {
					t.Errorf("states %v: want error shown while retrying", rec.states)
				}
			}},
		{"handshake refused with HTTP 403", nil,
			func(s *graphtest.Server) { s.RefusePushHandshakes(2, 403); s.DropPushLinks() },
			func(t *testing.T, s *graphtest.Server, rec pushSnap) {
				if n := s.Count(graphtest.ClassSubscription, 200); n < 3 {
					t.Errorf("%d subscription requests, want a new URL after each refused handshake (3)", n)
				}
				for _, err := range rec.errs {
					if strings.Contains(err.Error(), "token=") {
						t.Errorf("error shows the URL's token: %v", err)
					}
				}
			}},
		{"socket.io connect error 44", nil,
			func(s *graphtest.Server) { s.RefusePushHandshakes(1, 0); s.DropPushLinks() },
			func(t *testing.T, s *graphtest.Server, rec pushSnap) {
				if n := s.Count(graphtest.ClassSubscription, 200); n < 2 {
					t.Errorf("%d subscription requests, want a new URL after the 44", n)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastPushServer(tt.opts)
			defer s.Close()
			rec := startPush(t, s, false, nil)
			waitFor(t, 5*time.Second, "connected", func() bool { return rec.get().connects == 1 })
			tt.fault(s)
			waitFor(t, 5*time.Second, "connected again", func() bool { return rec.get().connects >= 2 && rec.last() == PushConnected })
			// A change made between two links is announced by neither (the agent polls after
			// each connect for that); change the drive until one is announced.
			before, n, last := rec.get().notifications, 0, time.Time{}
			waitFor(t, 5*time.Second, "a notification after the fault", func() bool {
				if time.Since(last) > 300*time.Millisecond {
					s.CreateFile(s.Root(), fmt.Sprintf("after-fault-%d.txt", n), []byte("x"))
					n, last = n+1, time.Now()
				}
				return rec.get().notifications > before
			})
			tt.check(t, s, rec.get())
		})
	}
}

// TestPush_Unsupported shows unsupported for a 403 and for app-only tokens, asks again only
// after UnsupportedRetry, and connects once the account allows push.
func TestPush_Unsupported(t *testing.T) {
	s := fastPushServer(func(o *graphtest.Options) { o.PushForbidden = true })
	defer s.Close()
	rec := startPush(t, s, false, nil)
	waitFor(t, 5*time.Second, "unsupported", func() bool { return rec.last() == PushUnsupported })
	time.Sleep(100 * time.Millisecond)
	if n := s.Count(graphtest.ClassSubscription, 0); n != 1 {
		t.Fatalf("%d subscription requests within 100ms of a 403, want 1 (asked again only after UnsupportedRetry)", n)
	}
	s.Configure(func(o *graphtest.Options) { o.PushForbidden = false })
	waitFor(t, 5*time.Second, "connected once allowed", func() bool { return rec.last() == PushConnected })

	app := fastPushServer(nil)
	defer app.Close()
	c := gtClient(t, app, gtAuth(app, FlowClientCredentials), &memStore{tok: &Token{AccessToken: app.IssueAppToken(), Expiry: time.Now().Add(time.Hour)}}, nil)
	if _, err := c.Subscribe(context.Background(), app.DriveID()); !errors.Is(err, ErrPushUnsupported) {
		t.Fatalf("app-only Subscribe: %v, want ErrPushUnsupported", err)
	}
}

// TestPush_BackoffBounded counts reconnect attempts while every handshake is refused: they
// follow the backoff, not a storm.
func TestPush_BackoffBounded(t *testing.T) {
	s := fastPushServer(nil)
	defer s.Close()
	s.RefusePushHandshakes(1000, 503)
	_ = startPush(t, s, false, func(o *PushOptions) { o.MinBackoff, o.MaxBackoff = 50*time.Millisecond, 400*time.Millisecond })
	time.Sleep(1500 * time.Millisecond)
	// 50+100+200+400+400… ms: at most 6 attempts in 1.5 s (with 10% jitter).
	if n := s.Count(graphtest.ClassPush, 0); n < 3 || n > 7 {
		t.Fatalf("%d handshakes in 1.5s, want 3 to 7 (backoff 50ms doubling to 400ms)", n)
	}
}

func TestHTTP1Client(t *testing.T) {
	hc, err := NewHTTPClient(HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := http1Client(hc)
	tr := c.Transport.(*http.Transport)
	if tr.Protocols == nil || tr.Protocols.HTTP2() || !tr.Protocols.HTTP1() || tr.ForceAttemptHTTP2 {
		t.Fatalf("WebSocket transport protocols %v (force h2 %v), want HTTP/1.1 only", tr.Protocols, tr.ForceAttemptHTTP2)
	}
	if c.Timeout != 0 {
		t.Fatalf("WebSocket client timeout %v, want none (the link is long-lived)", c.Timeout)
	}
	if !hc.Transport.(*http.Transport).ForceAttemptHTTP2 {
		t.Fatal("http1Client changed the Graph client's transport")
	}
}

func hasErr(errs []error, target error) bool {
	for _, e := range errs {
		if errors.Is(e, target) {
			return true
		}
	}
	return false
}

func hasState(states []string, want string) bool {
	for _, s := range states {
		if s == want {
			return true
		}
	}
	return false
}

// TestPush_NoRedirect: a handshake answered with a redirect is not followed (the URL's token
// would travel to another host) and counts as refused, so a new URL is asked for.
func TestPush_NoRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer redirect.Close()
	var subs atomic.Int32
	rec := &pushRecorder{}
	runPushFor(t, PushOptions{
		Subscribe: func(ctx context.Context) (Subscription, error) {
			subs.Add(1)
			return Subscription{NotificationURL: redirect.URL + "/notifications?token=secret-token", Expires: time.Now().Add(time.Hour)}, nil
		},
		HTTPClient: redirect.Client(),
		Observer:   rec.observer(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}, 300*time.Millisecond)
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect target got %d handshakes", n)
	}
	if n := subs.Load(); n < 2 {
		t.Fatalf("%d subscription requests, want a new URL after each redirected handshake", n)
	}
	for _, err := range rec.get().errs {
		if strings.Contains(err.Error(), "secret-token") {
			t.Fatalf("an error shows the URL's token: %v", err)
		}
	}
}

// TestSubscribe_RejectsForeignURLs: the agent connects only to https notification URLs (http
// only when Graph itself is configured over http, as in tests).
func TestSubscribe_RejectsForeignURLs(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://eastus1-0.pushnp.svc.ms/notifications?token=x", true},
		{"http://eastus1-0.pushnp.svc.ms/notifications?token=x", false},
		{"https://user:pw@eastus1-0.pushnp.svc.ms/notifications?token=x", false},
		{"ftp://host/notifications", false},
		{"/notifications?token=x", false},
	}
	for _, tt := range tests {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"notificationUrl":%q,"expirationDateTime":"2099-01-01T00:00:00.0000000Z"}`, tt.url)
		}))
		c, err := NewClient(ClientOptions{
			Auth:       AuthConfig{Flow: FlowDevice, ClientID: "c", LoginURL: srv.URL, GraphURL: srv.URL + "/v1.0"},
			Store:      &memStore{tok: &Token{AccessToken: "a", Expiry: time.Now().Add(time.Hour)}},
			HTTPClient: srv.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Subscribe(context.Background(), "b!drive")
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.url, err, tt.ok)
		}
		srv.Close()
	}
}

// TestPush_NeedsLogin: without a usable sign-in the link waits (no refresh attempt every
// backoff step) until Retry says a new token was saved.
func TestPush_NeedsLogin(t *testing.T) {
	var calls atomic.Int32
	rec := &pushRecorder{}
	p, err := NewPush(PushOptions{
		Subscribe: func(ctx context.Context) (Subscription, error) {
			calls.Add(1)
			return Subscription{}, fmt.Errorf("push subscription: %w", ErrNeedsLogin)
		},
		Observer:   rec.observer(),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d subscription attempts in 200ms without a sign-in, want 1", n)
	}
	p.Retry()
	waitFor(t, 2*time.Second, "a new attempt after Retry, reported as an error", func() bool {
		return calls.Load() == 2 && rec.last() == PushError
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPush_ExpiredURLBacksOff: a URL that is already expired when it arrives (a clock far
// off) leads to subscription requests at the backoff's pace, not in a loop.
func TestPush_ExpiredURLBacksOff(t *testing.T) {
	var calls atomic.Int32
	runPushFor(t, PushOptions{
		Subscribe: func(ctx context.Context) (Subscription, error) {
			calls.Add(1)
			return Subscription{NotificationURL: "https://push.invalid/notifications?token=x", Expires: time.Now().Add(-time.Hour)}, nil
		},
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, 500*time.Millisecond)
	if n := calls.Load(); n < 2 || n > 8 {
		t.Fatalf("%d subscription requests in 500ms, want 2 to 8 (backoff 50ms to 100ms)", n)
	}
}

// TestPush_DialErrorHidesToken: a failed dial names the host, never the URL's token.
func TestPush_DialErrorHidesToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	rec := &pushRecorder{}
	runPushFor(t, PushOptions{
		Subscribe: func(ctx context.Context) (Subscription, error) {
			return Subscription{NotificationURL: addr + "/notifications?token=very-secret&applicationId=app", Expires: time.Now().Add(time.Hour)}, nil
		},
		Observer:   rec.observer(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}, 200*time.Millisecond)
	errs := rec.get().errs
	if len(errs) == 0 {
		t.Fatal("no error reported for a dial to a closed port")
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), "very-secret") {
			t.Fatalf("error shows the token: %v", err)
		}
	}
}

// TestPush_HTTP1UpgradeOnH2Server: against a server that offers HTTP/2 (ALPN h2), starting
// from an HTTP/2-capable client, the handshake goes over HTTP/1.1 and works (an Upgrade over
// a connection that negotiated HTTP/2 fails). Go's transport already dials upgrade requests
// with HTTP/1.1 only; the link's own transport also has HTTP/2 turned off (TestHTTP1Client),
// so the property holds whichever of the two changes.
func TestPush_HTTP1UpgradeOnH2Server(t *testing.T) {
	var protos sync.Map
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		_ = c.Write(ctx, websocket.MessageText, []byte(`0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000}`))
		for i := 0; i < 2; i++ {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			_ = c.Write(ctx, websocket.MessageText, append(b, `{"sid":"x"}`...))
		}
		_ = c.Write(ctx, websocket.MessageText, []byte(`42/notifications,["notification","{\"value\":[]}"]`))
		_, _, _ = c.Read(ctx) // until the client goes
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := srv.Client()
	if tr := hc.Transport.(*http.Transport); !tr.ForceAttemptHTTP2 && tr.TLSClientConfig.NextProtos[0] != "h2" {
		t.Fatal("the test client does not offer HTTP/2")
	}
	rec := &pushRecorder{}
	p, err := NewPush(PushOptions{
		Subscribe: func(ctx context.Context) (Subscription, error) {
			return Subscription{NotificationURL: srv.URL + "/notifications?token=t", Expires: time.Now().Add(time.Hour)}, nil
		},
		HTTPClient: hc,
		Observer:   rec.observer(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 5*time.Second, "a notification over the upgraded link", func() bool { return rec.get().notifications == 1 })
	if _, h2 := protos.Load("HTTP/2.0"); h2 {
		t.Fatal("a handshake came over HTTP/2")
	}
}
