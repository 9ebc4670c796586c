package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// Push states, as status shows them.
const (
	PushOff         = "off"         // push = "off", or the agent is not running
	PushConnecting  = "connecting"  // asking for a notification URL or opening the link
	PushConnected   = "connected"   // the link completed its handshake and is alive
	PushUnsupported = "unsupported" // Graph refused push for this sign-in (403, or an app-only flow)
	PushError       = "error"       // the last attempt failed; retrying with backoff
)

// ErrPushUnsupported matches the error of a subscription request that Graph refused with 403:
// app-only tokens and some accounts cannot use push.
var ErrPushUnsupported = errors.New("graph refused change notifications for this sign-in")

// Subscription is a drive's socket.io notification endpoint.
type Subscription struct {
	NotificationURL string    // socket.io endpoint, e.g. https://<host>/notifications?token=…
	Expires         time.Time // expirationDateTime: the URL must be renewed before it
}

// Subscribe asks Graph for the drive's socket.io notification endpoint:
// GET <graph>/drives/{id}/root/subscriptions/socketIo. It waits out throttling and retries
// transient failures like Page. A 403 is returned wrapped with ErrPushUnsupported; other
// refusals (such as the transient 400 notSupported Graph sometimes answers) as *HTTPError.
// The notificationUrl must be https (http only when the Graph root itself is http, as in
// tests), since the agent connects to it.
func (c *Client) Subscribe(ctx context.Context, driveID string) (Subscription, error) {
	link := c.graph + "/drives/" + escapeSegment(driveID) + "/root/subscriptions/socketIo"
	body, err := c.get(ctx, "subscription", link)
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) && he.Status == http.StatusForbidden {
			return Subscription{}, fmt.Errorf("%w: %w", ErrPushUnsupported, err)
		}
		return Subscription{}, fmt.Errorf("push subscription: %w", err)
	}
	var s struct {
		NotificationURL    string `json:"notificationUrl"`
		ExpirationDateTime string `json:"expirationDateTime"`
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return Subscription{}, fmt.Errorf("push subscription: %w", err)
	}
	if s.NotificationURL == "" || s.ExpirationDateTime == "" {
		return Subscription{}, errors.New("push subscription: Graph answered without notificationUrl or expirationDateTime")
	}
	exp, err := time.Parse(time.RFC3339Nano, s.ExpirationDateTime)
	if err != nil {
		// Graph writes seven fractional digits and sometimes no zone.
		if exp, err = time.Parse("2006-01-02T15:04:05.9999999", s.ExpirationDateTime); err != nil {
			return Subscription{}, fmt.Errorf("push subscription: expirationDateTime %q: %w", cleanText(s.ExpirationDateTime, 40), err)
		}
	}
	u, err := url.Parse(s.NotificationURL)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && !(u.Scheme == "http" && c.graphScheme == "http")) {
		return Subscription{}, fmt.Errorf("push subscription: notificationUrl is not an https URL (host %q)", cleanText(hostOf(u), 80))
	}
	return Subscription{NotificationURL: s.NotificationURL, Expires: exp}, nil
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}

// SocketURL turns a notificationUrl into the Engine.IO v4 WebSocket URL:
// wss://<host>/socket.io/?EIO=4&transport=websocket&<the notificationUrl's query>
// (ws:// for an http notificationUrl).
func SocketURL(notificationURL string) (string, error) {
	u, err := url.Parse(notificationURL)
	if err != nil {
		return "", fmt.Errorf("notificationUrl: %w", err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	default:
		return "", fmt.Errorf("notificationUrl: scheme %q is not http(s)", u.Scheme)
	}
	q := "EIO=4&transport=websocket"
	if u.RawQuery != "" {
		q += "&" + u.RawQuery
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = "/socket.io/", "", q, ""
	return u.String(), nil
}

// PushObserver receives what a Push link does. Nil fields are skipped; calls come from the
// goroutine of Push.Run and must not block for long.
type PushObserver struct {
	// State reports each change of state (a Push* constant) with the error that caused it
	// (nil for connecting and connected).
	State func(state string, err error)
	// Connected reports a completed handshake; reconnect is false for the first one.
	Connected func(reconnect bool)
	// Notification reports one "notification" event.
	Notification func()
}

// PushOptions configures a Push link.
type PushOptions struct {
	// Subscribe returns a fresh notification URL (Client.Subscribe of the instance's drive).
	Subscribe func(ctx context.Context) (Subscription, error)
	// HTTPClient carries the WebSocket handshake: proxy and CA as for every request. Push
	// copies its transport with HTTP/2 turned off, since the upgrade needs HTTP/1.1.
	HTTPClient *http.Client
	// Version goes into the User-Agent "onedrive-agent/<version>".
	Version  string
	Observer PushObserver
	Logger   *slog.Logger

	// MinBackoff and MaxBackoff bound the reconnect delay (default 1s and 60s, ±10% jitter).
	MinBackoff, MaxBackoff time.Duration
	// UnsupportedRetry is how long a 403 waits before asking again; default 1h.
	UnsupportedRetry time.Duration
	// HandshakeTimeout bounds the dial and the wait for the open packet; default 10s.
	HandshakeTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Push keeps one Engine.IO v4 link to Graph's socket.io notification endpoint open for a
// drive, renews its URL before it expires and reconnects with backoff. Create it with NewPush
// and run it with Run.
type Push struct {
	o     PushOptions
	hc    *http.Client
	ua    string
	log   *slog.Logger
	rand  func() float64
	retry chan struct{}
}

// Retry ends a wait after a 403 or a needed sign-in at once, e.g. after `login` saved a new
// token. It never blocks.
func (p *Push) Retry() {
	select {
	case p.retry <- struct{}{}:
	default:
	}
}

// wait sleeps for d or until Retry; false when ctx ended.
func (p *Push) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-p.retry:
	}
	return true
}

// NewPush validates the options.
func NewPush(o PushOptions) (*Push, error) {
	if o.Subscribe == nil {
		return nil, errors.New("push: Subscribe is required")
	}
	o.MinBackoff = durationOr(o.MinBackoff, time.Second)
	o.MaxBackoff = max(durationOr(o.MaxBackoff, 60*time.Second), o.MinBackoff)
	o.UnsupportedRetry = durationOr(o.UnsupportedRetry, time.Hour)
	o.HandshakeTimeout = durationOr(o.HandshakeTimeout, 10*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Push{o: o, hc: http1Client(o.HTTPClient), ua: userAgent(o.Version),
		log: loggerOr(o.Logger).With("component", "push"), rand: rand.Float64, retry: make(chan struct{}, 1)}, nil
}

// http1Client returns a copy of c whose transport speaks HTTP/1.1 only: a WebSocket upgrade
// over a connection that negotiated HTTP/2 fails. The copy follows no redirect (a handshake
// goes only to the URL Graph handed out) and has no overall timeout; the handshake is bounded
// by its context.
func http1Client(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	out := *c
	out.Timeout = 0
	out.CheckRedirect = noRedirect
	if tr, ok := transportOf(c).(*http.Transport); ok {
		tr = tr.Clone()
		tr.ForceAttemptHTTP2 = false
		var p http.Protocols
		p.SetHTTP1(true)
		tr.Protocols = &p
		if tr.TLSClientConfig != nil {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		out.Transport = tr
	}
	return &out
}

// pushBackoff gives the reconnect delays: MinBackoff doubling up to MaxBackoff, ±10% jitter.
type pushBackoff struct {
	p *Push
	n int
}

func (b *pushBackoff) next() time.Duration {
	d := b.p.o.MinBackoff
	for i := 0; i < b.n && d < b.p.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, b.p.o.MaxBackoff)
	b.n++
	return time.Duration(float64(d) * (0.9 + 0.2*b.p.rand()))
}

func (b *pushBackoff) reset() { b.n = 0 }

// renewAt returns when a URL obtained at got and expiring at exp is renewed: 60 s before
// expiry, or at half its lifetime when that lifetime is shorter than two minutes.
func renewAt(got, exp time.Time) time.Time {
	life := exp.Sub(got)
	if life >= 2*time.Minute {
		return exp.Add(-time.Minute)
	}
	return got.Add(life / 2)
}

// Run keeps the link up until ctx ends, then returns nil. A failed subscription request (also
// 400 notSupported) is retried with the reconnect backoff and never ends Run; a 403 reports
// PushUnsupported and asks again after UnsupportedRetry. A refused handshake (an HTTP 4xx or a
// socket.io connect error) makes Run ask for a new URL before the next attempt.
func (p *Push) Run(ctx context.Context) error {
	bo := &pushBackoff{p: p}
	var (
		sub   Subscription
		renew time.Time
		have  bool
		first = true
		state string
	)
	report := func(s string, err error) {
		if s == state && err == nil {
			return
		}
		state = s
		if p.o.Observer.State != nil {
			p.o.Observer.State(s, err)
		}
	}
	for ctx.Err() == nil {
		if !have || !p.o.Now().Before(renew) {
			report(PushConnecting, nil)
			got := p.o.Now()
			s, err := p.o.Subscribe(ctx)
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, ErrPushUnsupported):
				report(PushUnsupported, err)
				p.log.Warn("Graph refuses change notifications for this sign-in; polling only, asking again later",
					"err", err, "retry_in", p.o.UnsupportedRetry)
				have = false
				if !p.wait(ctx, p.o.UnsupportedRetry) {
					return nil
				}
				continue
			case errors.Is(err, ErrNeedsLogin):
				// Asking again would only repeat a refused refresh: wait for Retry (called
				// after a new sign-in), or an hour.
				report(PushError, err)
				have = false
				if !p.wait(ctx, p.o.UnsupportedRetry) {
					return nil
				}
				continue
			case err != nil:
				report(PushError, err)
				d := bo.next()
				p.log.Info("asking Graph for a notification URL failed, retrying", "err", err, "retry_in", d.Round(time.Millisecond))
				if sleepCtx(ctx, d) != nil {
					return nil
				}
				continue
			}
			sub, have, renew = s, true, renewAt(got, s.Expires)
		}
		report(PushConnecting, nil)
		res := p.session(ctx, sub.NotificationURL, renew, func() {
			bo.reset()
			report(PushConnected, nil)
			if p.o.Observer.Connected != nil {
				p.o.Observer.Connected(!first)
			}
			first = false
		})
		if ctx.Err() != nil {
			return nil
		}
		if res.refused {
			have = false
		}
		if res.renew {
			p.log.Debug("renewing the notification URL before it expires")
			have = false
			// A URL due for renewal before its link even connected (a lifetime too short,
			// or a clock far off) must not turn into a loop of requests: back off.
			if !res.connected && sleepCtx(ctx, bo.next()) != nil {
				return nil
			}
			continue
		}
		report(PushError, res.err)
		d := bo.next()
		if res.connected {
			p.log.Info("push link lost, reconnecting", "err", res.err, "retry_in", d.Round(time.Millisecond))
		} else {
			p.log.Info("push link failed, retrying", "err", res.err, "retry_in", d.Round(time.Millisecond), "new_url", res.refused)
		}
		if sleepCtx(ctx, d) != nil {
			return nil
		}
	}
	return nil
}
