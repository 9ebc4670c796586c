package callback

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
)

// fakeQueue is an in-memory Queue with the store's semantics: FIFO by
// position, Split in place, Replay to the head.
type fakeQueue struct {
	mu       sync.Mutex
	next     uint64
	msgs     []deliver.Message
	dead     []deliver.Message
	reasons  []string
	stateErr string
	stateN   int // SetDeliveryError calls
	ackCalls int
	retries  int
	failAck  error
}

func (q *fakeQueue) add(ms ...Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range ms {
		q.next++
		m.Key = q.next
		q.msgs = append(q.msgs, deliver.Message(m))
	}
}

func (q *fakeQueue) Peek(n int) ([]deliver.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, len(q.msgs))
	return slices.Clone(q.msgs[:n]), nil
}

func (q *fakeQueue) Ack(keys ...uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAck != nil {
		return q.failAck
	}
	q.ackCalls++
	q.msgs = slices.DeleteFunc(q.msgs, func(m deliver.Message) bool { return slices.Contains(keys, m.Key) })
	return nil
}

func (q *fakeQueue) index(key uint64) (int, error) {
	for i, m := range q.msgs {
		if m.Key == key {
			return i, nil
		}
	}
	return 0, fmt.Errorf("key %d: not found", key)
}

func (q *fakeQueue) Retry(key uint64, attempts int, next time.Time, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.index(key)
	if err != nil {
		return err
	}
	q.retries++
	q.msgs[i].Attempts, q.msgs[i].NextAttempt, q.msgs[i].LastError = attempts, next, lastErr
	return nil
}

func (q *fakeQueue) Reject(key uint64, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.index(key)
	if err != nil {
		return err
	}
	q.dead = append(q.dead, q.msgs[i])
	q.reasons = append(q.reasons, reason)
	q.msgs = slices.Delete(q.msgs, i, i+1)
	return nil
}

func (q *fakeQueue) Split(key uint64, parts []deliver.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, err := q.index(key)
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

func (q *fakeQueue) SetDeliveryError(msg string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stateErr = msg
	q.stateN++
	return nil
}

// replay moves every dead letter back to the head, in order.
func (q *fakeQueue) replay() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.dead {
		q.next++
		q.dead[i].Key = q.next
		q.dead[i].Attempts, q.dead[i].NextAttempt = 0, time.Time{}
	}
	q.msgs = append(q.dead, q.msgs...)
	q.dead, q.reasons = nil, nil
}

func (q *fakeQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// seqCounter is a SeqTx counting from 1.
type seqCounter struct{ n uint64 }

func (s *seqCounter) NextSeq() (uint64, error) { s.n++; return s.n, nil }
