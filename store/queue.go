package store

import (
	"errors"
	"fmt"
	"time"
)

// Message is one queued callback request.
type Message struct {
	Key         uint64    // queue position, assigned by the store
	ID          string    // message id (set by the caller, stable forever)
	Events      int       // number of events in the body
	Body        []byte    // the exact bytes POSTed, fixed once formed
	Created     time.Time // when recorded (oldest queued age); Enqueue sets it when zero
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

func checkMessage(m *Message) error {
	if m.ID == "" {
		return errors.New("message without id")
	}
	if m.Events < 0 {
		return fmt.Errorf("message %s: negative event count", m.ID)
	}
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	return nil
}

// Enqueue appends msgs at the tail of the instance's queue, in order,
// assigning each a Key (written back into msgs). Keys increase with every
// append and are never reused. The records hold copies of the bodies: the
// caller may reuse a body's memory once Enqueue returns.
func (tx *Tx) Enqueue(msgs ...Message) error {
	if tx.parent != nil {
		return tx.parent.Enqueue(msgs...)
	}
	if len(msgs) == 0 {
		return nil
	}
	b, err := tx.bucket(bktQueue)
	if err != nil {
		return err
	}
	c, err := tx.counters()
	if err != nil {
		return err
	}
	b.FillPercent = 1.0 // appends only: fill pages completely
	tx.changed()
	for i := range msgs {
		m := &msgs[i]
		if err := checkMessage(m); err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		m.Key = c.Tail
		if err := b.Put(u64key(m.Key), encodeMessage(m)); err != nil {
			return fmt.Errorf("enqueue %s: %w", m.ID, err)
		}
		c.Tail++
		c.QueuedMsgs++
		c.QueuedEvents += int64(m.Events)
	}
	return nil
}

// QueuedEvents returns the number of events queued (not dead) for the
// instance, in O(1).
func (tx *Tx) QueuedEvents() (int64, error) {
	if tx.parent != nil {
		return tx.parent.QueuedEvents()
	}
	c, err := tx.counters()
	if err != nil {
		return 0, err
	}
	return c.QueuedEvents, nil
}

// queueMessage reads and decodes the message at key; ok false when absent.
func (tx *Tx) queueMessage(key uint64) (Message, bool, error) {
	b := tx.inst.Bucket(bktQueue)
	if b == nil {
		return Message{}, false, nil
	}
	v := b.Get(u64key(key))
	if v == nil {
		return Message{}, false, nil
	}
	m, err := decodeMessage(key, v)
	if err != nil {
		return Message{}, false, recordError(tx.name+"/queue", key, err)
	}
	return m, true, nil
}

// Peek returns up to n messages from the head of the instance's queue, in
// order, without removing them. An unknown instance has an empty queue.
func (db *DB) Peek(name string, n int) ([]Message, error) {
	return db.PeekSkip(name, n, nil)
}

// PeekSkip is Peek leaving out the messages whose key skip reports (e.g.
// delivered ones whose ack is not committed yet): they are neither decoded
// nor counted in n. A nil skip leaves none out.
func (db *DB) PeekSkip(name string, n int, skip func(key uint64) bool) ([]Message, error) {
	var out []Message
	_, err := db.readRecord(name, func(tx *Tx) error {
		b := tx.inst.Bucket(bktQueue)
		if b == nil || n <= 0 {
			return nil
		}
		cur := b.Cursor()
		for k, v := cur.First(); k != nil && len(out) < n; k, v = cur.Next() {
			key, ok := keyU64(k)
			if !ok {
				return recordError(name+"/queue", fmt.Sprintf("%x", k), errors.New("bad key"))
			}
			if skip != nil && skip(key) {
				continue
			}
			m, err := decodeMessage(key, v)
			if err != nil {
				return recordError(name+"/queue", key, err)
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("peek queue of %q: %w", name, err)
	}
	return out, nil
}

// Ack removes delivered messages, all in one durable transaction; unknown
// keys are ignored. When it empties the queue and the instance has no
// delta round in progress (RoundState, on the instance or one of its
// drives), it may compact the file (see Compact).
func (db *DB) Ack(name string, keys ...uint64) error {
	if len(keys) == 0 {
		return nil
	}
	empty := false
	err := db.update(name, func(tx *Tx) error {
		b := tx.inst.Bucket(bktQueue)
		if b == nil {
			return nil
		}
		c, err := tx.counters()
		if err != nil {
			return err
		}
		for _, key := range keys {
			k := u64key(key)
			v := b.Get(k)
			if v == nil {
				continue
			}
			ev, err := messageEvents(v)
			if err != nil {
				return recordError(name+"/queue", key, err)
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			c.QueuedMsgs--
			c.QueuedEvents -= int64(ev)
			tx.changed()
		}
		// A round in progress keeps its staged records and is still
		// queueing: compacting now would copy them, block the round, and
		// be repeated each time delivery catches up with it. The first
		// drain after the round compacts instead.
		empty = c.QueuedMsgs == 0 && !tx.roundInProgress()
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	if empty {
		db.autoCompact()
	}
	return nil
}

// Retry records a failed attempt of the message at key: its attempt count,
// when to try next and why it failed. ErrNotFound when key is not queued.
func (db *DB) Retry(name string, key uint64, attempts int, next time.Time, lastErr string) error {
	err := db.update(name, func(tx *Tx) error {
		m, ok, err := tx.queueMessage(key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("message %d: %w", key, ErrNotFound)
		}
		m.Attempts, m.NextAttempt, m.LastError = max(attempts, 0), next, lastErr
		tx.mut++
		return tx.inst.Bucket(bktQueue).Put(u64key(key), encodeMessage(&m))
	})
	if err != nil {
		return fmt.Errorf("retry: %w", err)
	}
	return nil
}

// Reject moves the message at key to the dead letters with reason; the
// rest of the queue goes on. ErrNotFound when key is not queued.
func (db *DB) Reject(name string, key uint64, reason string) error {
	err := db.update(name, func(tx *Tx) error {
		m, ok, err := tx.queueMessage(key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("message %d: %w", key, ErrNotFound)
		}
		dead, err := tx.bucket(bktDead)
		if err != nil {
			return err
		}
		c, err := tx.counters()
		if err != nil {
			return err
		}
		if err := tx.inst.Bucket(bktQueue).Delete(u64key(key)); err != nil {
			return err
		}
		dl := DeadLetter{Message: m, Reason: reason, Died: time.Now().UTC()}
		if err := dead.Put(u64key(key), encodeDead(&dl)); err != nil {
			return err
		}
		c.QueuedMsgs--
		c.QueuedEvents -= int64(m.Events)
		c.DeadMsgs++
		c.DeadEvents += int64(m.Events)
		tx.changed()
		return nil
	})
	if err != nil {
		return fmt.Errorf("reject: %w", err)
	}
	return nil
}

// Split replaces the message at key by parts, which take its place in the
// queue, in order (keys are assigned; a part with a zero Created gets the
// original's). It is meant for the head message, the one being delivered;
// messages in front of key, if any (a Replay since the Peek), keep their
// order but get new keys. ErrNotFound when key is not queued.
func (db *DB) Split(name string, key uint64, parts []Message) error {
	if len(parts) == 0 {
		return fmt.Errorf("split message %d: no parts", key)
	}
	err := db.update(name, func(tx *Tx) error {
		old, ok, err := tx.queueMessage(key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("message %d: %w", key, ErrNotFound)
		}
		b := tx.inst.Bucket(bktQueue)
		c, err := tx.counters()
		if err != nil {
			return err
		}
		// Messages in front of key, normally none.
		var front [][]byte
		cur := b.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if kk, _ := keyU64(k); kk >= key {
				break
			}
			front = append(front, clone(v))
		}
		for range front {
			k, _ := b.Cursor().First()
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		if err := b.Delete(u64key(key)); err != nil {
			return err
		}
		n := uint64(len(front) + len(parts))
		if c.Low <= n {
			return errors.New("queue key space exhausted at the head")
		}
		next := c.Low - n
		c.Low = next
		for _, v := range front {
			if err := b.Put(u64key(next), v); err != nil {
				return err
			}
			next++
		}
		events := 0
		for i := range parts {
			p := parts[i]
			if p.Created.IsZero() {
				p.Created = old.Created
			}
			if err := checkMessage(&p); err != nil {
				return err
			}
			p.Key = next
			if err := b.Put(u64key(next), encodeMessage(&p)); err != nil {
				return err
			}
			next++
			events += p.Events
		}
		c.QueuedMsgs += int64(len(parts)) - 1
		c.QueuedEvents += int64(events - old.Events)
		tx.changed()
		return nil
	})
	if err != nil {
		return fmt.Errorf("split: %w", err)
	}
	return nil
}
