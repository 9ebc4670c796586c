package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Config is one instance's delivery loop configuration.
type Config struct {
	Instance     string        // instance name, for errors and observers
	Sink         string        // sink name for observers and logs: webhook, kafka, nats
	RetryInitial time.Duration // first retry delay; default 1s
	RetryMax     time.Duration // longest retry delay; default 5m
	Grace        time.Duration // how long shutdown lets the attempt in flight finish; default 5s
	BatchSize    int           // most messages per Peek (fewer when their bodies pass maxBatchBytes); default 256
	// DeliveredLevel is the level of the one log line per delivered
	// message (id, events, status, took); default slog.LevelInfo.
	DeliveredLevel slog.Level
	Observer       Observer // called on every attempt; nil = none

	// Now and Timer replace the clock, e.g. to shorten waits in tests; nil
	// uses the time package.
	Now   func() time.Time
	Timer func(time.Duration) (<-chan time.Time, func() bool)
}

// ackInterval is the longest delivered acks wait in memory before a commit
// while messages keep flowing.
const ackInterval = 100 * time.Millisecond

// Loop delivers one instance's queue through a Sender: in queue order, for
// ever. Create it with New and run it with Run; Notify wakes it after new
// messages were queued or dead letters replayed.
type Loop struct {
	q      Queue
	sender Sender
	pipe   Pipeliner // sender, when it pipelines
	window int
	obs    Observer
	log    *slog.Logger
	cfg    Config
	wake   chan struct{}

	now   func() time.Time
	timer func(time.Duration) (<-chan time.Time, func() bool)

	ack      *acker
	acks     []uint64            // delivered, not yet handed to ack
	inflight map[uint64]struct{} // handed to ack, commit not confirmed
	firstAck time.Time
	peekN    int
	stateErr string
	stateSet bool
	// okSinceFailure: a delivery succeeded after the last failed attempt.
	okSinceFailure bool

	mu sync.Mutex // guards st
	st Status
}

// New returns a loop delivering q through s. log should already carry the
// instance name (the lines add component=delivery and sink); nil discards.
func New(cfg Config, q Queue, s Sender, log *slog.Logger) *Loop {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.RetryInitial = orDefault(cfg.RetryInitial, time.Second)
	cfg.RetryMax = orDefault(cfg.RetryMax, 5*time.Minute)
	cfg.Grace = orDefault(cfg.Grace, 5*time.Second)
	cfg.BatchSize = orDefault(cfg.BatchSize, 256)
	l := &Loop{
		q: q, sender: s, window: 1, obs: cfg.Observer, cfg: cfg,
		log:  log.With("component", "delivery", "sink", cfg.Sink),
		wake: make(chan struct{}, 1),
		now:  cfg.Now,
		timer: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
		st: Status{State: StateIdle},
	}
	if l.now == nil {
		l.now = time.Now
	}
	if cfg.Timer != nil {
		l.timer = cfg.Timer
	}
	if p, ok := s.(Pipeliner); ok && p.Window() > 1 {
		l.pipe, l.window = p, p.Window()
	}
	l.peekN = min(l.cfg.BatchSize, max(16, l.window)) // grows once the size of the bodies is known
	return l
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Notify wakes the loop when it sleeps: call it after enqueueing messages or
// replaying dead letters. It never blocks.
func (l *Loop) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Status returns a snapshot of the loop's state. It may be called from any
// goroutine.
func (l *Loop) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

func (l *Loop) setStatus(fn func(*Status)) {
	l.mu.Lock()
	fn(&l.st)
	l.mu.Unlock()
}

// wakeReason tells why sleep returned.
type wakeReason int

const (
	wokeTimer wakeReason = iota
	wokeNotify
	wokeDone
)

// sleep waits for dur (dur < 0: no timer), a Notify, or ctx's end.
func (l *Loop) sleep(ctx context.Context, dur time.Duration) wakeReason {
	var c <-chan time.Time
	if dur >= 0 {
		var stop func() bool
		c, stop = l.timer(dur)
		defer stop()
	}
	select {
	case <-ctx.Done():
		return wokeDone
	case <-l.wake:
		return wokeNotify
	case <-c:
		return wokeTimer
	}
}

// Run delivers until ctx ends, then lets the attempt in flight finish (at
// most Grace), commits the acks it holds and returns nil. It returns an
// error only when the queue (the store) fails. Run must not be called
// twice at the same time.
func (l *Loop) Run(ctx context.Context) (err error) {
	l.ack = startAcker(l.q, l.cfg.Instance)
	l.inflight = map[uint64]struct{}{}
	defer func() {
		// Commit what was delivered; a failed ack commit is reported once.
		if ferr := l.flushSync(); ferr != nil && !errors.Is(err, ferr) {
			err = errors.Join(err, ferr)
		}
		l.ack.close()
	}()
	for ctx.Err() == nil {
		batch, err := l.peek()
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			if len(l.inflight) > 0 {
				// Idle: make the acks durable before sleeping, then look again.
				if err := l.flushSync(); err != nil {
					return err
				}
				continue
			}
			l.setStatus(func(s *Status) {
				if s.State == StateDelivering {
					s.State = StateIdle
				}
			})
			l.sleep(ctx, -1)
			continue
		}
		if err := l.deliver(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// maxBatchBytes bounds the bodies one Peek holds in memory.
const maxBatchBytes = 4 << 20

// peek hands the acks held over for a background commit and reads the next
// messages from the head, leaving out those delivered whose ack is not
// committed yet.
func (l *Loop) peek() ([]Message, error) {
	if err := l.ack.drain(l.confirm); err != nil {
		return nil, err
	}
	l.handoff()
	var batch []Message
	var err error
	if sk, ok := l.q.(Skipper); ok {
		batch, err = sk.PeekSkip(l.peekN, l.isInflight)
	} else {
		batch, err = l.q.Peek(l.peekN + len(l.inflight))
	}
	if err != nil {
		return nil, fmt.Errorf("instance %s: read delivery queue: %w", l.cfg.Instance, err)
	}
	size := 0
	out := batch[:0]
	for _, m := range batch {
		if _, ok := l.inflight[m.Key]; ok {
			continue
		}
		size += len(m.Body)
		out = append(out, m)
	}
	if len(out) > 0 {
		l.peekN = min(max(maxBatchBytes/max(size/len(out), 1), 16, l.window), l.cfg.BatchSize)
	}
	return out, nil
}

// attemptCtx returns the context of one attempt: it ends Grace after ctx
// does, so that a shutdown lets the attempt in flight finish.
func (l *Loop) attemptCtx(ctx context.Context) (context.Context, func()) {
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(l.cfg.Grace, cancel) })
	return actx, func() { stop(); cancel() }
}

// started is a message in flight.
type started struct {
	m     *Message
	wait  func() Result
	start time.Time
}

// deliver sends batch in order. It returns early, without error, when ctx
// ends or the head of the queue may have changed (a split, or a Notify while
// waiting for a retry).
func (l *Loop) deliver(ctx context.Context, batch []Message) error {
	for i := 0; i < len(batch) && ctx.Err() == nil; {
		m := &batch[i]
		// A message waiting for its retry goes at once when another one got
		// through since it failed (e.g. replayed dead letters): the receiver is up.
		if wait := m.NextAttempt.Sub(l.now()); wait > 0 && !l.okSinceFailure {
			if err := l.flushSync(); err != nil {
				return err
			}
			if l.sleep(ctx, wait) != wokeTimer {
				return nil // shutdown, or new messages / replayed dead letters: peek again
			}
		}
		l.setStatus(func(s *Status) {
			if s.State == StateIdle {
				s.State = StateDelivering
			}
		})
		actx, done := l.attemptCtx(ctx)
		next, stop, err := l.flight(actx, ctx, batch, i)
		done()
		if err != nil || stop {
			return err
		}
		i = next
	}
	return nil
}

// flight delivers batch from i on with up to the sender's window of
// messages in flight (one for a plain Sender), taking the results in order
// and starting the next message as each one is settled. It returns the
// index to go on from: after the last message sent, or the message that
// failed and is retried (with every later one, sent again after it). It
// stops before a message whose retry is not due, so the caller waits for
// it. stop: return to Run (shutdown, or a split changed the queue).
func (l *Loop) flight(actx, ctx context.Context, batch []Message, i int) (next int, stop bool, err error) {
	var fl []started
	k := i        // next message to start
	blocked := -1 // a message whose start failed: start no later one before its result
	startMore := func() {
		now := l.now()
		for k < len(batch) && len(fl) < l.window && blocked < 0 && ctx.Err() == nil {
			m := &batch[k]
			if k > i && m.NextAttempt.After(now) && !l.okSinceFailure {
				return
			}
			f := started{m: m, start: l.now()}
			if l.pipe == nil {
				f.wait = func() Result { return l.sender.Send(actx, m) }
			} else {
				var ok bool
				if f.wait, ok = l.pipe.Start(actx, m); !ok {
					blocked = k
				}
			}
			fl = append(fl, f)
			k++
		}
	}
	drain := func() {
		for _, f := range fl {
			f.wait() // in flight behind a failure: sent again after it
		}
	}
	startMore()
	for n := i; len(fl) > 0; n++ {
		f := fl[0]
		fl = fl[1:]
		r := f.wait()
		took := l.now().Sub(f.start)
		if r.Outcome != Delivered && r.Outcome != Reject && ctx.Err() != nil {
			drain()
			return n, true, nil // cut short by shutdown: nothing to record
		}
		switch r.Outcome {
		case Delivered:
			l.delivered(f.m, r, took)
		case Reject:
			err = l.reject(f.m, r, took)
		case Split:
			drain()
			return n, true, l.split(f.m, r, took)
		default:
			drain()
			return n, false, l.retry(f.m, r, took)
		}
		if err != nil {
			drain()
			return n, true, err
		}
		if len(l.acks) > 0 && l.now().Sub(l.firstAck) >= ackInterval {
			l.handoff()
		}
		if n == blocked {
			blocked = -1
		}
		startMore()
	}
	return k, false, nil
}

// handoff passes the acks held in memory to the background committer.
func (l *Loop) handoff() {
	if len(l.acks) == 0 {
		return
	}
	l.ack.commit(l.acks)
	for _, k := range l.acks {
		l.inflight[k] = struct{}{}
	}
	l.acks = l.acks[:0]
}

// isInflight reports whether key was delivered and its ack is not
// committed yet.
func (l *Loop) isInflight(key uint64) bool {
	_, ok := l.inflight[key]
	return ok
}

// confirm forgets a key whose ack is committed.
func (l *Loop) confirm(key uint64) { delete(l.inflight, key) }

// flushSync commits every ack held or handed over and waits for it.
func (l *Loop) flushSync() error {
	l.handoff()
	return l.ack.wait(l.confirm, func() int { return len(l.inflight) })
}
