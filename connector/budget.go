package connector

import (
	"context"
	"math"
	"time"
)

// Budget is the Graph request budget of one instance that watches many drives: a rate
// (requests per second, spread evenly) and a number of drives polled at once. A Client given a
// Budget (ClientOptions.Budget) takes a turn from it before every Graph request, retries and
// discovery included; token requests are not counted. The pause on a 429 or 503 is not the
// Budget's: it is the Client's throttling gate, which every request of the Client (so every
// drive of the instance) waits on, and which a Retry-After from any drive closes for all.
//
// The rate has no burst: turns are at least 1/RequestsPerSecond apart, so no second (of any
// alignment) holds more than RequestsPerSecond requests, and an idle spell does not save up
// turns for a burst afterwards. A Budget is safe for concurrent use.
type Budget struct {
	interval time.Duration // between two turns; 0: unlimited
	now      func() time.Time
	sleep    func(ctx context.Context, until time.Time) error
	turns    chan time.Time // holds the time of the next turn; a channel so waiting honours ctx
	slots    chan struct{}  // drives polled at once
}

// BudgetOptions configures NewBudget.
type BudgetOptions struct {
	// RequestsPerSecond is the most Graph requests in any second; 0 or less is unlimited.
	RequestsPerSecond float64
	// Concurrency is how many drives may be polled at once (Acquire); default 4.
	Concurrency int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SleepUntil waits until the clock reads until, or ctx is done; default a timer on the
	// real clock. Tests pass a fake clock's.
	SleepUntil func(ctx context.Context, until time.Time) error
}

// NewBudget returns a Budget.
func NewBudget(o BudgetOptions) *Budget {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Budget{now: o.Now, sleep: o.SleepUntil, turns: make(chan time.Time, 1), slots: make(chan struct{}, o.Concurrency)}
	if b.sleep == nil {
		b.sleep = func(ctx context.Context, until time.Time) error { return sleepCtx(ctx, until.Sub(b.now())) }
	}
	if o.RequestsPerSecond > 0 {
		// Round the gap up, so that rounding never lets one more request into a second.
		b.interval = time.Duration(math.Ceil(float64(time.Second) / o.RequestsPerSecond))
	}
	b.turns <- time.Time{}
	return b
}

// Interval returns the gap between two turns (0 when the rate is unlimited).
func (b *Budget) Interval() time.Duration { return b.interval }

// Take waits for the caller's turn to send one request. It returns ctx's error if ctx ends
// first; the turn is then lost, which only makes the rate lower.
func (b *Budget) Take(ctx context.Context) error {
	if b == nil || b.interval == 0 {
		return ctx.Err()
	}
	var next time.Time
	select {
	case next = <-b.turns:
	case <-ctx.Done():
		return ctx.Err()
	}
	at := b.now()
	if at.Before(next) {
		at = next
	}
	b.turns <- at.Add(b.interval)
	if !at.After(b.now()) {
		return ctx.Err()
	}
	return b.sleep(ctx, at)
}

// Acquire waits for one of the Concurrency slots for polling a drive and returns the function
// that gives it back (call it once). It returns ctx's error if ctx ends first.
func (b *Budget) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case b.slots <- struct{}{}:
		return func() { <-b.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Concurrency returns the number of drives that may be polled at once.
func (b *Budget) Concurrency() int { return cap(b.slots) }

// Free returns how many polling slots are free now (a hint: another caller may take one
// before Acquire).
func (b *Budget) Free() int { return cap(b.slots) - len(b.slots) }

// waitTurn holds a request back until the account's gate is open and, with a Budget, until
// the request's turn; a Retry-After that closed the gate meanwhile sends it back to wait.
func (c *Client) waitTurn(ctx context.Context) error {
	for {
		if err := c.gate.Wait(ctx); err != nil {
			return err
		}
		if c.budget == nil {
			return nil
		}
		if err := c.budget.Take(ctx); err != nil {
			return err
		}
		if !c.gate.Until().After(c.now()) {
			return nil
		}
	}
}
