package store

import (
	"fmt"
	"time"
)

// DeadLetter is a message the receiver rejected, kept until replayed or
// purged.
type DeadLetter struct {
	Message
	Reason string
	Died   time.Time
}

// Stats are an instance's queue figures, read in O(1).
type Stats struct {
	QueuedMessages, QueuedEvents int64
	DeadMessages, DeadEvents     int64
	Oldest                       time.Time // Created of the head message; zero when empty
}

// Dead returns the instance's dead letters in queue order.
func (db *DB) Dead(name string) ([]DeadLetter, error) {
	var out []DeadLetter
	_, err := db.readRecord(name, func(tx *Tx) error {
		return tx.forEachDead(func(dl DeadLetter) error {
			out = append(out, dl)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters of %q: %w", name, err)
	}
	return out, nil
}

func (tx *Tx) forEachDead(fn func(DeadLetter) error) error {
	return tx.iterate(bktDead, nil, false, nil, func(k, v []byte) error {
		key, _ := keyU64(k)
		dl, err := decodeDead(key, v)
		if err != nil {
			return recordError(tx.name+"/dead", key, err)
		}
		return fn(dl)
	})
}

// selectDead returns the dead letters whose id is in ids (all when ids is
// empty), in queue order.
func (tx *Tx) selectDead(ids []string) ([]DeadLetter, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []DeadLetter
	err := tx.forEachDead(func(dl DeadLetter) error {
		if len(ids) == 0 || want[dl.ID] {
			out = append(out, dl)
		}
		return nil
	})
	return out, err
}

// Replay puts dead letters back at the HEAD of the queue, in their queue
// order, ahead of everything queued, with their attempts reset. No ids
// means all; unknown ids are ignored. It returns how many were replayed.
func (db *DB) Replay(name string, ids ...string) (int, error) {
	n := 0
	err := db.update(name, func(tx *Tx) error {
		dls, err := tx.selectDead(ids)
		if err != nil || len(dls) == 0 {
			return err
		}
		c, err := tx.counters()
		if err != nil {
			return err
		}
		q, err := tx.bucket(bktQueue)
		if err != nil {
			return err
		}
		if c.Low <= uint64(len(dls)) {
			return fmt.Errorf("queue key space exhausted at the head")
		}
		next := c.Low - uint64(len(dls))
		c.Low = next
		dead := tx.inst.Bucket(bktDead)
		for _, dl := range dls {
			if err := dead.Delete(u64key(dl.Key)); err != nil {
				return err
			}
			m := dl.Message
			m.Key, m.Attempts, m.NextAttempt, m.LastError = next, 0, time.Time{}, ""
			if err := q.Put(u64key(next), encodeMessage(&m)); err != nil {
				return err
			}
			next++
			c.DeadMsgs--
			c.DeadEvents -= int64(m.Events)
			c.QueuedMsgs++
			c.QueuedEvents += int64(m.Events)
		}
		tx.changed()
		n = len(dls)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("replay dead letters of %q: %w", name, err)
	}
	return n, nil
}

// Purge deletes dead letters for good. No ids means all; unknown ids are
// ignored. It returns how many were deleted.
func (db *DB) Purge(name string, ids ...string) (int, error) {
	n := 0
	err := db.update(name, func(tx *Tx) error {
		dls, err := tx.selectDead(ids)
		if err != nil || len(dls) == 0 {
			return err
		}
		c, err := tx.counters()
		if err != nil {
			return err
		}
		dead := tx.inst.Bucket(bktDead)
		for _, dl := range dls {
			if err := dead.Delete(u64key(dl.Key)); err != nil {
				return err
			}
			c.DeadMsgs--
			c.DeadEvents -= int64(dl.Events)
		}
		tx.changed()
		n = len(dls)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge dead letters of %q: %w", name, err)
	}
	if n > 0 {
		db.autoCompact()
	}
	return n, nil
}

// Stats returns the instance's queue figures; zero for an unknown instance.
func (db *DB) Stats(name string) (Stats, error) {
	var s Stats
	_, err := db.readRecord(name, func(tx *Tx) (err error) {
		s, err = tx.Stats()
		return err
	})
	if err != nil {
		return Stats{}, fmt.Errorf("queue stats of %q: %w", name, err)
	}
	return s, nil
}

// Stats returns the instance's queue figures, as DB.Stats, inside this
// transaction.
func (tx *Tx) Stats() (Stats, error) {
	c, err := tx.counters()
	if err != nil {
		return Stats{}, err
	}
	s := Stats{QueuedMessages: c.QueuedMsgs, QueuedEvents: c.QueuedEvents,
		DeadMessages: c.DeadMsgs, DeadEvents: c.DeadEvents}
	if b := tx.inst.Bucket(bktQueue); b != nil {
		if k, v := b.Cursor().First(); k != nil {
			key, _ := keyU64(k)
			m, err := decodeMessage(key, v)
			if err != nil {
				return Stats{}, recordError(tx.name+"/queue", key, err)
			}
			s.Oldest = m.Created
		}
	}
	return s, nil
}
