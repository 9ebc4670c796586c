package store

import (
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Instance is a configured drive as the database knows it. ID is assigned
// once (1, 2, 3, ... in order of first use) and kept for ever; it is the
// callback's instanceId and part of event ids.
type Instance struct {
	ID      uint32
	Name    string
	Created time.Time
}

// Token is an instance's OAuth token. It is a secret: never log it.
type Token struct {
	AccessToken, RefreshToken, TokenType string
	Expiry                               time.Time
}

// State is the small per-instance record the runtime reads and updates.
type State struct {
	DriveID               string // resolved drive id
	Scope                 string // fingerprint of drive+folder config; a change means re-baseline
	Baselined             bool   // initial enumeration finished at least once
	NeedsLogin            bool
	LastPoll, LastSuccess time.Time
	LastPollError         string
	LastDeliveryError     string
	Resyncs               uint64
}

// maxNameLen bounds instance names (the config allows [a-z0-9_-]+).
const maxNameLen = 200

// EnsureInstance returns the instance called name, creating it with the
// next free ID on first use. The creation is durable before it returns.
func (db *DB) EnsureInstance(name string) (Instance, error) {
	if name == "" || len(name) > maxNameLen {
		return Instance{}, fmt.Errorf("ensure instance %q: name must be 1 to %d bytes", name, maxNameLen)
	}
	var in Instance
	found := false
	err := db.View(name, func(tx *Tx) error {
		var err error
		in, err = tx.info()
		found = err == nil
		return err
	})
	if found || (err != nil && !errors.Is(err, ErrNotFound)) {
		return in, err
	}
	bdb, err := db.acquire()
	if err != nil {
		return Instance{}, err
	}
	defer db.mu.RUnlock()
	err = bdb.Update(func(btx *bolt.Tx) error {
		if b := instanceBucket(btx, name); b != nil { // created meanwhile
			tx := &Tx{btx: btx, name: name, inst: b}
			var err error
			in, err = tx.info()
			return err
		}
		meta := btx.Bucket(bktMeta)
		next, ok := keyU64(meta.Get(keyNextInstID))
		if !ok || next == 0 || next > 1<<32-1 {
			return recordError("meta", string(keyNextInstID), errors.New("bad next instance id"))
		}
		in = Instance{ID: uint32(next), Name: name, Created: time.Now().UTC()}
		if err := meta.Put(keyNextInstID, u64key(next+1)); err != nil {
			return err
		}
		b, err := btx.Bucket(bktInstances).CreateBucket([]byte(name))
		if err != nil {
			return err
		}
		for _, sub := range instanceBuckets {
			if _, err := b.CreateBucket(sub); err != nil {
				return err
			}
		}
		if err := b.Put(keyCounters, encodeCounters(newCounters())); err != nil {
			return err
		}
		return b.Put(keyInfo, encodeInstance(in))
	})
	if err != nil {
		return Instance{}, fmt.Errorf("ensure instance %q in %s: %w", name, db.path, err)
	}
	db.log.Info("store: new instance", "instance", name, "id", in.ID)
	return in, nil
}

// info reads the instance record.
func (tx *Tx) info() (Instance, error) {
	in, err := decodeInstance(tx.inst.Get(keyInfo))
	if err != nil {
		return Instance{}, recordError(tx.name, "info", err)
	}
	return in, nil
}

// Instances lists the known instances by ID.
func (db *DB) Instances() ([]Instance, error) {
	bdb, err := db.acquire()
	if err != nil {
		return nil, err
	}
	defer db.mu.RUnlock()
	var out []Instance
	err = bdb.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bktInstances).ForEachBucket(func(k []byte) error {
			in, err := decodeInstance(btx.Bucket(bktInstances).Bucket(k).Get(keyInfo))
			if err != nil {
				return recordError(string(k), "info", err)
			}
			out = append(out, in)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list instances in %s: %w", db.path, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// readRecord runs a read of one instance; an unknown instance reads as
// nothing stored (ok false, nil error).
func (db *DB) readRecord(name string, fn func(*Tx) error) (ok bool, err error) {
	err = db.View(name, fn)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Token returns the instance's saved token; ok is false when none is saved
// (also for an unknown instance).
func (db *DB) Token(name string) (t Token, ok bool, err error) {
	found := false
	_, err = db.readRecord(name, func(tx *Tx) error {
		v := tx.inst.Get(keyToken)
		if v == nil {
			return nil
		}
		found = true
		if t, err = decodeToken(v); err != nil {
			return recordError(name, "token", err)
		}
		return nil
	})
	if err != nil {
		return Token{}, false, err
	}
	return t, found, nil
}

// SaveToken stores the instance's token durably before returning
// (Microsoft rotates refresh tokens: losing one logs the instance out).
func (db *DB) SaveToken(name string, t Token) error {
	return db.update(name, func(tx *Tx) error { return tx.put(keyToken, encodeToken(t)) })
}

// DeleteToken forgets the instance's token. No error when none is stored
// or the instance is unknown.
func (db *DB) DeleteToken(name string) error {
	err := db.update(name, func(tx *Tx) error { return tx.put(keyToken, nil) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// State returns the instance's state record; the zero State when nothing
// is stored yet (also for an unknown instance).
func (db *DB) State(name string) (State, error) {
	var s State
	_, err := db.readRecord(name, func(tx *Tx) (err error) {
		s, err = tx.state()
		return err
	})
	return s, err
}

// State returns the instance's state, as DB.State, inside this
// transaction.
func (tx *Tx) State() (State, error) { return tx.state() }

func (tx *Tx) state() (State, error) {
	v := tx.inst.Get(keyState)
	if v == nil {
		return State{}, nil
	}
	s, err := decodeState(v)
	if err != nil {
		return State{}, recordError(tx.name, "state", err)
	}
	return s, nil
}

// UpdateState reads the state, lets fn change it and stores it durably, in
// one transaction. An error from fn leaves it unchanged.
func (db *DB) UpdateState(name string, fn func(*State) error) error {
	return db.update(name, func(tx *Tx) error {
		s, err := tx.state()
		if err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
		return tx.put(keyState, encodeState(s))
	})
}
