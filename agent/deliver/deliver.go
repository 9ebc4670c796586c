// Package deliver runs an instance's delivery loop: it reads the queue head
// first, hands each message to a Sender, and acts on the outcome: acks a
// delivered message, moves a rejected one to the dead letters, replaces one
// the receiver found too large by its parts, and retries any other failure
// for ever with exponential backoff and jitter between retry_initial and
// retry_max (longer when the receiver asks for it). Attempts and the next
// attempt time are stored with the message, so a restart continues the
// backoff. Acks are committed in batches in the background; one lost in a
// crash means a redelivery with the same ids and bytes, never a loss.
//
// The loop knows no transport: each sink (sink/webhook, sink/kafka,
// sink/nats) implements Sender, and the loop knows no store: the runtime
// passes a Queue bound to one instance.
//
// Order: messages are delivered one after another, in queue order. A
// Sender that also implements Pipeliner may have up to its Window of
// messages in flight, the next one starting as each result is taken; the
// results are taken in order, and when one is not delivered every later
// one in flight is sent again after it (with the same ids and bytes), so
// the receiver never sees a later message as the last word.
//
// Observing: an Observer hears of every attempt (instance, sink, message
// id, events, outcome, HTTP status or broker code, time taken, the error or
// the receiver's answer, attempts, next attempt); Status is a snapshot for
// status pages and health checks.
package deliver

import (
	"context"
	"time"
)

// Message is a queued message as the loop sees it.
type Message struct {
	Key         uint64    // queue position
	ID          string    // message id, stable for ever
	Events      int       // events in the body
	Body        []byte    // the formed body, fixed: every attempt sends these bytes
	Created     time.Time // when recorded
	Attempts    int       // failed attempts so far
	NextAttempt time.Time // not before; zero = now
	LastError   string    // why the last attempt failed
}

// Queue is one instance's queue. Each call is its own transaction.
type Queue interface {
	Peek(n int) ([]Message, error)                                        // up to n from the head, in order
	Ack(keys ...uint64) error                                             // delete delivered messages
	Retry(key uint64, attempts int, next time.Time, lastErr string) error // persist a failed attempt
	Reject(key uint64, reason string) error                               // move to the dead letters
	Split(key uint64, parts []Message) error                              // replace one by several, same place
	SetDeliveryError(msg string) error                                    // the instance's last delivery error
}

// Skipper is a Queue that can leave messages out of a Peek without reading
// them: the loop passes the delivered messages whose ack is not committed
// yet, so that a Peek does not read their bodies again.
type Skipper interface {
	// PeekSkip returns up to n messages from the head, in order, leaving
	// out (and not counting) those whose key skip reports.
	PeekSkip(n int, skip func(key uint64) bool) ([]Message, error)
}

// Outcome is what the loop does with a message after one attempt.
type Outcome int

// The outcomes of an attempt.
const (
	Retry     Outcome = iota // send the same message again after a backoff
	Delivered                // every event in it is acknowledged: ack
	Reject                   // the receiver refuses it: move it to the dead letters
	Split                    // too large: replace it by Result.Parts and send those
)

// String returns the outcome's name as used in logs: delivered, retry,
// rejected or split.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Reject:
		return "rejected"
	case Split:
		return "split"
	default:
		return "retry"
	}
}

// Result is the outcome of one attempt to deliver a message.
type Result struct {
	Outcome Outcome
	// Err says why the message was not delivered (Retry, Reject, Split): its
	// text is kept with the message or dead letter and shown by status, so
	// it must hold no secret. Nil when delivered.
	Err error
	// After is, for Retry, the least wait the receiver asked for (HTTP
	// Retry-After); the loop waits the longer of it and the backoff.
	After time.Duration
	// Parts replace the message for Split, in order.
	Parts []Message
	// Code is the HTTP status or the broker's error code, for logs and
	// observers; 0 when there is none (no answer).
	Code int
}

// Sender delivers one message to a receiver. Send must return when ctx
// ends; a Sender bounds its own wait for an answer (the sink's timeout).
// Send is only called from the loop's goroutine.
type Sender interface {
	Send(ctx context.Context, m *Message) Result
}

// Pipeliner is a Sender whose transport keeps order across messages in
// flight (one connection, ordered writes, e.g. a Kafka idempotent producer
// or a NATS connection): the loop starts up to Window messages before it
// waits for the first result.
type Pipeliner interface {
	Sender
	// Window is the most messages in flight (>= 1).
	Window() int
	// Start begins delivering m and returns a function that waits for its
	// Result. Messages are started in queue order; the loop calls every
	// returned wait exactly once, in order. started is false when the
	// attempt failed before all of m was handed to the transport: the loop
	// then starts no later message before it has m's result, so that no
	// later message overtakes what m did not send.
	Start(ctx context.Context, m *Message) (wait func() Result, started bool)
}

// Attempt describes one delivery attempt, for an Observer.
type Attempt struct {
	Instance string        // instance name
	Sink     string        // webhook, kafka or nats
	Message  string        // message id
	Events   int           // events in the message
	Outcome  Outcome       // what the loop did
	Code     int           // HTTP status or broker error code; 0 = none
	Took     time.Duration // from start to result
	Err      string        // why not delivered: error text or an excerpt of the receiver's answer; "" when delivered
	Attempts int           // attempts of this message so far, this one included
	Next     time.Time     // for Retry: when the message is tried again
	At       time.Time     // when the result came
	// Body is the message's body (read only; do not keep it): e.g. to read
	// the events' dates for a latency histogram.
	Body []byte
}

// Observer is called on every attempt, from the loop's goroutine, after the
// loop recorded its outcome. It must not block.
type Observer func(Attempt)

// States of the loop, as Status reports them.
const (
	StateIdle       = "idle"       // nothing queued
	StateDelivering = "delivering" // sending; the last attempt did not fail
	StateRetrying   = "retrying"   // the head of the queue failed and waits for its next attempt
)

// Status is a snapshot of a loop.
type Status struct {
	State         string
	Attempts      int       // failed attempts of the message being retried; 0 when not retrying
	NextAttempt   time.Time // when it is tried again; zero when not retrying
	FailingSince  time.Time // first failed attempt since the last delivery; zero when not failing
	LastError     string    // the last attempt's error, in full; "" after a delivery
	LastDelivered time.Time // when a message was last delivered; zero = not since start
}
