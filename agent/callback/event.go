package callback

import (
	"encoding/json"
	"time"
)

// Event types, the values of Event.Type and events[].eventType.
const (
	TypeCreated = "CREATED"
	TypeUpdated = "UPDATED"
	TypeDeleted = "DELETED"
)

// Event is one normalized change, with the fields of agent/delta's Event
// (design.md, "Events"). The runtime converts delta.Event values field by
// field (or, once both agree, this becomes an alias of delta.Event).
type Event struct {
	Type                   string // TypeCreated, TypeUpdated or TypeDeleted
	ItemID, ParentID, Name string
	Folder                 bool
	Path, OldPath          string          // OldPath only on moves and renames; DELETED keeps the last path in Path
	Changes                []string        // UPDATED only: subset of "parent","name","content","metadata"
	Date                   time.Time       // lastModifiedDateTime; seen time for DELETED
	Raw                    json.RawMessage // Graph item as returned; minimal item for inferred deletes
}
