package callback

import "github.com/onedrive-agent/onedrive-agent/agent/delta"

// Event types, the values of Event.Type and events[].eventType.
const (
	TypeCreated = delta.Created
	TypeUpdated = delta.Updated
	TypeDeleted = delta.Deleted
)

// Event is one normalized change as agent/delta computes it; Build turns
// events into callback messages.
type Event = delta.Event
