package connector

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// virtualClock is a clock that moves only when a Budget sleeps: SleepUntil jumps to the wake
// time at once, so rate tests take no wall-clock time and cannot flake on a slow machine.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newVirtualClock() *virtualClock {
	return &virtualClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *virtualClock) SleepUntil(ctx context.Context, until time.Time) error {
	c.mu.Lock()
	if until.After(c.t) {
		c.t = until
	}
	c.mu.Unlock()
	return ctx.Err()
}

func TestBudgetSpacing(t *testing.T) {
	clk := newVirtualClock()
	b := NewBudget(BudgetOptions{RequestsPerSecond: 10, Now: clk.Now, SleepUntil: clk.SleepUntil})
	ctx := context.Background()
	start := clk.Now()
	var times []time.Duration
	take := func() {
		if err := b.Take(ctx); err != nil {
			t.Fatal(err)
		}
		times = append(times, clk.Now().Sub(start))
	}
	for range 3 {
		take()
	}
	_ = clk.SleepUntil(ctx, clk.Now().Add(5*time.Second)) // idle: no turns are saved up
	take()
	take()
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 5200 * time.Millisecond, 5300 * time.Millisecond}
	for i := range want {
		if times[i] != want[i] {
			t.Fatalf("turns at %v, want %v", times, want)
		}
	}

	// A fractional rate rounds the gap up.
	if got := NewBudget(BudgetOptions{RequestsPerSecond: 3}).Interval(); got != 333333334*time.Nanosecond {
		t.Errorf("interval at 3/s = %v", got)
	}
	if got := NewBudget(BudgetOptions{}).Take(ctx); got != nil {
		t.Errorf("unlimited budget: %v", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Take(cctx); err == nil {
		t.Error("Take on a cancelled context succeeded")
	}
}

func TestBudgetAcquire(t *testing.T) {
	b := NewBudget(BudgetOptions{Concurrency: 3})
	var holding, peak atomic.Int32
	hold := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := b.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := holding.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-hold
			holding.Add(-1)
			release()
		}()
	}
	// Three take a slot and hold it; the other seventeen wait.
	deadline := time.Now().Add(5 * time.Second)
	for holding.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // room for a fourth to get in, were the limit broken
	if p := peak.Load(); p != 3 || b.Free() != 0 {
		t.Errorf("peak %d drives at once, %d slots free; want 3 and 0", p, b.Free())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx); err == nil {
		t.Error("Acquire beyond Concurrency did not wait")
	}
	close(hold)
	wg.Wait()
	if p := peak.Load(); p != 3 || b.Free() != 3 {
		t.Errorf("peak %d, %d slots free after all released", p, b.Free())
	}
}

// pollDrives polls every drive rounds times (a full enumeration, then deltaLinks), each drive
// in turn on one of workers goroutines holding a Budget slot, as the runtime does.
func pollDrives(t *testing.T, c *Client, b *Budget, drives []string, rounds, workers int) {
	t.Helper()
	ctx := context.Background()
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				release, err := b.Acquire(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				link := c.graph + "/drives/" + id + "/root/delta" // no $top: the drive's small pages
				for range rounds {
					for {
						p, err := c.Page(ctx, link)
						if err != nil {
							t.Errorf("drive %s: %v", id, err)
							break
						}
						if p.DeltaLink != "" {
							link = p.DeltaLink
							break
						}
						link = p.NextLink
					}
				}
				release()
			}
		}()
	}
	for _, id := range drives {
		work <- id
	}
	close(work)
	wg.Wait()
}

// TestBudgetRate measures, with the fake tenant's per-second counter on a virtual clock, that
// a Budget keeps every second within requests_per_second + 10 %, and that without one the
// same work lands in far fewer seconds (so the measurement can fail).
func TestBudgetRate(t *testing.T) {
	const rps = 50
	tests := []struct {
		name   string
		budget bool
	}{
		{"with budget", true},
		{"without budget", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newVirtualClock()
			tn := graphtest.NewTenant(graphtest.TenantOptions{Now: clk.Now, Drive: graphtest.Options{PageSize: 5}})
			defer tn.Close()
			var drives []string
			for range 8 {
				d := tn.UserDrive(tn.AddUser(graphtest.TenantUser{}))
				d.Populate(40, 1)
				drives = append(drives, d.DriveID())
			}
			b := NewBudget(BudgetOptions{RequestsPerSecond: rps, Concurrency: 4, Now: clk.Now, SleepUntil: clk.SleepUntil})
			opts := ClientOptions{Throttle: NewThrottle(ThrottleOptions{Now: clk.Now})}
			if tt.budget {
				opts.Budget = b
			}
			c := tenantClient(t, tn, opts)
			pollDrives(t, c, b, drives, 20, 4)

			total := 0
			for _, n := range tn.PerSecond() {
				total += n
			}
			peak := tn.MaxPerSecond()
			t.Logf("%d requests, peak %d in one second, over %d seconds", total, peak, len(tn.PerSecond()))
			if total != 8*(9+19) {
				t.Fatalf("%d requests, want 8 drives × (9 pages + 19 deltaLinks)", total)
			}
			if tt.budget && peak*10 > rps*11 {
				t.Errorf("peak %d requests in one second, budget %d (+10 %%)", peak, rps)
			}
			if tt.budget && len(tn.PerSecond()) < total/rps {
				t.Errorf("%d requests in %d seconds at %d/s", total, len(tn.PerSecond()), rps)
			}
			if !tt.budget && peak <= rps*11/10 {
				t.Errorf("without a budget the peak is %d: the measurement cannot tell", peak)
			}
		})
	}
}

// TestBudgetRetryAfterPausesAll injects a Retry-After on one drive while four drives are
// polled: with the instance's one Client, no request to any drive goes out in the window;
// with a Client per drive that do not share a gate, some do (the check can fail).
func TestBudgetRetryAfterPausesAll(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 1 s Retry-After")
	}
	tests := []struct {
		name       string
		shared     bool
		violations bool
	}{
		{"one client for the instance", true, false},
		{"a gate per drive", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Requests already sent when the 429 comes back cannot be recalled: 250 ms of grace.
			tn := graphtest.NewTenant(graphtest.TenantOptions{Drive: graphtest.Options{PageSize: 2}, InFlight: 250 * time.Millisecond})
			defer tn.Close()
			var drives []*graphtest.Server
			for range 4 {
				d := tn.UserDrive(tn.AddUser(graphtest.TenantUser{}))
				d.Populate(30, 2)
				drives = append(drives, d)
			}
			b := NewBudget(BudgetOptions{RequestsPerSecond: 200, Concurrency: 4})
			shared := tenantClient(t, tn, ClientOptions{Budget: b})
			drives[1].InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, NextLinkOnly: true})
			var wg sync.WaitGroup
			for _, d := range drives {
				c := shared
				if !tt.shared {
					c = tenantClient(t, tn, ClientOptions{Budget: b, Throttle: NewThrottle(ThrottleOptions{})})
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Enough rounds that the other drives are still busy when the
					// Retry-After window opens.
					pollDrives(t, c, b, []string{d.DriveID()}, 60, 1)
				}()
			}
			wg.Wait()
			if n := drives[1].Count(graphtest.ClassDelta, http.StatusTooManyRequests); n != 1 {
				t.Fatalf("%d throttled answers, want the one injected", n)
			}
			v := tn.RetryAfterViolations()
			if got := len(v) > 0; got != tt.violations {
				t.Errorf("%d requests inside the Retry-After window, want violations=%v", len(v), tt.violations)
			}
		})
	}
}
