package callback

import (
	"time"

	"fmt"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// Message is a queued callback request (store.Message).
type Message = store.Message

// StoreQueue binds db to one instance's queue for a Dispatcher.
func StoreQueue(db *store.DB, name string) Queue {
	return storeQueue{db: db, name: name}
}

type storeQueue struct {
	db   *store.DB
	name string
}

func (q storeQueue) Peek(n int) ([]Message, error) { return q.db.Peek(q.name, n) }
func (q storeQueue) Ack(keys ...uint64) error      { return q.db.Ack(q.name, keys...) }
func (q storeQueue) Reject(key uint64, reason string) error {
	return q.db.Reject(q.name, key, reason)
}
func (q storeQueue) Split(key uint64, parts []Message) error {
	return q.db.Split(q.name, key, parts)
}
func (q storeQueue) Retry(key uint64, attempts int, next time.Time, lastErr string) error {
	return q.db.Retry(q.name, key, attempts, next, lastErr)
}

// SetDeliveryError stores msg as State.LastDeliveryError unless it is
// already there, so an unchanged error costs no commit.
func (q storeQueue) SetDeliveryError(msg string) error {
	st, err := q.db.State(q.name)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	if st.LastDeliveryError == msg {
		return nil
	}
	return q.db.UpdateState(q.name, func(s *store.State) error {
		s.LastDeliveryError = msg
		return nil
	})
}
