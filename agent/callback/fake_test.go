package callback

import (
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/sinktest"
)

// fakeQueue is the sinks' in-memory Queue (store semantics: FIFO, Split in
// place, Replay to the head), counting the calls the dispatcher tests look
// at and failing every Ack with failAck when it is set.
type fakeQueue struct {
	sinktest.Queue
	mu       sync.Mutex // guards the counters
	ackCalls int
	retries  int
	failAck  error
}

// add queues ms, formed by Build.
func (q *fakeQueue) add(ms ...Message) {
	for _, m := range ms {
		q.Add(deliver.Message(m))
	}
}

func (q *fakeQueue) Ack(keys ...uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failAck != nil {
		return q.failAck
	}
	q.ackCalls++
	return q.Queue.Ack(keys...)
}

func (q *fakeQueue) Retry(key uint64, attempts int, next time.Time, lastErr string) error {
	if err := q.Queue.Retry(key, attempts, next, lastErr); err != nil {
		return err
	}
	q.mu.Lock()
	q.retries++
	q.mu.Unlock()
	return nil
}

// seqCounter is a SeqTx counting from 1.
type seqCounter struct{ n uint64 }

func (s *seqCounter) NextSeq() (uint64, error) { s.n++; return s.n, nil }
