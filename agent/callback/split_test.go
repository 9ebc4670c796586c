package callback

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

func TestSplitMessage_Errors(t *testing.T) {
	one := testMessages(t, &seqCounter{}, 1, 1)[0]
	for name, m := range map[string]Message{
		"one event": one,
		"not json":  {ID: "x", Body: []byte("{")},
		"mismatch":  {ID: "x", Body: []byte(`{"message":{"raw":{"changes":[{}]},"events":[{},{}]}}`)},
	} {
		if _, err := SplitMessage(m); err == nil {
			t.Errorf("%s: SplitMessage succeeded", name)
		}
	}
}

// FuzzBuildSplit forms a message from arbitrary event fields and splits it:
// every body is valid JSON and the parts carry the original's events and
// raw items, in order, byte for byte.
func FuzzBuildSplit(f *testing.F) {
	f.Add("a.pdf", "/x/a.pdf", "/old", "tag", 3, true)
	f.Add("\xff\"\\\n<>", "\u2028", "", "", 10, false)
	f.Add("", "", "", "é", 2, true)
	f.Fuzz(func(t *testing.T, name, path, oldPath, tag string, n int, folder bool) {
		n = 2 + abs(n)%20
		evs := make([]Event, n)
		for i := range evs {
			evs[i] = Event{Type: []string{TypeCreated, TypeUpdated, TypeDeleted}[i%3], ItemID: name + "id", ParentID: path,
				Name: name, Folder: folder, Path: path, OldPath: oldPath, Changes: []string{"name"}, Date: testDate}
			if i%2 == 0 {
				evs[i].Raw = json.RawMessage(`{"id":` + string(opencon.AppendString(nil, name)) + `}`)
			}
		}
		msgs, err := Build(&seqCounter{}, Meta{DBID: "db", InstanceID: 9, Name: name, Tags: []string{tag}, MaxEvents: n}, evs, testPoll)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Build: %v, %d messages", err, len(msgs))
		}
		var whole wireBody
		if err := json.Unmarshal(msgs[0].Body, &whole); err != nil {
			t.Fatalf("invalid body: %v\n%s", err, msgs[0].Body)
		}
		parts, err := SplitMessage(msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		var events, changes []string
		for i, p := range parts {
			var w wireBody
			if err := json.Unmarshal(p.Body, &w); err != nil {
				t.Fatalf("invalid part: %v\n%s", err, p.Body)
			}
			if p.ID != msgs[0].ID+"."+string(rune('1'+i)) || w.Message.EventID != p.ID || p.Events != len(w.Message.Events) {
				t.Fatalf("part %d: id %s, body id %s, %d events", i, p.ID, w.Message.EventID, p.Events)
			}
			if w.Message.InstanceName != whole.Message.InstanceName || !slices.Equal(w.Message.InstanceTags, whole.Message.InstanceTags) {
				t.Fatalf("part %d lost the instance fields", i)
			}
			for j := range w.Message.Events {
				events = append(events, string(w.Message.Events[j]))
				changes = append(changes, string(w.Message.Raw.Changes[j]))
			}
		}
		for j := range whole.Message.Events {
			if events[j] != string(whole.Message.Events[j]) || changes[j] != string(whole.Message.Raw.Changes[j]) {
				t.Fatalf("item %d differs after the split", j)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -(n + 1)
	}
	return n
}

// SplitMessage divides a message of several events into two halves, as the
// HTTP sink does after a 413 (opencon.Split). Created is kept; Key,
// Attempts and NextAttempt are left zero.
func SplitMessage(m Message) ([]Message, error) {
	parts, err := opencon.Split(m.ID, m.Body)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(parts))
	for i, p := range parts {
		out[i] = Message{ID: p.ID, Events: p.Events, Body: p.Body, Created: m.Created}
	}
	return out, nil
}
