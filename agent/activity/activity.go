// Package activity keeps, in memory, what the operator console shows about
// each instance's recent work: the last deliveries (a ring buffer) and
// per-minute figures for the last hour (queue depth, deliveries, failures).
// Nothing here is persisted: a restart starts with an empty history.
//
// A Recorder is safe for concurrent use. Its methods never block on I/O,
// so the delivery loop may call them inline.
package activity

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Outcomes of one delivery attempt, as Delivery.Outcome spells them.
const (
	Delivered = "delivered" // the receiver accepted the message
	Retry     = "retry"     // the attempt failed and the message will be sent again
	Dead      = "dead"      // the receiver refused the message: it went to the dead letters
	Split     = "split"     // the receiver answered 413 and the message was split
)

// Delivery is one attempt to deliver a message.
type Delivery struct {
	At      time.Time     // when the attempt ended; zero means the Recorder's now
	ID      string        // message id
	Events  int           // events the message carries
	Outcome string        // Delivered, Retry, Dead or Split
	Status  int           // HTTP status of the answer; 0 when there was none
	Took    time.Duration // request time
	// Error is the failure, or the status line and an excerpt of the
	// receiver's answer; "" when delivered. It must hold no secret (the
	// dispatcher's errors carry no credentials or callback query string).
	Error string
}

// Failed tells whether the attempt counts as a failure (retried or refused).
func (d Delivery) Failed() bool { return d.Outcome == Retry || d.Outcome == Dead }

// Minute holds one minute of an instance's last hour.
type Minute struct {
	Start time.Time // first instant of the minute (UTC)
	// Queue is the highest queued-event count sampled in the minute;
	// Sampled is false when no sample fell in it.
	Queue     int
	Sampled   bool
	Delivered int // messages accepted
	Failed    int // attempts retried or refused
}

// Hour is an instance's last hour, oldest minute first; the last entry is
// the current, still open minute.
type Hour struct {
	Minutes   []Minute
	Delivered int // sum over Minutes
	Failed    int
	// Oldest is the oldest queued event at the last sample; zero when the
	// queue was empty or never sampled.
	Oldest time.Time
}

// Minutes is how many minutes Hour covers.
const Minutes = 60

// DefaultRecent is how many deliveries a Recorder keeps per instance when
// Options.Recent is not set.
const DefaultRecent = 50

// maxError bounds the error text kept per delivery.
const maxError = 500

// Options configure a Recorder.
type Options struct {
	Recent int              // deliveries kept per instance; <= 0 means DefaultRecent
	Now    func() time.Time // clock; nil means time.Now
}

// Recorder keeps the recent activity of every instance it hears about.
type Recorder struct {
	mu     sync.Mutex
	now    func() time.Time
	recent int
	inst   map[string]*track
}

type track struct {
	ring    []Delivery // ring buffer of the last deliveries
	next    int        // where the next one goes
	full    bool
	minutes [Minutes]bucket
	oldest  time.Time
}

// bucket is one minute; minute is the Unix minute it holds, so a bucket
// left from an earlier hour is recognised as stale.
type bucket struct {
	minute    int64
	queue     int
	sampled   bool
	delivered int
	failed    int
}

// New returns an empty Recorder.
func New(opts Options) *Recorder {
	r := &Recorder{now: opts.Now, recent: opts.Recent, inst: map[string]*track{}}
	if r.now == nil {
		r.now = time.Now
	}
	if r.recent <= 0 {
		r.recent = DefaultRecent
	}
	return r
}

func (r *Recorder) track(instance string) *track {
	t := r.inst[instance]
	if t == nil {
		t = &track{ring: make([]Delivery, r.recent)}
		r.inst[instance] = t
	}
	return t
}

func (t *track) bucket(at time.Time) *bucket {
	m := at.Unix() / 60
	b := &t.minutes[m%Minutes]
	if b.minute != m {
		*b = bucket{minute: m}
	}
	return b
}

// Record adds one delivery attempt of instance. A nil Recorder ignores it.
func (r *Recorder) Record(instance string, d Delivery) {
	if r == nil {
		return
	}
	if d.At.IsZero() {
		d.At = r.now()
	}
	d.At = d.At.UTC()
	d.Error = clip(d.Error, maxError)
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.track(instance)
	t.ring[t.next] = d
	t.next = (t.next + 1) % len(t.ring)
	if t.next == 0 {
		t.full = true
	}
	b := t.bucket(d.At)
	switch {
	case d.Outcome == Delivered:
		b.delivered++
	case d.Failed():
		b.failed++
	}
}

// SampleQueue records instance's queued-event count and the time its oldest
// queued event was recorded (zero when the queue is empty). A nil Recorder
// ignores it.
func (r *Recorder) SampleQueue(instance string, depth int, oldest time.Time) {
	if r == nil {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.track(instance)
	b := t.bucket(now)
	if !b.sampled || depth > b.queue {
		b.queue = depth
	}
	b.sampled = true
	t.oldest = oldest
}

// Forget drops what is kept about instance (after it left the
// configuration).
func (r *Recorder) Forget(instance string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	delete(r.inst, instance)
	r.mu.Unlock()
}

// Recent returns instance's last deliveries, newest first.
func (r *Recorder) Recent(instance string) []Delivery {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.inst[instance]
	if t == nil {
		return nil
	}
	n := t.next
	if t.full {
		n = len(t.ring)
	}
	out := make([]Delivery, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, t.ring[(t.next-i+len(t.ring))%len(t.ring)])
	}
	return out
}

// LastHour returns instance's last hour, minute by minute.
func (r *Recorder) LastHour(instance string) Hour {
	if r == nil {
		return emptyHour(time.Now())
	}
	h := emptyHour(r.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.inst[instance]; t != nil {
		h.Oldest = t.oldest
		t.addTo(&h)
	}
	return h
}

// Total returns the last hour of every instance added up: the queue depth
// of a minute is the sum of the instances sampled in it.
func (r *Recorder) Total() Hour {
	if r == nil {
		return emptyHour(time.Now())
	}
	h := emptyHour(r.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.inst {
		t.addTo(&h)
	}
	return h
}

// addTo adds the track's figures of h's minutes to h.
func (t *track) addTo(h *Hour) {
	for i := range h.Minutes {
		m := &h.Minutes[i]
		b := t.minutes[(m.Start.Unix()/60)%Minutes]
		if b.minute != m.Start.Unix()/60 {
			continue
		}
		m.Queue += b.queue
		m.Sampled = m.Sampled || b.sampled
		m.Delivered += b.delivered
		m.Failed += b.failed
		h.Delivered += b.delivered
		h.Failed += b.failed
	}
}

// Instances returns the names the Recorder holds, sorted.
func (r *Recorder) Instances() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.inst))
	for name := range r.inst {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func emptyHour(now time.Time) Hour {
	cur := now.UTC().Truncate(time.Minute)
	h := Hour{Minutes: make([]Minute, Minutes)}
	for i := range h.Minutes {
		h.Minutes[i].Start = cur.Add(time.Duration(i-Minutes+1) * time.Minute)
	}
	return h
}

// clip shortens s to at most max bytes on a rune boundary, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
