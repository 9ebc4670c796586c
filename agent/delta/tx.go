package delta

import (
	"context"
	"encoding/json"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Tx is the part of a store transaction (one instance's *store.Tx) this
// package uses. *store.Tx satisfies it. Every call works inside the one
// transaction: either all writes of a transaction become durable or none.
type Tx interface {
	Item(id string) (store.Item, bool, error)
	HasItem(id string) (bool, error)
	PutItem(it store.Item) error
	DeleteItem(id string) error
	Children(parentID string, fn func(store.Item) error) error
	ChildIDs(parentID string, fn func(id string) error) error
	ForEachItem(after string, fn func(store.Item) error) error
	ItemCount() (int, error)
	ClearIndex() error
	Cursor() (string, error)
	SetCursor(link string) error
	RoundState() ([]byte, error)
	SetRoundState(b []byte) error
	PutStaged(id string, rec []byte) error
	Staged(id string) ([]byte, bool, error)
	HasStaged(id string) (bool, error)
	ForEachStaged(after string, fn func(id string, rec []byte) error) error
	StagedCount() (int, error)
	ClearStaged() error
	PutPending(key, rec []byte) error
	ForEachPending(after []byte, fn func(key, rec []byte) error) error
	DeletePending(key []byte) error
	ClearPending() error
	QueuedEvents() (int64, error)
}

// DB runs transactions on one instance's part of the store. Update runs fn in
// one durable read-write transaction, committed when fn returns nil and rolled
// back otherwise; View runs fn in a read-only transaction. StoreDB adapts a
// *store.DB.
type DB interface {
	Update(fn func(Tx) error) error
	View(fn func(Tx) error) error
}

// StoreDB returns the DB of instance name in db.
func StoreDB(db *store.DB, name string) DB { return storeDB{db: db, name: name} }

type storeDB struct {
	db   *store.DB
	name string
}

func (s storeDB) Update(fn func(Tx) error) error {
	return s.db.Update(s.name, func(tx *store.Tx) error { return fn(tx) })
}

func (s storeDB) View(fn func(Tx) error) error {
	return s.db.View(s.name, func(tx *store.Tx) error { return fn(tx) })
}

// FetchFunc fetches one delta page. It returns an error for a page it cannot
// trust (a page without any link, an item without id): the round is then not
// applied. A 410 Gone must come back as an error matching
// connector.ErrResyncRequired (a *connector.ResyncError carries the Location).
// A round calls it from a goroutine of its own, up to Limits.FetchAhead pages
// ahead of the page it stages (so at the same time as its transactions and
// Emit), never twice at once; it must return when ctx is cancelled.
type FetchFunc func(ctx context.Context, url string) (connector.Page, error)

// EmitFunc receives a round's events in order, in slices of at most
// Limits.EmitBatch, inside the transaction that also records the progress of
// the round. It must record them durably in tx (the runtime turns them into
// queued messages) and must not keep events after it returns. An error aborts
// the transaction; the same events are offered again on the next attempt.
type EmitFunc func(tx Tx, events []Event) error

// Event types.
const (
	Created = "CREATED"
	Updated = "UPDATED"
	Deleted = "DELETED"
)

// Names of the entries of Event.Changes, in the order they appear.
const (
	ChangeParent   = "parent"
	ChangeName     = "name"
	ChangeContent  = "content"
	ChangeMetadata = "metadata"
)

// Event is one real change of an item in scope.
type Event struct {
	Type     string // Created, Updated or Deleted
	ItemID   string // driveItem id
	ParentID string // parent id after the change; the last known parent for Deleted
	Name     string // name after the change; the last known name for Deleted
	Folder   bool
	// Path is the item's path from the drive root ("/a/b.txt") after the
	// change, or the last path the index knew for Deleted.
	Path string
	// OldPath is the path before the change, as a receiver that applies
	// the round's events in order (rewriting path prefixes on folder moves)
	// knows it at this event; set only on Updated events whose changes
	// include "parent" or "name" (moves and renames).
	OldPath string
	// Changes is set on Updated only: a subset of "parent", "name",
	// "content", "metadata" in that order.
	Changes []string
	// Date is lastModifiedDateTime for Created and Updated, the time the
	// round was started (when the deletion was seen) for Deleted.
	Date time.Time
	// Raw is the driveItem as Graph returned it; for an item Graph did not
	// send (a cascade, a move into or out of scope, a resync sweep) a minimal
	// item built from the index.
	Raw json.RawMessage

	// rawStaged: Raw is the item's staged record's raw item, so the
	// pending event does not keep a copy of it.
	rawStaged bool
}
