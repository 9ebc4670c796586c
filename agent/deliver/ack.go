package deliver

import (
	"fmt"
	"sync"
)

// acker commits delivered messages' acks in the background, so sending goes
// on while a commit (an fsync) runs. The loop hands keys over with
// commit and learns which are durable through drain; wait blocks until
// every handed-over key is committed. An ack lost in a crash only means a
// redelivery with the same id and bytes.
type acker struct {
	q    Queue
	name string

	mu        sync.Mutex
	pending   []uint64 // handed over, not yet being committed
	confirmed []uint64 // committed, not yet drained by the loop
	err       error    // first failed commit; sticky

	wake      chan struct{} // pending has keys
	committed chan struct{} // a commit finished
	stop      chan struct{}
	done      chan struct{}
}

func startAcker(q Queue, name string) *acker {
	a := &acker{q: q, name: name, wake: make(chan struct{}, 1), committed: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	return a
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (a *acker) loop() {
	defer close(a.done)
	for {
		select {
		case <-a.wake:
		case <-a.stop:
			return
		}
		a.mu.Lock()
		keys := a.pending
		a.pending = nil
		failed := a.err != nil
		a.mu.Unlock()
		if len(keys) == 0 || failed {
			signal(a.committed)
			continue
		}
		err := a.q.Ack(keys...)
		a.mu.Lock()
		if err != nil {
			a.err = fmt.Errorf("instance %s: ack delivered messages: %w", a.name, err)
		} else {
			a.confirmed = append(a.confirmed, keys...)
		}
		a.mu.Unlock()
		signal(a.committed)
	}
}

// commit hands keys over for a background commit. keys may be reused by
// the caller afterwards.
func (a *acker) commit(keys []uint64) {
	if len(keys) == 0 {
		return
	}
	a.mu.Lock()
	a.pending = append(a.pending, keys...)
	a.mu.Unlock()
	signal(a.wake)
}

// drain calls fn for each key committed since the last drain and returns
// the first commit error.
func (a *acker) drain(fn func(uint64)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range a.confirmed {
		fn(k)
	}
	a.confirmed = a.confirmed[:0]
	return a.err
}

// wait blocks until every key handed over is committed (or a commit
// failed), calling fn for each as drain does.
func (a *acker) wait(fn func(uint64), outstanding func() int) error {
	for {
		if err := a.drain(fn); err != nil {
			return err
		}
		if outstanding() == 0 {
			return nil
		}
		signal(a.wake)
		<-a.committed
	}
}

// close stops the goroutine; call it after wait.
func (a *acker) close() {
	close(a.stop)
	<-a.done
}
