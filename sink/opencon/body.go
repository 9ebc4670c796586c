// Package opencon reads and writes the body of a callback message in Open
// Connectors' shape: {"message":{…,"raw":{"objectType":"changes","changes":[…]},
// "events":[…]}}. The agent forms bodies once, when the events are recorded;
// the sinks read them back here: the HTTP callback sends a body as it is
// (splitting it after a 413), the per-event sinks (Kafka, NATS, CloudEvents)
// send each event with its Graph item added as "raw".
//
// The package knows nothing of the store or of Graph: its input is bytes.
package opencon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Wire constants of the body.
const (
	ElementKey = "onedrivev2" // message.elementKey and events[].elementKey
	ObjectType = "changes"    // message.raw.objectType and events[].objectType
	HubKey     = "documents"  // events[].hubKey
)

// AppendHeader writes a body up to and including the opening bracket of
// raw.changes.
func AppendHeader(b []byte, mid string, instanceID uint32, name string, tags []string) []byte {
	b = append(b, `{"message":{"eventId":`...)
	b = AppendString(b, mid)
	b = append(b, `,"elementKey":"`+ElementKey+`","instanceId":`...)
	b = strconv.AppendUint(b, uint64(instanceID), 10)
	b = append(b, `,"instance_id":`...)
	b = strconv.AppendUint(b, uint64(instanceID), 10)
	b = append(b, `,"instanceName":`...)
	b = AppendString(b, name)
	b = append(b, `,"instanceTags":`...)
	b = AppendStrings(b, tags)
	return append(b, `,"raw":{"objectType":"`+ObjectType+`","changes":[`...)
}

// wireBody is the part of a formed body that splitting and reading need;
// the raw items and events are kept as the exact bytes that were formed.
type wireBody struct {
	Message struct {
		EventID      string   `json:"eventId"`
		InstanceID   uint32   `json:"instanceId"`
		InstanceName string   `json:"instanceName"`
		InstanceTags []string `json:"instanceTags"`
		Raw          struct {
			Changes []json.RawMessage `json:"changes"`
		} `json:"raw"`
		Events []json.RawMessage `json:"events"`
	} `json:"message"`
}

func decode(body []byte) (wireBody, error) {
	var w wireBody
	if err := json.Unmarshal(body, &w); err != nil {
		return w, fmt.Errorf("decode body: %w", err)
	}
	if len(w.Message.Raw.Changes) != len(w.Message.Events) {
		return w, fmt.Errorf("%d raw items for %d events", len(w.Message.Raw.Changes), len(w.Message.Events))
	}
	return w, nil
}

// Part is one message of a split.
type Part struct {
	ID     string
	Events int
	Body   []byte
}

// Split divides the body of message id, of several events, into two halves
// (for a 413 answer). The parts get ids derived from the original, "<id>.1"
// and "<id>.2", so a split repeated after a crash gives the same ids; events
// keep their ids and bytes, and each part's raw.changes holds the items of
// its own events.
func Split(id string, body []byte) ([]Part, error) {
	w, err := decode(body)
	if err != nil {
		return nil, fmt.Errorf("split message %s: %w", id, err)
	}
	events, changes := w.Message.Events, w.Message.Raw.Changes
	if len(events) < 2 {
		return nil, fmt.Errorf("split message %s: %d events, need at least 2", id, len(events))
	}
	half := (len(events) + 1) / 2
	parts := make([]Part, 0, 2)
	for i, r := range [][2]int{{0, half}, {half, len(events)}} {
		pid := id + "." + strconv.Itoa(i+1)
		b := make([]byte, 0, len(body)/2+256)
		b = AppendHeader(b, pid, w.Message.InstanceID, w.Message.InstanceName, w.Message.InstanceTags)
		for j, c := range changes[r[0]:r[1]] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, c...)
		}
		b = append(b, `]},"events":[`...)
		for j, e := range events[r[0]:r[1]] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, e...)
		}
		b = append(b, "]}}"...)
		parts = append(parts, Part{ID: pid, Events: r[1] - r[0], Body: b})
	}
	return parts, nil
}

// Event is one event of a message as the per-event sinks send it.
type Event struct {
	ID       string // eventId
	Type     string // eventType: CREATED, UPDATED or DELETED
	ObjectID string // objectId: the driveItem id
	Path     string // path
	Date     string // date, RFC 3339 UTC as in the body
	DriveID  string // driveId: set for the events of a tenant-wide instance, "" otherwise
	// Data is the event object of the body with the Graph item of
	// raw.changes added as its last member "raw". It is derived from the
	// fixed body alone, so every attempt sends the same bytes.
	Data []byte
}

// Message is a body read back: the instance it belongs to and its events.
type Message struct {
	ID           string
	InstanceName string
	Events       []Event
}

// Read decodes a body into its events, in order, in one pass over its
// bytes.
func Read(body []byte) (Message, error) {
	var (
		m               Message
		changes, events [][]byte
	)
	// extent appends the exact bytes of each element of an array.
	extent := func(dst *[][]byte) func(int) (int, error) {
		return func(i int) (int, error) {
			return walkArray(body, i, func(i int) (int, error) {
				end, err := skipValue(body, i)
				if err == nil {
					*dst = append(*dst, body[i:end])
				}
				return end, err
			})
		}
	}
	readEvent := func(i int) (int, error) {
		var e Event
		end, err := walkObject(body, i, func(key []byte, i int) (int, error) {
			switch {
			case keyIs(key, "eventId"):
				return readString(body, i, &e.ID)
			case keyIs(key, "eventType"):
				return readString(body, i, &e.Type)
			case keyIs(key, "objectId"):
				return readString(body, i, &e.ObjectID)
			case keyIs(key, "path"):
				return readString(body, i, &e.Path)
			case keyIs(key, "date"):
				return readString(body, i, &e.Date)
			case keyIs(key, "driveId"):
				return readString(body, i, &e.DriveID)
			}
			return skipValue(body, i)
		})
		if err != nil {
			return 0, fmt.Errorf("decode event %d: %w", len(m.Events), err)
		}
		events = append(events, body[i:end])
		m.Events = append(m.Events, e)
		return end, nil
	}
	i := skipSpace(body, 0)
	end, err := walkObject(body, i, func(key []byte, i int) (int, error) {
		if !keyIs(key, "message") {
			return skipValue(body, i)
		}
		return walkObject(body, i, func(key []byte, i int) (int, error) {
			switch {
			case keyIs(key, "eventId"):
				return readString(body, i, &m.ID)
			case keyIs(key, "instanceName"):
				return readString(body, i, &m.InstanceName)
			case keyIs(key, "events"):
				return walkArray(body, i, readEvent)
			case keyIs(key, "raw"):
				return walkObject(body, i, func(key []byte, i int) (int, error) {
					if keyIs(key, "changes") {
						return extent(&changes)(i)
					}
					return skipValue(body, i)
				})
			}
			return skipValue(body, i)
		})
	})
	if err == nil && skipSpace(body, end) != len(body) {
		err = fmt.Errorf("%w: data after the body", errSyntax)
	}
	if err != nil {
		return Message{}, fmt.Errorf("decode body: %w", err)
	}
	if len(changes) != len(events) {
		return Message{}, fmt.Errorf("%d raw items for %d events", len(changes), len(events))
	}
	for i, ev := range events {
		item := changes[i]
		data := make([]byte, 0, len(ev)+len(item)+8)
		data = append(data, ev[:len(ev)-1]...)
		if len(bytes.TrimSpace(ev[1:len(ev)-1])) > 0 {
			data = append(data, ',')
		}
		data = append(data, `"raw":`...)
		data = append(data, item...)
		data = append(data, '}')
		m.Events[i].Data = data
	}
	if m.Events == nil {
		m.Events = []Event{}
	}
	return m, nil
}

// readString decodes the string value at body[i] into dst and returns the
// index after it.
func readString(body []byte, i int, dst *string) (int, error) {
	end, err := skipValue(body, i)
	if err == nil {
		*dst, err = unquote(body[i:end])
	}
	return end, err
}
