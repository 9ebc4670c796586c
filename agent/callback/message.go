package callback

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Message is a formed callback message, queued in the round's transaction.
type Message = store.Message

// DefaultMaxEvents is the number of events per message when Meta.MaxEvents
// is not set; Open Connectors sends at most 10 per callback.
const DefaultMaxEvents = 10

// SeqTx is the part of the round's store transaction Build needs: a
// per-instance sequence that is strictly increasing and never reused
// (*store.Tx satisfies it).
type SeqTx interface {
	NextSeq() (uint64, error)
}

// Meta describes the instance whose events a message carries.
type Meta struct {
	DBID       string   // store.DB.ID(): first part of every id
	InstanceID uint32   // store.Instance.ID: message.instanceId and part of every id
	Name       string   // message.instanceName
	Tags       []string // message.instanceTags (nil is sent as [])
	MaxEvents  int      // events per message; <= 0 means DefaultMaxEvents
	// Drive, for a tenant-wide instance, is the drive the events come from: every event
	// then carries driveId, driveName and owner.
	Drive *Drive
}

// Drive names the drive of a tenant-wide instance's events.
type Drive struct {
	ID, Name string
	Owner    string // the user's userPrincipalName, or the site's webUrl
}

// Build forms the messages for events, in order, at most meta.MaxEvents
// events each, inside the transaction that records them: every message and
// every event takes its own sequence number from tx (message first, then
// its events), so ids are `<dbid>-<instanceid>-<seq %012d>` and sort in
// recording order. pollDate is when the events were recorded. The returned
// bodies are final: the HTTP callback sends them byte for byte, and the
// per-event sinks derive what they send from them alone, on every retry.
// The caller passes the messages to tx.Enqueue in the same transaction.
//
// Raw is copied as is: it must be one JSON object, as connector.DecodePage
// and agent/delta produce it (a full json.Valid would triple the cost of
// Build, so only the braces are checked). An event whose Raw is empty or not
// braced gets a minimal Graph item (id, name, parentReference, and deleted
// for DELETED) in raw.changes, so raw.changes always has one entry per event.
func Build(tx SeqTx, meta Meta, events []Event, pollDate time.Time) ([]Message, error) {
	if len(events) == 0 {
		return nil, nil
	}
	max := meta.MaxEvents
	if max <= 0 {
		max = DefaultMaxEvents
	}
	prefix := idPrefix(meta.DBID, meta.InstanceID)
	msgs := make([]Message, 0, (len(events)+max-1)/max)
	for start := 0; start < len(events); start += max {
		end := min(start+max, len(events))
		m, err := buildOne(tx, meta, prefix, events[start:end], pollDate)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// bodies keeps the buffers of bodies handed back by Recycle: a message's
// body is about 1.3 KB per event, so each Build would otherwise allocate
// (and the runtime zero) a fresh buffer of a hundred KB or more that lives
// only until Enqueue copies it.
var bodies sync.Pool // of *[]byte

// newBody returns an empty buffer with room for size bytes.
func newBody(size int) []byte {
	if p, ok := bodies.Get().(*[]byte); ok && cap(*p) >= size {
		return (*p)[:0]
	}
	return make([]byte, 0, size)
}

// Recycle hands the bodies of msgs back for later Builds once tx.Enqueue
// has copied them; msgs must not be used afterwards.
func Recycle(msgs []Message) {
	for i := range msgs {
		if b := msgs[i].Body; cap(b) > 0 {
			bodies.Put(&b)
		}
		msgs[i].Body = nil
	}
}

// idPrefix returns "<dbid>-<instanceid>-".
func idPrefix(dbid string, instanceID uint32) string {
	return dbid + "-" + strconv.FormatUint(uint64(instanceID), 10) + "-"
}

func buildOne(tx SeqTx, meta Meta, prefix string, events []Event, pollDate time.Time) (Message, error) {
	seq, err := tx.NextSeq()
	if err != nil {
		return Message{}, fmt.Errorf("next message sequence: %w", err)
	}
	var idBuf [64]byte
	mid := string(opencon.AppendID(idBuf[:0], prefix, seq))

	size := 256 + len(meta.Name) + len(mid)
	for _, t := range meta.Tags {
		size += len(t) + 3
	}
	for i := range events {
		e := &events[i]
		size += 400 + len(e.Raw) + 2*len(e.Path) + len(e.OldPath) + len(e.ItemID) + len(e.ParentID)
	}
	b := newBody(size)
	b = opencon.AppendHeader(b, mid, meta.InstanceID, meta.Name, meta.Tags)
	for i := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRaw(b, &events[i])
	}
	b = append(b, `]},"events":[`...)
	pd := pollDate.UTC()
	for i := range events {
		seq, err := tx.NextSeq()
		if err != nil {
			return Message{}, fmt.Errorf("next event sequence: %w", err)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b, err = appendEvent(b, prefix, seq, &events[i], pd)
		if err != nil {
			return Message{}, err
		}
		b = appendDrive(b, meta.Drive)
	}
	b = append(b, "]}}"...)
	return Message{ID: mid, Events: len(events), Body: b, Created: pd}, nil
}

// appendRaw writes the event's Graph item, or a minimal one when it has none.
func appendRaw(b []byte, e *Event) []byte {
	if looksLikeObject(e.Raw) {
		return append(b, e.Raw...)
	}
	b = append(b, `{"id":`...)
	b = opencon.AppendString(b, e.ItemID)
	b = append(b, `,"name":`...)
	b = opencon.AppendString(b, e.Name)
	b = append(b, `,"parentReference":{"id":`...)
	b = opencon.AppendString(b, e.ParentID)
	b = append(b, '}')
	if e.Folder {
		b = append(b, `,"folder":{}`...)
	}
	if e.Type == TypeDeleted {
		b = append(b, `,"deleted":{"state":"deleted"}`...)
	}
	return append(b, '}')
}

// looksLikeObject reports whether raw, without surrounding whitespace,
// starts with '{' and ends with '}'.
func looksLikeObject(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) >= 2 && raw[0] == '{' && raw[len(raw)-1] == '}'
}

// errEventType reports an event whose Type is none of the three.
var errEventType = errors.New("unknown event type")

// appendDrive adds the drive's fields to the event just written (before its closing brace).
func appendDrive(b []byte, d *Drive) []byte {
	if d == nil || len(b) == 0 || b[len(b)-1] != '}' {
		return b
	}
	b = append(b[:len(b)-1], `,"driveId":`...)
	b = opencon.AppendString(b, d.ID)
	b = append(b, `,"driveName":`...)
	b = opencon.AppendString(b, d.Name)
	b = append(b, `,"owner":`...)
	b = opencon.AppendString(b, d.Owner)
	return append(b, '}')
}

// appendEvent writes one element of message.events.
func appendEvent(b []byte, prefix string, seq uint64, e *Event, pollDate time.Time) ([]byte, error) {
	switch e.Type {
	case TypeCreated, TypeUpdated, TypeDeleted:
	default:
		return b, fmt.Errorf("event for item %s: %w %q", e.ItemID, errEventType, e.Type)
	}
	b = append(b, `{"eventId":"`...)
	b = opencon.AppendID(b, prefix, seq)
	b = append(b, `","eventType":"`...)
	b = append(b, e.Type...)
	b = append(b, `","objectType":"`+opencon.ObjectType+`","itemType":"`...)
	if e.Folder {
		b = append(b, "folder"...)
	} else {
		b = append(b, "file"...)
	}
	b = append(b, `","objectId":`...)
	b = opencon.AppendString(b, e.ItemID)
	b = append(b, `,"elementKey":"`+opencon.ElementKey+`","hubKey":"`+opencon.HubKey+`","date":`...)
	date := e.Date
	if date.IsZero() {
		date = pollDate
	}
	b = opencon.AppendTime(b, date)
	b = append(b, `,"pollDate":`...)
	b = opencon.AppendTime(b, pollDate)
	b = append(b, `,"path":`...)
	b = opencon.AppendString(b, e.Path)
	if e.Type != TypeDeleted && e.Path != "" {
		b = append(b, `,"newPath":`...)
		b = opencon.AppendString(b, e.Path)
	}
	if e.OldPath != "" {
		b = append(b, `,"oldPath":`...)
		b = opencon.AppendString(b, e.OldPath)
	}
	b = append(b, `,"parentObjectId":`...)
	b = opencon.AppendString(b, e.ParentID)
	if e.Type == TypeUpdated {
		b = append(b, `,"changes":`...)
		b = opencon.AppendStrings(b, e.Changes)
	}
	return append(b, '}'), nil
}
