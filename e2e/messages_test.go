package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Body is a callback request body (docs/receiver.md).
type Body struct {
	Message struct {
		EventID      string   `json:"eventId"`
		ElementKey   string   `json:"elementKey"`
		InstanceID   int      `json:"instanceId"`
		InstanceID2  int      `json:"instance_id"`
		InstanceName string   `json:"instanceName"`
		InstanceTags []string `json:"instanceTags"`
		Raw          struct {
			ObjectType string            `json:"objectType"`
			Changes    []json.RawMessage `json:"changes"`
		} `json:"raw"`
		Events []Event `json:"events"`
	} `json:"message"`
}

// Event is one event of a callback body; Raw is its raw.changes entry and
// MessageID the message that carried it.
type Event struct {
	EventID        string   `json:"eventId"`
	EventType      string   `json:"eventType"`
	ObjectType     string   `json:"objectType"`
	ItemType       string   `json:"itemType"`
	ObjectID       string   `json:"objectId"`
	ElementKey     string   `json:"elementKey"`
	HubKey         string   `json:"hubKey"`
	Date           string   `json:"date"`
	PollDate       string   `json:"pollDate"`
	Path           string   `json:"path"`
	NewPath        string   `json:"newPath"`
	OldPath        string   `json:"oldPath"`
	ParentObjectID string   `json:"parentObjectId"`
	Changes        []string `json:"changes"`

	Raw       json.RawMessage `json:"-"`
	MessageID string          `json:"-"`
}

func (e Event) String() string {
	s := fmt.Sprintf("%s %s %s %s", e.EventType, e.ItemType, e.ObjectID, e.Path)
	if e.OldPath != "" {
		s += " (from " + e.OldPath + ")"
	}
	if len(e.Changes) > 0 {
		s += " " + strings.Join(e.Changes, ",")
	}
	return s
}

// rawItem is the part of a Graph driveItem the checks read.
type rawItem struct {
	ID   string `json:"id"`
	ETag string `json:"eTag"`
	Size int64  `json:"size"`
	File *struct {
		Hashes struct {
			QuickXorHash string `json:"quickXorHash"`
		} `json:"hashes"`
	} `json:"file"`
	Deleted *struct{} `json:"deleted"`
}

// Stream is the result of checking everything the receiver kept.
type Stream struct {
	Events     []Event // distinct events, in first-arrival order
	Messages   int     // distinct messages
	Requests   int     // requests whose message the receiver kept
	EventsSent int     // events in those requests, duplicates included
	Duplicates int     // EventsSent - len(Events)
	Missing    []uint64
	Problems   []string // contract violations; empty when all is well
}

// DuplicateRate is the share of kept events that were repeats.
func (s Stream) DuplicateRate() float64 {
	if len(s.Events) == 0 {
		return 0
	}
	return float64(s.Duplicates) / float64(len(s.Events))
}

// idSeq splits "<dbid>-<instance id>-<seq>" into the prefix and the seq.
func idSeq(id string) (string, uint64, bool) {
	k := strings.LastIndexByte(id, '-')
	if k < 0 || len(id)-k-1 != 12 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(id[k+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return id[:k+1], n, true
}

// Analyze checks the requests a receiver got against the contract: every
// body well formed, the Elements-Webhook-Id header equal to the message id,
// at most maxEvents events, raw.changes matching the events; the same bytes
// for every request of one message id; an event id in one message only;
// message and event ids strictly increasing per instance once duplicates
// are removed; and no sequence number missing between 1 and the highest
// seen per instance (every message takes one number, then each of its
// events one), so a lost message shows in Missing. Every request must carry
// Content-Type application/json, a User-Agent onedrive-agent/<version> and,
// when key is not "", the Elements-Webhook-Signature of its body.
func Analyze(log []Delivery, maxEvents int, key string) Stream {
	var s Stream
	bodies := map[string][]byte{}   // message id -> body
	eventMsg := map[string]string{} // event id -> message id
	lastSeq := map[string]uint64{}  // prefix -> last seq
	seqs := map[string][]uint64{}   // prefix -> every seq (messages and events)
	problem := func(format string, args ...any) {
		if len(s.Problems) < 50 {
			s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
		}
	}
	seen := map[string]bool{} // message ids kept already
	for _, d := range log {
		if msg := checkHeaders(d, key); msg != "" {
			problem("message %s: %s", d.MessageID, msg)
		}
		if prev, ok := bodies[d.MessageID]; !ok {
			bodies[d.MessageID] = d.Body
		} else if !bytes.Equal(prev, d.Body) {
			problem("message %s sent twice with different bodies", d.MessageID)
		}
		if !d.Kept {
			continue
		}
		var b Body
		if err := json.Unmarshal(d.Body, &b); err != nil {
			problem("message %s: body is not JSON: %v", d.MessageID, err)
			continue
		}
		s.Requests++
		s.EventsSent += len(b.Message.Events)
		if seen[d.MessageID] {
			continue
		}
		seen[d.MessageID] = true
		m := b.Message
		s.Messages++
		if m.EventID != d.MessageID {
			problem("Elements-Webhook-Id %q but message.eventId %q", d.MessageID, m.EventID)
		}
		if m.ElementKey != "onedrivev2" || m.Raw.ObjectType != "changes" || m.InstanceID == 0 || m.InstanceID != m.InstanceID2 {
			problem("message %s: header fields wrong: elementKey %q raw.objectType %q instanceId %d/%d",
				m.EventID, m.ElementKey, m.Raw.ObjectType, m.InstanceID, m.InstanceID2)
		}
		if len(m.Events) == 0 || len(m.Events) > maxEvents {
			problem("message %s has %d events (max_events %d)", m.EventID, len(m.Events), maxEvents)
		}
		if len(m.Raw.Changes) != len(m.Events) {
			problem("message %s: %d raw.changes for %d events", m.EventID, len(m.Raw.Changes), len(m.Events))
		}
		prefix, seq, ok := idSeq(m.EventID)
		if !ok {
			problem("message id %q is not <dbid>-<instance>-<12 digits>", m.EventID)
			continue
		}
		check := func(id string, n uint64) {
			if n <= lastSeq[prefix] {
				problem("id %s arrives after seq %d: out of order", id, lastSeq[prefix])
			}
			lastSeq[prefix] = n
			seqs[prefix] = append(seqs[prefix], n)
		}
		check(m.EventID, seq)
		for i, e := range m.Events {
			e.MessageID = m.EventID
			if i < len(m.Raw.Changes) {
				e.Raw = m.Raw.Changes[i]
				var ri rawItem
				if err := json.Unmarshal(e.Raw, &ri); err != nil || ri.ID != e.ObjectID {
					problem("event %s: raw.changes[%d] is not its item (%v)", e.EventID, i, err)
				}
			}
			p, n, ok := idSeq(e.EventID)
			if !ok || p != prefix {
				problem("event id %q does not belong to message %s", e.EventID, m.EventID)
				continue
			}
			if other, dup := eventMsg[e.EventID]; dup {
				problem("event %s in messages %s and %s", e.EventID, other, m.EventID)
				continue
			}
			eventMsg[e.EventID] = m.EventID
			check(e.EventID, n)
			problem2 := checkEventFields(e)
			if problem2 != "" {
				problem("event %s: %s", e.EventID, problem2)
			}
			s.Events = append(s.Events, e)
		}
	}
	s.Duplicates = s.EventsSent - len(s.Events)
	for _, list := range seqs {
		sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
		next := uint64(1)
		for _, n := range list {
			for ; next < n; next++ {
				s.Missing = append(s.Missing, next)
			}
			next = n + 1
		}
	}
	return s
}

// checkEventFields checks one event's fixed and dependent fields.
func checkEventFields(e Event) string {
	switch {
	case e.ElementKey != "onedrivev2" || e.ObjectType != "changes" || e.HubKey != "documents":
		return fmt.Sprintf("fixed fields elementKey %q objectType %q hubKey %q", e.ElementKey, e.ObjectType, e.HubKey)
	case e.EventType != "CREATED" && e.EventType != "UPDATED" && e.EventType != "DELETED":
		return "eventType " + e.EventType
	case e.ItemType != "file" && e.ItemType != "folder":
		return "itemType " + e.ItemType
	case e.Path == "" || e.ObjectID == "":
		return "no path or objectId"
	case e.NewPath != "" && e.NewPath != e.Path:
		return fmt.Sprintf("newPath %q differs from path %q", e.NewPath, e.Path)
	case e.EventType != "UPDATED" && len(e.Changes) > 0:
		return "changes on a " + e.EventType
	case e.EventType == "UPDATED" && len(e.Changes) == 0:
		return "UPDATED without changes"
	}
	return ""
}

// checkHeaders checks the headers every callback request carries.
func checkHeaders(d Delivery, key string) string {
	if ct := d.Header.Get("Content-Type"); ct != "application/json" {
		return "Content-Type " + ct
	}
	if ua := d.Header.Get("User-Agent"); !strings.HasPrefix(ua, "onedrive-agent/") {
		return "User-Agent " + ua
	}
	if key != "" {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(d.Body)
		want := "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if got := d.Header.Get("Elements-Webhook-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
			return fmt.Sprintf("Elements-Webhook-Signature %q, want %q", got, want)
		}
	}
	return ""
}
