// Package sinktest helps the sink tests: an in-memory delivery queue with
// the store's semantics, message bodies formed as the agent forms them, and
// running a delivery loop until the queue is empty.
package sinktest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

// Queue is an in-memory deliver.Queue: FIFO by key, Split in place,
// rejected messages kept with their reasons.
type Queue struct {
	mu       sync.Mutex
	next     uint64
	msgs     []deliver.Message
	Dead     []deliver.Message
	Reasons  []string
	StateErr string
}

// Add appends ms.
func (q *Queue) Add(ms ...deliver.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range ms {
		q.next++
		m.Key = q.next
		q.msgs = append(q.msgs, m)
	}
}

// Len returns the number of messages queued.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// DeadLetters returns the rejected messages and their reasons.
func (q *Queue) DeadLetters() ([]deliver.Message, []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.Dead), slices.Clone(q.Reasons)
}

// Replay moves the dead letters back to the head, in order, under new
// keys as the store does.
func (q *Queue) Replay() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.Dead {
		q.next++
		q.Dead[i].Key = q.next
		q.Dead[i].Attempts, q.Dead[i].NextAttempt = 0, time.Time{}
	}
	q.msgs = append(q.Dead, q.msgs...)
	q.Dead, q.Reasons = nil, nil
}

func (q *Queue) Peek(n int) ([]deliver.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.msgs[:min(n, len(q.msgs))]), nil
}

func (q *Queue) Ack(keys ...uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = slices.DeleteFunc(q.msgs, func(m deliver.Message) bool { return slices.Contains(keys, m.Key) })
	return nil
}

func (q *Queue) find(key uint64) (int, error) {
	if i := slices.IndexFunc(q.msgs, func(m deliver.Message) bool { return m.Key == key }); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("key %d not queued", key)
}

func (q *Queue) Retry(key uint64, attempts int, next time.Time, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.find(key)
	if err == nil {
		q.msgs[i].Attempts, q.msgs[i].NextAttempt, q.msgs[i].LastError = attempts, next, lastErr
	}
	return err
}

func (q *Queue) Reject(key uint64, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.find(key)
	if err == nil {
		q.Dead, q.Reasons = append(q.Dead, q.msgs[i]), append(q.Reasons, reason)
		q.msgs = slices.Delete(q.msgs, i, i+1)
	}
	return err
}

func (q *Queue) Split(key uint64, parts []deliver.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.find(key)
	if err != nil {
		return err
	}
	ps := slices.Clone(parts)
	for j := range ps {
		q.next++
		ps[j].Key = q.next
	}
	q.msgs = slices.Replace(q.msgs, i, i+1, ps...)
	return nil
}

func (q *Queue) SetDeliveryError(msg string) error {
	q.mu.Lock()
	q.StateErr = msg
	q.mu.Unlock()
	return nil
}

// Event is an event of a test message.
type Event struct {
	ID, Type, ObjectID, Path string
	Raw                      string // the Graph item; "" = {"id":ObjectID}
	DriveID                  string // set for a tenant-wide instance's event
}

// Message forms a message body as the agent does, for instance "finance".
func Message(id string, events ...Event) deliver.Message {
	b := opencon.AppendHeader(nil, id, 1, "finance", []string{"t"})
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, raw(e)...)
	}
	b = append(b, `]},"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"eventId":`...)
		b = opencon.AppendString(b, e.ID)
		b = append(b, `,"eventType":`...)
		b = opencon.AppendString(b, e.Type)
		b = append(b, `,"objectType":"changes","itemType":"file","objectId":`...)
		b = opencon.AppendString(b, e.ObjectID)
		b = append(b, `,"elementKey":"onedrivev2","hubKey":"documents","date":"2026-11-26T10:15:02Z","pollDate":"2026-11-26T10:20:00Z","path":`...)
		b = opencon.AppendString(b, e.Path)
		b = append(b, `,"parentObjectId":"root"`...)
		if e.DriveID != "" {
			b = append(b, `,"driveId":`...)
			b = opencon.AppendString(b, e.DriveID)
		}
		b = append(b, '}')
	}
	b = append(b, "]}}"...)
	return deliver.Message{ID: id, Events: len(events), Body: b, Created: time.Now().UTC()}
}

func raw(e Event) string {
	if e.Raw != "" {
		return e.Raw
	}
	return `{"id":` + string(opencon.AppendString(nil, e.ObjectID)) + `}`
}

// Messages forms n messages of per events each; events cycle over items
// item-0 … item-(items-1), so each item has several events, in order.
// Event ids are "e-<seq %08d>", message ids "m-<n %08d>".
func Messages(n, per, items int) []deliver.Message {
	out := make([]deliver.Message, 0, n)
	seq := 0
	for i := range n {
		evs := make([]Event, per)
		for j := range evs {
			seq++
			item := "item-" + strconv.Itoa(seq%items)
			evs[j] = Event{ID: fmt.Sprintf("e-%08d", seq), Type: []string{"CREATED", "UPDATED", "DELETED"}[seq%3],
				ObjectID: item, Path: "/dir/" + item + ".txt"}
		}
		out = append(out, Message(fmt.Sprintf("m-%08d", i+1), evs...))
	}
	return out
}

// EventsByID reads the events of msgs back, by event id, as the per-event
// sinks send them.
func EventsByID(t testing.TB, msgs []deliver.Message) map[string]opencon.Event {
	t.Helper()
	out := map[string]opencon.Event{}
	for _, m := range msgs {
		body, err := opencon.Read(m.Body)
		if err != nil {
			t.Fatalf("message %s: %v", m.ID, err)
		}
		for _, e := range body.Events {
			out[e.ID] = e
		}
	}
	return out
}

// NewSender returns the sender newSender makes of cfg, after change (when
// not nil) edited cfg, and closes it when the test ends.
func NewSender[C any, S interface{ Close() }](t testing.TB, newSender func(C) (S, error), cfg C, change func(*C)) S {
	t.Helper()
	if change != nil {
		change(&cfg)
	}
	s, err := newSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Decoded is an event as a receiver decodes it from a record's value.
type Decoded struct {
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	ObjectID  string          `json:"objectId"`
	Path      string          `json:"path"`
	Raw       json.RawMessage `json:"raw"`
}

// Decode reads one event value.
func Decode(t testing.TB, value []byte) Decoded {
	t.Helper()
	var d Decoded
	if err := json.Unmarshal(value, &d); err != nil {
		t.Fatalf("event value is not JSON: %v\n%s", err, value)
	}
	if len(d.Raw) == 0 {
		t.Fatalf("event value without raw: %s", value)
	}
	return d
}

// NewLoop returns a delivery loop of instance "finance" sending q through
// s, retrying fast (10ms first, 50ms at most); sink names the sink in its
// log lines.
func NewLoop(sink string, q deliver.Queue, s deliver.Sender) *deliver.Loop {
	return deliver.New(deliver.Config{Instance: "finance", Sink: sink, RetryInitial: 10 * time.Millisecond,
		RetryMax: 50 * time.Millisecond}, q, s, nil)
}

// Run runs l until the test ends or the returned stop is called.
func Run(t testing.TB, l *deliver.Loop) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loop: %v", err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// Eventually polls cond for up to d.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CheckOrder checks a receiver's events: every id in want is there, and per
// item, the first copies of the events come in id order.
func CheckOrder(t testing.TB, got []Decoded, want int) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]string{}
	for _, d := range got {
		if seen[d.EventID] {
			continue
		}
		seen[d.EventID] = true
		if prev := last[d.ObjectID]; prev > d.EventID {
			t.Errorf("item %s: event %s after %s", d.ObjectID, d.EventID, prev)
		}
		last[d.ObjectID] = d.EventID
	}
	if len(seen) != want {
		t.Errorf("%d distinct events received, want %d", len(seen), want)
	}
}
