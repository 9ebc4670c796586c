package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Sub-buckets and keys inside an instance's bucket.
var (
	bktIndex    = []byte("index")    // item id → Item
	bktChildren = []byte("children") // uvarint len(parent) | parent | child → empty
	bktStaged   = []byte("staged")   // item id → opaque record
	bktPending  = []byte("pending")  // caller key → opaque record
	bktQueue    = []byte("queue")    // 8-byte big-endian key → Message
	bktDead     = []byte("dead")     // original queue key → DeadLetter

	keyInfo     = []byte("info")
	keyState    = []byte("state")
	keyToken    = []byte("token")
	keyCursor   = []byte("cursor")
	keyRound    = []byte("round")
	keyCounters = []byte("counters")

	instanceBuckets = [][]byte{bktIndex, bktChildren, bktStaged, bktPending, bktQueue, bktDead}
)

// Tx is a transaction scoped to one instance, given to the function passed
// to DB.Update or DB.View. It must not be used after that function returns
// nor from another goroutine. Every value it returns is a copy that stays
// valid after the transaction.
type Tx struct {
	btx  *bolt.Tx
	name string
	inst *bolt.Bucket

	c       counters
	cLoaded bool
	cDirty  bool
	mut     uint64 // bumped by every write, so iterations re-seek

	parent *Tx            // set on a drive's view (drive.go): the instance's transaction
	views  map[string]*Tx // the drive views opened in this transaction, by drive key

	cursors []bucketCursor // for get
}

// bucketCursor is a cursor kept for point reads of one bucket.
type bucketCursor struct {
	b *bolt.Bucket
	c *bolt.Cursor
}

// lookup returns the record of id in the instance's bucket (through get);
// nil when id is empty or the bucket or the record is absent.
func (tx *Tx) lookup(bucket []byte, id string) []byte {
	b := tx.inst.Bucket(bucket)
	if b == nil || id == "" {
		return nil
	}
	return tx.get(b, []byte(id))
}

// get returns the value of key in b (nil when absent), like b.Get, but
// through a cursor kept per bucket for the transaction: bbolt's Get builds
// a new cursor, and grows its stack, at every call, and a round reads
// several keys per item. A Seek starts from the bucket's root each time,
// so writes between reads do not matter; a bucket deleted and created
// again is a new *bolt.Bucket, with a cursor of its own.
func (tx *Tx) get(b *bolt.Bucket, key []byte) []byte {
	var c *bolt.Cursor
	for i := range tx.cursors {
		if tx.cursors[i].b == b {
			c = tx.cursors[i].c
			break
		}
	}
	if c == nil {
		c = b.Cursor()
		tx.cursors = append(tx.cursors, bucketCursor{b, c})
	}
	k, v := c.Seek(key)
	if v == nil || !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// Update runs fn in one read-write transaction on instance name and commits
// it durably (one fsync) when fn returns nil; any error rolls everything
// back. Update transactions of all instances serialize. fn must not call
// methods of db. The instance must exist (EnsureInstance): otherwise the
// error matches ErrNotFound. A failed commit is returned wrapped
// (IsDiskFull tells a full disk).
func (db *DB) Update(name string, fn func(*Tx) error) error {
	return db.update(name, fn)
}

// View runs fn in a read-only transaction on instance name: a consistent
// snapshot, concurrent with other Views and with one Update. The instance
// must exist (ErrNotFound otherwise).
func (db *DB) View(name string, fn func(*Tx) error) error {
	bdb, err := db.acquire()
	if err != nil {
		return err
	}
	defer db.mu.RUnlock()
	var fnErr error
	err = bdb.View(func(btx *bolt.Tx) error {
		tx, err := db.begin(btx, name)
		if err != nil {
			return err
		}
		fnErr = fn(tx)
		return fnErr
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("read instance %q: %w", name, err)
	}
	return err
}

func (db *DB) update(name string, fn func(*Tx) error) error {
	bdb, err := db.acquire()
	if err != nil {
		return err
	}
	defer db.mu.RUnlock()
	var fnErr error
	err = bdb.Update(func(btx *bolt.Tx) error {
		setGrowth(bdb, btx.Size())
		tx, err := db.begin(btx, name)
		if err != nil {
			return err
		}
		if fnErr = fn(tx); fnErr != nil {
			return fnErr
		}
		return tx.flush()
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("update instance %q in %s: %w", name, db.path, err)
	}
	return err
}

// begin wraps btx for the instance; ErrNotFound when it does not exist.
func (db *DB) begin(btx *bolt.Tx, name string) (*Tx, error) {
	inst := instanceBucket(btx, name)
	if inst == nil {
		return nil, fmt.Errorf("instance %q is not known to database %s: %w", name, db.path, ErrNotFound)
	}
	return &Tx{btx: btx, name: name, inst: inst}, nil
}

func instanceBucket(btx *bolt.Tx, name string) *bolt.Bucket {
	all := btx.Bucket(bktInstances)
	if all == nil || name == "" {
		return nil
	}
	return all.Bucket([]byte(name))
}

// counters returns the instance's counters, loaded once per transaction.
func (tx *Tx) counters() (*counters, error) {
	if !tx.cLoaded {
		v := tx.inst.Get(keyCounters)
		if v == nil {
			tx.c = newCounters()
		} else {
			c, err := decodeCounters(v)
			if err != nil {
				return nil, recordError(tx.name, "counters", err)
			}
			tx.c = c
		}
		tx.cLoaded = true
	}
	return &tx.c, nil
}

// changed marks the counters for writing at commit.
func (tx *Tx) changed() {
	tx.cDirty = true
	tx.mut++
}

// flush writes the counters if they changed.
func (tx *Tx) flush() error {
	if err := tx.flushViews(); err != nil {
		return err
	}
	if !tx.cDirty {
		return nil
	}
	tx.cDirty = false
	return tx.inst.Put(keyCounters, encodeCounters(tx.c))
}

// bucket returns a sub-bucket of the instance; in a read-only transaction
// a missing bucket is nil (read as empty), in a writable one it is created.
func (tx *Tx) bucket(name []byte) (*bolt.Bucket, error) {
	if b := tx.inst.Bucket(name); b != nil || !tx.btx.Writable() {
		return b, nil
	}
	b, err := tx.inst.CreateBucket(name)
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return b, nil
}

// put writes a key in the instance bucket itself.
func (tx *Tx) put(key, val []byte) error {
	tx.mut++
	if val == nil {
		return tx.inst.Delete(key)
	}
	return tx.inst.Put(key, val)
}

// clearBucket deletes and recreates a sub-bucket.
func (tx *Tx) clearBucket(name []byte) error {
	tx.mut++
	if tx.inst.Bucket(name) != nil {
		if err := tx.inst.DeleteBucket(name); err != nil {
			return fmt.Errorf("clear %s: %w", name, err)
		}
	}
	_, err := tx.inst.CreateBucket(name)
	return err
}

// iterate calls visit for the keys of a sub-bucket from start (excluded
// when exclusive and present) that begin with prefix. visit gets views into
// the database and must copy what it keeps. When visit (through the user's
// callback) writes to the transaction, the cursor is re-seeked after the
// last key, so deletes during iteration never skip a key. Stop from visit
// ends the iteration without error.
func (tx *Tx) iterate(bucket, start []byte, exclusive bool, prefix []byte, visit func(k, v []byte) error) error {
	b := tx.inst.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	k, v := c.Seek(start)
	if exclusive && k != nil && bytes.Equal(k, start) {
		k, v = c.Next()
	}
	var last []byte
	for k != nil && bytes.HasPrefix(k, prefix) {
		last = append(last[:0], k...)
		m := tx.mut
		if err := visit(k, v); err != nil {
			if err == Stop {
				return nil
			}
			return err
		}
		if tx.mut == m {
			k, v = c.Next()
			continue
		}
		if b = tx.inst.Bucket(bucket); b == nil {
			return nil
		}
		c = b.Cursor()
		if k, v = c.Seek(last); k != nil && bytes.Equal(k, last) {
			k, v = c.Next()
		}
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
