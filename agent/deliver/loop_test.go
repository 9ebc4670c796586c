package deliver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memQueue is an in-memory Queue: FIFO by key, Split in place.
type memQueue struct {
	mu       sync.Mutex
	next     uint64
	msgs     []Message
	dead     []string
	stateErr string
}

func (q *memQueue) add(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		q.next++
		q.msgs = append(q.msgs, Message{Key: q.next, ID: "m" + strconv.FormatUint(q.next, 10), Events: 1})
	}
}

func (q *memQueue) Peek(n int) ([]Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.msgs[:min(n, len(q.msgs))]), nil
}

func (q *memQueue) Ack(keys ...uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = slices.DeleteFunc(q.msgs, func(m Message) bool { return slices.Contains(keys, m.Key) })
	return nil
}

func (q *memQueue) find(key uint64) int {
	return slices.IndexFunc(q.msgs, func(m Message) bool { return m.Key == key })
}

func (q *memQueue) Retry(key uint64, attempts int, next time.Time, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := q.find(key)
	q.msgs[i].Attempts, q.msgs[i].NextAttempt, q.msgs[i].LastError = attempts, next, lastErr
	return nil
}

func (q *memQueue) Reject(key uint64, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := q.find(key)
	q.dead = append(q.dead, q.msgs[i].ID)
	q.msgs = slices.Delete(q.msgs, i, i+1)
	return nil
}

func (q *memQueue) Split(key uint64, parts []Message) error { return errors.New("not supported") }

func (q *memQueue) SetDeliveryError(msg string) error {
	q.mu.Lock()
	q.stateErr = msg
	q.mu.Unlock()
	return nil
}

func (q *memQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// pipeSender is a Pipeliner whose answers come from answer, by message id
// and how often that id was sent before; it records every id it was given.
type pipeSender struct {
	mu     sync.Mutex
	window int
	sent   []string
	answer func(id string, n int) Result
}

func (p *pipeSender) Window() int { return p.window }

func (p *pipeSender) Send(ctx context.Context, m *Message) Result {
	wait, _ := p.Start(ctx, m)
	return wait()
}

func (p *pipeSender) Start(_ context.Context, m *Message) (func() Result, bool) {
	p.mu.Lock()
	n := 0
	for _, id := range p.sent {
		if id == m.ID {
			n++
		}
	}
	p.sent = append(p.sent, m.ID)
	p.mu.Unlock()
	r := p.answer(m.ID, n)
	return func() Result { return r }, true
}

func (p *pipeSender) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

func runLoop(t *testing.T, l *Loop) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	return sync.OnceFunc(stop)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoop_PipelineRetryResendsLaterMessages: when a message in flight
// fails, the messages started after it are sent again after it, so the last
// copy the receiver holds is in queue order.
func TestLoop_PipelineRetryResendsLaterMessages(t *testing.T) {
	q := &memQueue{}
	q.add(6)
	s := &pipeSender{window: 4, answer: func(id string, n int) Result {
		if id == "m2" && n == 0 {
			return Result{Outcome: Retry, Err: errors.New("broker: not leader")}
		}
		return Result{Outcome: Delivered}
	}}
	var attempts []Attempt
	var mu sync.Mutex
	l := New(Config{Instance: "t", Sink: "test", RetryInitial: time.Millisecond, RetryMax: time.Millisecond,
		Observer: func(a Attempt) { mu.Lock(); attempts = append(attempts, a); mu.Unlock() }}, q, s, nil)
	stop := runLoop(t, l)
	waitFor(t, "the queue to drain", func() bool { return q.len() == 0 })
	stop()
	// m5 starts once m1 is delivered (the window slides); m2 fails and
	// everything after it goes again, after it.
	want := []string{"m1", "m2", "m3", "m4", "m5", "m2", "m3", "m4", "m5", "m6"}
	if got := s.ids(); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	var retried []string
	for _, a := range attempts {
		if a.Outcome == Retry {
			retried = append(retried, a.Message)
			if a.Err != "broker: not leader" || a.Attempts != 1 || a.Next.IsZero() || a.Sink != "test" {
				t.Errorf("retry attempt %+v", a)
			}
		}
	}
	if !slices.Equal(retried, []string{"m2"}) {
		t.Errorf("retried %v, want [m2]", retried)
	}
}

// TestLoop_RejectInPipelineGoesOn: a refused message goes to the dead
// letters and the others in flight are delivered, not sent again.
func TestLoop_RejectInPipelineGoesOn(t *testing.T) {
	q := &memQueue{}
	q.add(5)
	s := &pipeSender{window: 8, answer: func(id string, n int) Result {
		if id == "m3" {
			return Result{Outcome: Reject, Err: errors.New("record too large")}
		}
		return Result{Outcome: Delivered}
	}}
	stop := runLoop(t, New(Config{Instance: "t"}, q, s, nil))
	waitFor(t, "the queue to drain", func() bool { return q.len() == 0 })
	stop()
	if got, want := s.ids(), []string{"m1", "m2", "m3", "m4", "m5"}; !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	if !slices.Equal(q.dead, []string{"m3"}) || q.stateErr != "" {
		t.Errorf("dead %v, state error %q", q.dead, q.stateErr)
	}
}

// TestLoop_Status follows the state while the receiver is down and after it
// came back.
func TestLoop_Status(t *testing.T) {
	q := &memQueue{}
	var mu sync.Mutex
	down := true
	s := &pipeSender{window: 1, answer: func(string, int) Result {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return Result{Outcome: Retry, Err: errors.New("dial tcp 127.0.0.1:9: connect: connection refused")}
		}
		return Result{Outcome: Delivered, Code: 204}
	}}
	l := New(Config{Instance: "t", RetryInitial: 20 * time.Millisecond, RetryMax: 20 * time.Millisecond}, q, s, nil)
	if st := l.Status(); st.State != StateIdle {
		t.Fatalf("state %q before any message", st.State)
	}
	stop := runLoop(t, l)
	defer stop()
	q.add(1)
	l.Notify()
	waitFor(t, "two failed attempts", func() bool { return l.Status().Attempts >= 2 })
	st := l.Status()
	if st.State != StateRetrying || st.FailingSince.IsZero() || st.NextAttempt.IsZero() ||
		st.LastError != "dial tcp 127.0.0.1:9: connect: connection refused" {
		t.Errorf("while down: %+v", st)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, "the delivery", func() bool { return q.len() == 0 })
	waitFor(t, "idle", func() bool { return l.Status().State == StateIdle })
	st = l.Status()
	if st.Attempts != 0 || !st.FailingSince.IsZero() || st.LastError != "" || st.LastDelivered.IsZero() {
		t.Errorf("after recovery: %+v", st)
	}
}

// TestLoop_DeliveredLine: one line per delivered message, with id, events,
// status and took, at the configured level.
func TestLoop_DeliveredLine(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		q := &memQueue{}
		q.add(2)
		s := &pipeSender{window: 1, answer: func(string, int) Result { return Result{Outcome: Delivered, Code: 204} }}
		stop := runLoop(t, New(Config{Instance: "t", Sink: "webhook", DeliveredLevel: level}, q, s, log))
		waitFor(t, "the queue to drain", func() bool { return q.len() == 0 })
		stop()
		mu.Lock()
		out := buf.String()
		mu.Unlock()
		want := "level=" + level.String() + " msg=delivered component=delivery sink=webhook message=m1 events=1 status=204 took="
		if !strings.Contains(out, want) || strings.Count(out, "msg=delivered") != 2 {
			t.Errorf("level %v: log\n%s\nwant two lines like %q", level, out, want)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// skipQueue is a memQueue with PeekSkip whose acks take a while to commit;
// it counts how often each message is read.
type skipQueue struct {
	memQueue
	ackDelay time.Duration
	reads    map[uint64]int
}

func (q *skipQueue) PeekSkip(n int, skip func(uint64) bool) ([]Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Message
	for _, m := range q.msgs {
		if len(out) == n {
			break
		}
		if skip(m.Key) {
			continue
		}
		q.reads[m.Key]++
		out = append(out, m)
	}
	return out, nil
}

func (q *skipQueue) Peek(n int) ([]Message, error) {
	ms, err := q.memQueue.Peek(n)
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range ms {
		q.reads[m.Key]++
	}
	return ms, err
}

func (q *skipQueue) Ack(keys ...uint64) error {
	time.Sleep(q.ackDelay)
	return q.memQueue.Ack(keys...)
}

// TestLoop_PeekSkipsUnackedDelivered: while acks are being committed, a
// Skipper queue is asked to leave the delivered messages out, so each
// message is read once; all are delivered once, in order.
func TestLoop_PeekSkipsUnackedDelivered(t *testing.T) {
	q := &skipQueue{ackDelay: 20 * time.Millisecond, reads: map[uint64]int{}}
	q.add(200)
	s := &pipeSender{window: 1, answer: func(string, int) Result { return Result{Outcome: Delivered} }}
	l := New(Config{Instance: "t", Sink: "test", BatchSize: 8}, q, s, nil)
	stop := runLoop(t, l)
	waitFor(t, "the queue to drain", func() bool { return q.len() == 0 })
	stop()
	var want []string
	for i := 1; i <= 200; i++ {
		want = append(want, "m"+strconv.Itoa(i))
	}
	if got := s.ids(); !slices.Equal(got, want) {
		t.Errorf("sent %v, want %v", got, want)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, n := range q.reads {
		if n != 1 {
			t.Errorf("message %d read %d times, want 1", k, n)
		}
	}
}
