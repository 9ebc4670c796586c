package connector

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Throttle is a registry of per-account gates. Create one per process and pass it to every
// Client: Clients whose AuthConfig.AccountKey is the same share a gate, so a 429 or 503 seen by
// one pauses the others. The zero value is not usable; call NewThrottle.
type Throttle struct {
	opts  ThrottleOptions
	mu    sync.Mutex
	gates map[string]*Gate
}

// ThrottleOptions tunes the backoff used when Graph throttles without a Retry-After header.
type ThrottleOptions struct {
	Initial time.Duration // first pause; default 5s
	Max     time.Duration // longest pause; default 5m
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// NewThrottle returns an empty registry.
func NewThrottle(opts ThrottleOptions) *Throttle {
	if opts.Initial <= 0 {
		opts.Initial = 5 * time.Second
	}
	if opts.Max <= 0 {
		opts.Max = 5 * time.Minute
	}
	if opts.Max < opts.Initial {
		opts.Max = opts.Initial
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Throttle{opts: opts, gates: make(map[string]*Gate)}
}

// Gate returns the gate of an account key, creating it on first use.
func (t *Throttle) Gate(account string) *Gate {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.gates[account]
	if !ok {
		g = &Gate{opts: t.opts, wake: make(chan struct{})}
		t.gates[account] = g
	}
	return g
}

// Gate holds back the requests of one account while Graph throttles it.
type Gate struct {
	opts    ThrottleOptions
	mu      sync.Mutex
	until   time.Time     // no request may leave before this instant
	strikes int           // throttled answers without Retry-After since the last success
	wake    chan struct{} // closed and replaced whenever until moves
}

// Until returns the end of the current pause (zero or past when open).
func (g *Gate) Until() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// Wait blocks until the gate is open or ctx is done. It re-checks after every sleep, because
// another request of the account may have extended the pause meanwhile.
func (g *Gate) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		d := g.until.Sub(g.opts.Now())
		wake := g.wake
		g.mu.Unlock()
		if d <= 0 {
			return ctx.Err()
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		case <-wake:
			timer.Stop()
		}
	}
}

// Pause closes the gate for d from now (never shortening a longer pause) and returns the end
// of the pause.
func (g *Gate) Pause(d time.Duration) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.extendLocked(g.opts.Now().Add(d))
}

// Throttled records a 429/503. retryAfter > 0 pauses for exactly that long; otherwise the
// pause grows exponentially with jitter from Initial to Max with each throttled answer since
// the last success. It returns the pause applied.
func (g *Gate) Throttled(retryAfter time.Duration) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := retryAfter
	if d <= 0 {
		d = g.backoffLocked()
		g.strikes++
	}
	g.extendLocked(g.opts.Now().Add(d))
	return d
}

// Succeeded resets the backoff after a request of the account got a non-throttled answer.
func (g *Gate) Succeeded() {
	g.mu.Lock()
	g.strikes = 0
	g.mu.Unlock()
}

func (g *Gate) extendLocked(until time.Time) time.Time {
	if until.After(g.until) {
		g.until = until
		close(g.wake)
		g.wake = make(chan struct{})
	}
	return g.until
}

// backoffLocked: Initial·2^strikes, capped at Max, with ±25% jitter but never above Max nor
// below half of Initial.
func (g *Gate) backoffLocked() time.Duration {
	d := g.opts.Initial
	for i := 0; i < g.strikes && d < g.opts.Max; i++ {
		d *= 2
	}
	d = min(d, g.opts.Max)
	j := time.Duration((rand.Float64()*0.5 - 0.25) * float64(d))
	d = min(max(d+j, g.opts.Initial/2), g.opts.Max)
	return d
}

// maxRetryAfter bounds a Retry-After we honour (a garbage header must not stop an account for
// days); Graph's observed values go up to an hour.
const maxRetryAfter = 2 * time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. It returns 0 when
// the header is absent or unusable.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if d <= 0 {
			return 0
		}
	} else {
		return 0
	}
	return min(d, maxRetryAfter)
}
