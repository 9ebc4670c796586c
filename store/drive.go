package store

import (
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// bktDrives holds, inside an instance that watches many drives, one bucket per drive keyed by
// the drive id in lower case (Graph compares drive ids case-insensitively). Each drive bucket
// has its own index, children, staged and pending buckets and its own cursor, round state and
// counters; the queue, the dead letters, the token, the state and the event sequence stay the
// instance's.
var bktDrives = []byte("drives")

// driveBuckets are the sub-buckets of a drive bucket.
var driveBuckets = [][]byte{bktIndex, bktChildren, bktStaged, bktPending}

// maxDriveIDLen bounds a drive id (Graph's are about 66 characters).
const maxDriveIDLen = 256

// Drive returns a view of the transaction scoped to one drive of the instance: Item, PutItem,
// Children, the cursor, the round state, the staged and pending records and their counts are
// the drive's, while Enqueue, QueuedEvents and NextSeq are the instance's (one queue and one
// event sequence for all its drives). In a writable transaction the drive's buckets are
// created on first use; in a read-only one a drive without state is ErrNotFound. The view is
// valid only inside the enclosing transaction, and asking twice for one drive returns the same
// view.
func (tx *Tx) Drive(driveID string) (*Tx, error) {
	if tx.parent != nil {
		return nil, errors.New("drive: a drive has no drives")
	}
	key := strings.ToLower(driveID)
	if key == "" || len(key) > maxDriveIDLen {
		return nil, fmt.Errorf("drive %q: the id must be 1 to %d bytes", driveID, maxDriveIDLen)
	}
	if v := tx.views[key]; v != nil {
		return v, nil
	}
	b, err := tx.driveBucket(key)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("drive %q of instance %q has no state: %w", driveID, tx.name, ErrNotFound)
	}
	v := &Tx{btx: tx.btx, name: tx.name + " drive " + driveID, inst: b, parent: tx}
	if tx.views == nil {
		tx.views = map[string]*Tx{}
	}
	tx.views[key] = v
	return v, nil
}

// driveBucket returns the bucket of a drive, creating it in a writable transaction; nil when
// it does not exist in a read-only one.
func (tx *Tx) driveBucket(key string) (*bolt.Bucket, error) {
	all := tx.inst.Bucket(bktDrives)
	if all != nil {
		if b := all.Bucket([]byte(key)); b != nil || !tx.btx.Writable() {
			return b, nil
		}
	}
	if !tx.btx.Writable() {
		return nil, nil
	}
	all, err := tx.inst.CreateBucketIfNotExists(bktDrives)
	if err != nil {
		return nil, fmt.Errorf("create drives bucket: %w", err)
	}
	b, err := all.CreateBucket([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("create drive bucket: %w", err)
	}
	for _, sub := range driveBuckets {
		if _, err := b.CreateBucket(sub); err != nil {
			return nil, fmt.Errorf("create drive bucket: %w", err)
		}
	}
	if err := b.Put(keyCounters, encodeCounters(newCounters())); err != nil {
		return nil, err
	}
	return b, nil
}

// DropDrive deletes everything the instance keeps for a drive: its index, cursor, round and
// staged and pending records. Queued events of the drive stay queued. Dropping a drive without
// state does nothing.
func (tx *Tx) DropDrive(driveID string) error {
	if tx.parent != nil {
		return errors.New("drop drive: a drive has no drives")
	}
	key := strings.ToLower(driveID)
	delete(tx.views, key)
	all := tx.inst.Bucket(bktDrives)
	if all == nil || all.Bucket([]byte(key)) == nil {
		return nil
	}
	tx.mut++
	if err := all.DeleteBucket([]byte(key)); err != nil {
		return fmt.Errorf("drop drive %q: %w", driveID, err)
	}
	return nil
}

// DriveIDs returns the (lower-case) ids of the drives that have state, sorted.
func (tx *Tx) DriveIDs() ([]string, error) {
	all := tx.inst.Bucket(bktDrives)
	if all == nil {
		return nil, nil
	}
	var ids []string
	err := all.ForEachBucket(func(k []byte) error {
		ids = append(ids, string(k))
		return nil
	})
	return ids, err
}

// flushViews writes the counters of the drive views used in the transaction.
func (tx *Tx) flushViews() error {
	for _, v := range tx.views {
		if err := v.flush(); err != nil {
			return err
		}
	}
	return nil
}

// verifyDrives checks every drive of the instance like an instance, with an empty queue.
func (tx *Tx) verifyDrives() []error {
	all := tx.inst.Bucket(bktDrives)
	if all == nil {
		return nil
	}
	var problems []error
	_ = all.ForEachBucket(func(k []byte) error {
		v := &Tx{btx: tx.btx, name: tx.name + " drive " + string(k), inst: all.Bucket(k), parent: tx}
		stored, err := v.counters()
		if err != nil {
			problems = append(problems, err)
			return nil
		}
		n, ps := v.recount()
		problems = append(problems, ps...)
		if n != *stored {
			problems = append(problems, fmt.Errorf("instance %q: counters %+v, recount %+v", v.name, *stored, n))
		}
		return nil
	})
	return problems
}

// keyDriveList holds the drive list of an instance that watches many drives, as its runtime
// encodes it.
var keyDriveList = []byte("drivelist")

// DriveList returns the instance's drive list as last saved by SetDriveList (nil if never).
func (tx *Tx) DriveList() ([]byte, error) {
	if tx.parent != nil {
		return nil, errors.New("drive list: not on a drive")
	}
	return clone(tx.inst.Get(keyDriveList)), nil
}

// SetDriveList saves the instance's drive list; nil deletes it.
func (tx *Tx) SetDriveList(b []byte) error {
	if tx.parent != nil {
		return errors.New("set drive list: not on a drive")
	}
	return tx.put(keyDriveList, b)
}
