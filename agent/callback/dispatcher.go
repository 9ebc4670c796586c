package callback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// Queue is the delivery side of one instance's queue; StoreQueue binds a
// *store.DB to an instance name. Each call is its own transaction.
type Queue interface {
	Peek(n int) ([]Message, error)                                        // up to n from the head, in order
	Ack(keys ...uint64) error                                             // delete delivered messages
	Retry(key uint64, attempts int, next time.Time, lastErr string) error // persist a failed attempt
	Reject(key uint64, reason string) error                               // move to the dead letters
	Split(key uint64, parts []Message) error                              // replace one by several, same place
	SetDeliveryError(msg string) error                                    // State.LastDeliveryError
}

// Observer receives delivery outcomes, e.g. to count metrics. Nil fields
// are skipped. Calls come from the dispatcher's goroutine.
type Observer struct {
	Delivered func(events int, took time.Duration) // a message was accepted
	// DeliveredBody receives the body of each accepted message and when the receiver's 2xx
	// came (the event latency histogram reads the events' dates from it).
	DeliveredBody func(body []byte, at time.Time)
	Failed        func(status int, err error) // an attempt failed and will be retried; status 0 = no response
	DeadLettered  func(events int)            // the receiver refused a message
	Split         func(events int)            // a message was split after a 413
	Retrying      func(next time.Time)        // when the failed message is tried again
	// Attempt hears of every attempt that ended (one cut short by shutdown
	// aside), before its outcome is acted on.
	Attempt func(Attempt)
}

// Attempt describes one ended attempt to deliver a message.
type Attempt struct {
	ID      string
	Events  int
	Outcome Outcome
	Status  int           // HTTP status; 0 when there was no response
	Took    time.Duration // request time
	Err     error         // nil when delivered; a *StatusError carries the receiver's answer
}

// Config is one instance's callback configuration.
type Config struct {
	Instance      string            // instance name, for logs
	URL           string            // callback URL (required)
	SignatureKey  string            // Open Connectors signature key; "" = no Elements-Webhook-Signature
	WebhookSecret string            // "whsec_<base64>"; "" = no Standard Webhooks headers
	Headers       map[string]string // extra request headers ("Host" sets the request's host)
	Version       string            // agent version for User-Agent: onedrive-agent/<version>
	Timeout       time.Duration     // per request; default 30s
	RetryInitial  time.Duration     // first retry delay; default 1s
	RetryMax      time.Duration     // longest retry delay; default 5m
	Grace         time.Duration     // how long shutdown lets the request in flight finish; default 5s
	BatchSize     int               // most messages per Peek (and acks per commit); default 256
}

// ackInterval is the longest delivered acks wait in memory before a commit
// while messages keep flowing.
const ackInterval = 100 * time.Millisecond

// Dispatcher delivers one instance's queue to its callback URL: one message
// in flight, in queue order, for ever. Create it with New and run it with
// Run; Notify wakes it after new messages were queued or dead letters
// replayed.
type Dispatcher struct {
	q                         Queue
	client                    *http.Client
	signer                    Signer
	obs                       Observer
	log                       *slog.Logger
	name                      string
	url                       string
	safeURL                   string
	host                      string
	header                    http.Header
	timeout                   time.Duration
	retryMin, retryMax, grace time.Duration
	batch                     int
	wake                      chan struct{}

	now   func() time.Time
	timer func(time.Duration) (<-chan time.Time, func() bool)

	ack      *acker
	acks     []uint64            // delivered, not yet handed to ack
	inflight map[uint64]struct{} // handed to ack, commit not confirmed
	firstAck time.Time
	peekN    int
	stateErr string
	stateSet bool
	failing  bool
	// okSinceFailure: a delivery succeeded after the last failed attempt.
	okSinceFailure bool
	failSince      time.Time
}

// New returns a dispatcher for cfg reading q. client may be shared with
// other instances (nil builds one with connector.NewHTTPClient defaults); the
// dispatcher uses a copy that never follows redirects. log should already
// carry the instance name (the lines add only component=callback); nil
// discards.
func New(cfg Config, q Queue, client *http.Client, obs Observer, log *slog.Logger) (*Dispatcher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("instance %s: callback url must be an http or https URL", cfg.Instance)
	}
	signer, err := NewSigner(cfg.SignatureKey, cfg.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", cfg.Instance, err)
	}
	if client == nil {
		if client, err = connector.NewHTTPClient(connector.HTTPOptions{}); err != nil {
			return nil, err
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{
		q: q, client: noRedirects(client), signer: signer, obs: obs,
		log:      log.With("component", "callback"),
		name:     cfg.Instance,
		url:      cfg.URL,
		safeURL:  (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		header:   http.Header{},
		timeout:  orDefault(cfg.Timeout, 30*time.Second),
		retryMin: orDefault(cfg.RetryInitial, time.Second),
		retryMax: orDefault(cfg.RetryMax, 5*time.Minute),
		grace:    orDefault(cfg.Grace, 5*time.Second),
		batch:    cfg.BatchSize,
		wake:     make(chan struct{}, 1),
		now:      time.Now,
		timer: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
	}
	if d.batch <= 0 {
		d.batch = 256
	}
	d.peekN = min(d.batch, 16) // grows once the size of the bodies is known
	for k, v := range cfg.Headers {
		if strings.EqualFold(k, "Host") {
			d.host = v
			continue
		}
		d.header.Set(k, v)
	}
	d.header.Set("Content-Type", "application/json")
	if d.header.Get("User-Agent") == "" {
		d.header.Set("User-Agent", "onedrive-agent/"+orDefault(cfg.Version, "dev"))
	}
	return d, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Notify wakes the dispatcher when it sleeps: call it after enqueueing
// messages or replaying dead letters. It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// wakeReason tells why sleep returned.
type wakeReason int

const (
	wokeTimer wakeReason = iota
	wokeNotify
	wokeDone
)

// sleep waits for dur (dur < 0: no timer), a Notify, or ctx's end.
func (d *Dispatcher) sleep(ctx context.Context, dur time.Duration) wakeReason {
	var c <-chan time.Time
	if dur >= 0 {
		var stop func() bool
		c, stop = d.timer(dur)
		defer stop()
	}
	select {
	case <-ctx.Done():
		return wokeDone
	case <-d.wake:
		return wokeNotify
	case <-c:
		return wokeTimer
	}
}

// Run delivers until ctx ends, then lets the request in flight finish (at
// most Grace), commits the acks it holds and returns nil. It returns an
// error only when the queue (the store) fails. Run must not be called
// twice at the same time.
func (d *Dispatcher) Run(ctx context.Context) (err error) {
	d.ack = startAcker(d.q, d.name)
	d.inflight = map[uint64]struct{}{}
	defer func() {
		// Commit what was delivered; a failed ack commit is reported once.
		if ferr := d.flushSync(); ferr != nil && !errors.Is(err, ferr) {
			err = errors.Join(err, ferr)
		}
		d.ack.close()
	}()
	for ctx.Err() == nil {
		batch, err := d.peek()
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			if len(d.inflight) > 0 {
				// Idle: make the acks durable before sleeping, then look again.
				if err := d.flushSync(); err != nil {
					return err
				}
				continue
			}
			d.sleep(ctx, -1)
			continue
		}
		if err := d.deliver(ctx, batch); err != nil {
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
func (d *Dispatcher) peek() ([]Message, error) {
	if err := d.ack.drain(d.confirm); err != nil {
		return nil, err
	}
	d.handoff()
	batch, err := d.q.Peek(d.peekN + len(d.inflight))
	if err != nil {
		return nil, fmt.Errorf("instance %s: read callback queue: %w", d.name, err)
	}
	size := 0
	out := batch[:0]
	for _, m := range batch {
		if _, ok := d.inflight[m.Key]; ok {
			continue
		}
		size += len(m.Body)
		out = append(out, m)
	}
	if len(out) > 0 {
		d.peekN = min(max(maxBatchBytes/max(size/len(out), 1), 16), d.batch)
	}
	return out, nil
}

// deliver sends batch in order. It returns early, without error, when ctx
// ends or the head of the queue may have changed (a split, or a Notify while
// waiting for a retry).
func (d *Dispatcher) deliver(ctx context.Context, batch []Message) error {
	for i := 0; i < len(batch) && ctx.Err() == nil; {
		m := &batch[i]
		// A message waiting for its retry goes at once when another one got
		// through since it failed (e.g. replayed dead letters): the receiver is up.
		if wait := m.NextAttempt.Sub(d.now()); wait > 0 && !d.okSinceFailure {
			if err := d.flushSync(); err != nil {
				return err
			}
			if d.sleep(ctx, wait) != wokeTimer {
				return nil // shutdown, or new messages / replayed dead letters: peek again
			}
		}
		a := d.send(ctx, m)
		if a.aborted {
			return nil
		}
		if d.obs.Attempt != nil {
			d.obs.Attempt(Attempt{ID: m.ID, Events: m.Events, Outcome: a.outcome, Status: a.status, Took: a.took, Err: a.err})
		}
		switch a.outcome {
		case Delivered:
			d.delivered(m, a)
			i++
		case Reject:
			if err := d.reject(m, a.err.Error()); err != nil {
				return err
			}
			i++
		case Split:
			return d.split(m)
		default:
			if err := d.retry(m, a); err != nil {
				return err
			}
		}
		if len(d.acks) > 0 && d.now().Sub(d.firstAck) >= ackInterval {
			d.handoff()
		}
	}
	return nil
}

// handoff passes the acks held in memory to the background committer.
func (d *Dispatcher) handoff() {
	if len(d.acks) == 0 {
		return
	}
	d.ack.commit(d.acks)
	for _, k := range d.acks {
		d.inflight[k] = struct{}{}
	}
	d.acks = d.acks[:0]
}

// confirm forgets a key whose ack is committed.
func (d *Dispatcher) confirm(key uint64) { delete(d.inflight, key) }

// flushSync commits every ack held or handed over and waits for it.
func (d *Dispatcher) flushSync() error {
	d.handoff()
	return d.ack.wait(d.confirm, func() int { return len(d.inflight) })
}
