package store

import (
	"errors"
	"fmt"
)

// Cursor returns the delta link of the last applied round ("" = none).
func (tx *Tx) Cursor() (string, error) {
	return string(tx.inst.Get(keyCursor)), nil
}

// SetCursor stores the delta link; "" forgets it (the next round starts a
// full enumeration).
func (tx *Tx) SetCursor(link string) error {
	if link == "" {
		return tx.put(keyCursor, nil)
	}
	return tx.put(keyCursor, []byte(link))
}

// RoundState returns a copy of the round record kept by agent/delta; nil
// when no round is in progress.
func (tx *Tx) RoundState() ([]byte, error) {
	return clone(tx.inst.Get(keyRound)), nil
}

// roundInProgress reports whether the instance, or one of its drives, has a
// round state (a delta round in progress).
func (tx *Tx) roundInProgress() bool {
	if tx.inst.Get(keyRound) != nil {
		return true
	}
	all := tx.inst.Bucket(bktDrives)
	if all == nil {
		return false
	}
	found := false
	_ = all.ForEachBucket(func(k []byte) error {
		if b := all.Bucket(k); b != nil && b.Get(keyRound) != nil {
			found = true
			return Stop
		}
		return nil
	})
	return found
}

// SetRoundState stores the round record; nil (or empty) deletes it.
func (tx *Tx) SetRoundState(b []byte) error {
	if len(b) == 0 {
		return tx.put(keyRound, nil)
	}
	return tx.put(keyRound, clone(b)) // bbolt keeps the slice until commit
}

// PutStaged stores the staged record of an item id; the last write wins.
// The transaction keeps rec until it ends: the caller must not change it
// afterwards (records are written once, so none is copied).
func (tx *Tx) PutStaged(id string, rec []byte) error {
	if id == "" {
		return errors.New("put staged: empty id")
	}
	b, err := tx.bucket(bktStaged)
	if err != nil {
		return err
	}
	c, err := tx.counters()
	if err != nil {
		return err
	}
	if tx.get(b, []byte(id)) == nil {
		c.Staged++
	}
	tx.changed()
	if err := b.Put([]byte(id), rec); err != nil {
		return fmt.Errorf("put staged %q: %w", id, err)
	}
	return nil
}

// Staged returns the staged record of id. The record shares the
// transaction's memory: it stays valid until the transaction ends, later
// writes included, and must not be changed.
func (tx *Tx) Staged(id string) ([]byte, bool, error) {
	v := tx.lookup(bktStaged, id)
	if v == nil {
		return nil, false, nil
	}
	return v, true, nil
}

// HasStaged reports whether id has a staged record.
func (tx *Tx) HasStaged(id string) (bool, error) {
	return tx.lookup(bktStaged, id) != nil, nil
}

// ForEachStaged calls fn with the staged records whose id is greater than
// after ("" for all), in id order. Like Staged's, the records share the
// transaction's memory until it ends. fn may return Stop, and may write.
func (tx *Tx) ForEachStaged(after string, fn func(id string, rec []byte) error) error {
	return tx.iterate(bktStaged, []byte(after), true, nil, func(k, v []byte) error {
		return fn(string(k), v)
	})
}

// StagedCount returns the number of staged records, in O(1).
func (tx *Tx) StagedCount() (int, error) {
	c, err := tx.counters()
	if err != nil {
		return 0, err
	}
	return int(c.Staged), nil
}

// ClearStaged removes every staged record.
func (tx *Tx) ClearStaged() error {
	c, err := tx.counters()
	if err != nil {
		return err
	}
	if err := tx.clearBucket(bktStaged); err != nil {
		return err
	}
	c.Staged = 0
	tx.changed()
	return nil
}

// PutPending stores rec under key in the ordered scratch space (for
// sorting a round's events); keys order bytewise. The transaction keeps
// key and rec until it ends: the caller must not change them afterwards.
func (tx *Tx) PutPending(key, rec []byte) error {
	if len(key) == 0 {
		return errors.New("put pending: empty key")
	}
	b, err := tx.bucket(bktPending)
	if err != nil {
		return err
	}
	tx.mut++
	if err := b.Put(key, rec); err != nil {
		return fmt.Errorf("put pending: %w", err)
	}
	return nil
}

// ForEachPending calls fn with the pending records whose key is greater than
// after (nil for all), in key order. Keys and records share the
// transaction's memory until it ends (a key kept past fn's next write is
// still valid, never changed). fn may return Stop, and may write (for
// example DeletePending of the key it got).
func (tx *Tx) ForEachPending(after []byte, fn func(key, rec []byte) error) error {
	return tx.iterate(bktPending, after, true, nil, func(k, v []byte) error {
		return fn(k, v)
	})
}

// DeletePending removes one pending record (no error when absent).
func (tx *Tx) DeletePending(key []byte) error {
	b := tx.inst.Bucket(bktPending)
	if b == nil || len(key) == 0 {
		return nil
	}
	tx.mut++
	return b.Delete(key)
}

// ClearPending removes every pending record.
func (tx *Tx) ClearPending() error { return tx.clearBucket(bktPending) }

// NextSeq returns the instance's next sequence number: strictly
// increasing, starting at 1, never reused (also across crashes, as it
// commits with the transaction that used it). Event and message ids are
// built from it.
func (tx *Tx) NextSeq() (uint64, error) {
	if tx.parent != nil {
		return tx.parent.NextSeq()
	}
	if !tx.btx.Writable() {
		return 0, errors.New("next seq: read-only transaction")
	}
	c, err := tx.counters()
	if err != nil {
		return 0, err
	}
	c.Seq++
	tx.changed()
	return c.Seq, nil
}
