package callback

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// wireBody is the part of a formed body that splitting needs; the raw items
// and events are kept as the exact bytes that were sent.
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

// SplitMessage divides a message of several events into two halves for a
// 413 answer. The parts get ids derived from the original, "<id>.1" and
// "<id>.2", so a split repeated after a crash gives the same ids; events keep
// their ids and bytes, and each part's raw.changes holds the items of its own
// events. Created is kept; Key, Attempts and NextAttempt are left zero.
func SplitMessage(m Message) ([]Message, error) {
	var w wireBody
	if err := json.Unmarshal(m.Body, &w); err != nil {
		return nil, fmt.Errorf("split message %s: decode body: %w", m.ID, err)
	}
	events, changes := w.Message.Events, w.Message.Raw.Changes
	if len(events) < 2 {
		return nil, fmt.Errorf("split message %s: %d events, need at least 2", m.ID, len(events))
	}
	if len(changes) != len(events) {
		return nil, fmt.Errorf("split message %s: %d raw items for %d events", m.ID, len(changes), len(events))
	}
	half := (len(events) + 1) / 2
	parts := make([]Message, 0, 2)
	for i, r := range [][2]int{{0, half}, {half, len(events)}} {
		id := m.ID + "." + strconv.Itoa(i+1)
		b := make([]byte, 0, len(m.Body)/2+256)
		b = appendHeader(b, id, w.Message.InstanceID, w.Message.InstanceName, w.Message.InstanceTags)
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
		parts = append(parts, Message{ID: id, Events: r[1] - r[0], Body: b, Created: m.Created})
	}
	return parts, nil
}
