// Package instore is one instance's handle on the database: the single
// value that binds an instance name to a *store.DB and gives each part of
// the runtime the view it needs: the delta round's transactions
// (delta.DB), the delivery loop's queue (deliver.Queue), the Graph
// client's token (connector.TokenStore), and the round's emit path (Tx,
// which queues formed messages).
package instore

import (
	"errors"
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Handle is one instance's part of the database.
type Handle struct {
	db   *store.DB
	name string
	// committed is called after a transaction that queued events committed,
	// with the number of events by type; nil = not counted.
	committed func(events map[string]int)
}

var (
	_ delta.DB             = (*Handle)(nil)
	_ deliver.Queue        = (*Handle)(nil)
	_ deliver.Skipper      = (*Handle)(nil)
	_ connector.TokenStore = (*Handle)(nil)
	_ delta.Tx             = (*Tx)(nil)
)

// New returns the handle of instance name in db. committed, when not nil,
// learns the events of every committed transaction that queued some (the
// events metric counts only what became durable).
func New(db *store.DB, name string, committed func(events map[string]int)) *Handle {
	return &Handle{db: db, name: name, committed: committed}
}

// Tx is a read-write transaction of a round: the store's transaction, plus
// the counting of the events it queues.
type Tx struct {
	*store.Tx
	counts map[string]int
}

// Count records that events were queued in this transaction, for the
// committed callback.
func (tx *Tx) Count(events []delta.Event) {
	if tx.counts == nil {
		tx.counts = map[string]int{}
	}
	for _, e := range events {
		tx.counts[e.Type]++
	}
}

// Update runs fn in one durable transaction of the instance; fn's Tx is a
// *Tx.
func (h *Handle) Update(fn func(delta.Tx) error) error {
	var tx Tx
	err := h.db.Update(h.name, func(stx *store.Tx) error {
		tx = Tx{Tx: stx}
		return fn(&tx)
	})
	if err == nil && len(tx.counts) > 0 && h.committed != nil {
		h.committed(tx.counts)
	}
	return err
}

// View runs fn in a read-only transaction of the instance.
func (h *Handle) View(fn func(delta.Tx) error) error {
	return h.db.View(h.name, func(stx *store.Tx) error { return fn(&Tx{Tx: stx}) })
}

// State returns the instance's state.
func (h *Handle) State() (store.State, error) { return h.db.State(h.name) }

// UpdateState changes the instance's state in one transaction.
func (h *Handle) UpdateState(fn func(*store.State) error) error { return h.db.UpdateState(h.name, fn) }

// LoadToken implements connector.TokenStore.
func (h *Handle) LoadToken() (connector.Token, bool, error) {
	tok, ok, err := h.db.Token(h.name)
	if err != nil || !ok {
		return connector.Token{}, ok, err
	}
	return connector.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry}, true, nil
}

// SaveToken implements connector.TokenStore: the token is durable before
// it returns, so a refresh token Microsoft rotated in is never lost.
func (h *Handle) SaveToken(tok connector.Token) error {
	return h.db.SaveToken(h.name, store.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry})
}

// Peek implements deliver.Queue.
func (h *Handle) Peek(n int) ([]deliver.Message, error) { return h.PeekSkip(n, nil) }

// PeekSkip implements deliver.Skipper: the messages skip reports are not
// read.
func (h *Handle) PeekSkip(n int, skip func(key uint64) bool) ([]deliver.Message, error) {
	ms, err := h.db.PeekSkip(h.name, n, skip)
	if err != nil {
		return nil, err
	}
	out := make([]deliver.Message, len(ms))
	for i, m := range ms {
		out[i] = deliver.Message(m)
	}
	return out, nil
}

// Ack implements deliver.Queue.
func (h *Handle) Ack(keys ...uint64) error { return h.db.Ack(h.name, keys...) }

// Retry implements deliver.Queue.
func (h *Handle) Retry(key uint64, attempts int, next time.Time, lastErr string) error {
	return h.db.Retry(h.name, key, attempts, next, lastErr)
}

// Reject implements deliver.Queue.
func (h *Handle) Reject(key uint64, reason string) error { return h.db.Reject(h.name, key, reason) }

// Split implements deliver.Queue.
func (h *Handle) Split(key uint64, parts []deliver.Message) error {
	ps := make([]store.Message, len(parts))
	for i, p := range parts {
		ps[i] = store.Message(p)
	}
	return h.db.Split(h.name, key, ps)
}

// SetDeliveryError implements deliver.Queue: it stores msg as
// State.LastDeliveryError unless it is already there, so an unchanged error
// costs no commit.
func (h *Handle) SetDeliveryError(msg string) error {
	st, err := h.db.State(h.name)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	if st.LastDeliveryError == msg {
		return nil
	}
	return h.db.UpdateState(h.name, func(s *store.State) error {
		s.LastDeliveryError = msg
		return nil
	})
}

// Drive returns the handle of one drive of a tenant-wide instance: the
// drive's own index, cursor and round, and the instance's one queue (its
// QueuedEvents counts the whole instance). The drive's state is created on
// first use. Its transactions are *Tx too, and queued events reach the
// instance's committed callback.
func (h *Handle) Drive(driveID string) delta.DB {
	return driveHandle{h: h, drive: driveID}
}

type driveHandle struct {
	h     *Handle
	drive string
}

func (d driveHandle) Update(fn func(delta.Tx) error) error {
	return d.h.Update(func(tx delta.Tx) error {
		t := tx.(*Tx)
		dtx, err := t.Tx.Drive(d.drive)
		if err != nil {
			return err
		}
		if t.counts == nil {
			t.counts = map[string]int{}
		}
		// The drive's view counts into the instance's transaction.
		return fn(&Tx{Tx: dtx, counts: t.counts})
	})
}

func (d driveHandle) View(fn func(delta.Tx) error) error {
	view := func() error {
		return d.h.db.View(d.h.name, func(stx *store.Tx) error {
			dtx, err := stx.Drive(d.drive)
			if err != nil {
				return err
			}
			return fn(&Tx{Tx: dtx})
		})
	}
	err := view()
	if errors.Is(err, store.ErrNotFound) {
		// A drive never polled: create its (empty) state, then read it.
		if err = d.Update(func(delta.Tx) error { return nil }); err == nil {
			err = view()
		}
	}
	return err
}
