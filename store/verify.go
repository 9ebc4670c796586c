package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Verify reads the whole database and reports every inconsistency it
// finds: bbolt page-level damage, records that do not decode, counters that
// differ from a recount, queue keys outside the recorded bounds, and
// children entries out of step with the index. It takes time proportional
// to the file; it is meant for diagnostics and tests, not for every start.
func (db *DB) Verify() error {
	bdb, err := db.acquire()
	if err != nil {
		return err
	}
	defer db.mu.RUnlock()
	var problems []error
	err = bdb.View(func(btx *bolt.Tx) error {
		for cerr := range btx.Check() {
			problems = append(problems, fmt.Errorf("bbolt: %w", cerr))
		}
		return btx.Bucket(bktInstances).ForEachBucket(func(k []byte) error {
			tx := &Tx{btx: btx, name: string(k), inst: btx.Bucket(bktInstances).Bucket(k)}
			problems = append(problems, tx.verify()...)
			return nil
		})
	})
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("verify store %s: %w", db.path, errors.Join(problems...))
	}
	return nil
}

// recount counts the instance's records the slow way. Sequence and key
// bounds are copied from the stored counters.
func (tx *Tx) recount() (counters, []error) {
	var problems []error
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("instance %q: "+format, append([]any{tx.name}, args...)...))
	}
	stored, err := tx.counters()
	if err != nil {
		return counters{}, []error{err}
	}
	n := counters{Seq: stored.Seq, Tail: stored.Tail, Low: stored.Low}
	_ = tx.iterate(bktQueue, nil, false, nil, func(k, v []byte) error {
		key, ok := keyU64(k)
		m, err := decodeMessage(key, v)
		switch {
		case !ok:
			report("queue key %x is not 8 bytes", k)
		case err != nil:
			report("queue record %d: %v", key, err)
		case key < stored.Low || key >= stored.Tail:
			report("queue key %d outside [%d, %d)", key, stored.Low, stored.Tail)
		}
		n.QueuedMsgs++
		n.QueuedEvents += int64(m.Events)
		return nil
	})
	_ = tx.iterate(bktDead, nil, false, nil, func(k, v []byte) error {
		key, _ := keyU64(k)
		dl, err := decodeDead(key, v)
		if err != nil {
			report("dead record %d: %v", key, err)
		}
		n.DeadMsgs++
		n.DeadEvents += int64(dl.Events)
		return nil
	})
	_ = tx.iterate(bktIndex, nil, false, nil, func(k, v []byte) error {
		it, err := decodeItem(v)
		switch {
		case err != nil:
			report("item %q: %v", k, err)
		case it.ID != string(k):
			report("item %q holds id %q", k, it.ID)
		case tx.inst.Bucket(bktChildren).Get(childKey(it.ParentID, it.ID)) == nil:
			report("item %q has no children entry under %q", k, it.ParentID)
		}
		n.Items++
		return nil
	})
	children := int64(0)
	_ = tx.iterate(bktChildren, nil, false, nil, func(k, v []byte) error {
		children++
		return nil
	})
	if children != n.Items {
		report("%d children entries for %d items", children, n.Items)
	}
	_ = tx.iterate(bktStaged, nil, false, nil, func(k, v []byte) error {
		n.Staged++
		return nil
	})
	return n, problems
}

func (tx *Tx) verify() []error {
	stored, err := tx.counters()
	if err != nil {
		return []error{err}
	}
	n, problems := tx.recount()
	if n != *stored {
		problems = append(problems, fmt.Errorf("instance %q: counters %+v, recount %+v", tx.name, *stored, n))
	}
	if _, err := tx.info(); err != nil {
		problems = append(problems, err)
	}
	return append(problems, tx.verifyDrives()...)
}
