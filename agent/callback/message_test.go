package callback

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

var (
	testPoll = time.Date(2026, 11, 26, 10, 20, 0, 123e6, time.FixedZone("CET", 3600))
	testDate = time.Date(2026, 11, 26, 10, 15, 2, 999e6, time.UTC)
)

func testEvents() []Event {
	return []Event{
		{Type: TypeDeleted, ItemID: "D1", ParentID: "P0", Name: "old.txt", Path: "/Inbox/old.txt",
			Date: testDate, Raw: json.RawMessage(`{"id":"D1","name":"old.txt","parentReference":{"id":"P0"},"deleted":{"state":"deleted"}}`)},
		{Type: TypeUpdated, ItemID: "U1", ParentID: "P2", Name: "a.pdf", Path: "/Invoices/2026/a.pdf",
			OldPath: "/Inbox/a.pdf", Changes: []string{"parent", "content"}, Date: testDate,
			Raw: json.RawMessage(`{"id":"U1", "name":"a.pdf"}`)},
		{Type: TypeCreated, ItemID: "C1", ParentID: "P2", Name: `Q"4"`, Folder: true, Path: `/Invoices/2026/Q"4"`,
			Date: testDate, Raw: json.RawMessage(`{"id":"C1","folder":{"childCount":0}}`)},
	}
}

func TestBuild_Golden(t *testing.T) {
	seq := &seqCounter{n: 41}
	meta := Meta{DBID: "0123456789abcdef", InstanceID: 7, Name: "finance", Tags: []string{"finance", "eu"}, MaxEvents: 2}
	msgs, err := Build(seq, meta, testEvents(), testPoll)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, body string }{
		{"0123456789abcdef-7-000000000042", `{"message":{"eventId":"0123456789abcdef-7-000000000042","elementKey":"onedrivev2","instanceId":7,"instance_id":7,"instanceName":"finance","instanceTags":["finance","eu"],"raw":{"objectType":"changes","changes":[{"id":"D1","name":"old.txt","parentReference":{"id":"P0"},"deleted":{"state":"deleted"}},{"id":"U1", "name":"a.pdf"}]},"events":[` +
			`{"eventId":"0123456789abcdef-7-000000000043","eventType":"DELETED","objectType":"changes","itemType":"file","objectId":"D1","elementKey":"onedrivev2","hubKey":"documents","date":"2026-11-26T10:15:02Z","pollDate":"2026-11-26T09:20:00Z","path":"/Inbox/old.txt","parentObjectId":"P0"},` +
			`{"eventId":"0123456789abcdef-7-000000000044","eventType":"UPDATED","objectType":"changes","itemType":"file","objectId":"U1","elementKey":"onedrivev2","hubKey":"documents","date":"2026-11-26T10:15:02Z","pollDate":"2026-11-26T09:20:00Z","path":"/Invoices/2026/a.pdf","newPath":"/Invoices/2026/a.pdf","oldPath":"/Inbox/a.pdf","parentObjectId":"P2","changes":["parent","content"]}]}}`},
		{"0123456789abcdef-7-000000000045", `{"message":{"eventId":"0123456789abcdef-7-000000000045","elementKey":"onedrivev2","instanceId":7,"instance_id":7,"instanceName":"finance","instanceTags":["finance","eu"],"raw":{"objectType":"changes","changes":[{"id":"C1","folder":{"childCount":0}}]},"events":[` +
			`{"eventId":"0123456789abcdef-7-000000000046","eventType":"CREATED","objectType":"changes","itemType":"folder","objectId":"C1","elementKey":"onedrivev2","hubKey":"documents","date":"2026-11-26T10:15:02Z","pollDate":"2026-11-26T09:20:00Z","path":"/Invoices/2026/Q\"4\"","newPath":"/Invoices/2026/Q\"4\"","parentObjectId":"P2"}]}}`},
	}
	if len(msgs) != len(want) {
		t.Fatalf("got %d messages, want %d", len(msgs), len(want))
	}
	for i, w := range want {
		m := msgs[i]
		if m.ID != w.id || string(m.Body) != w.body {
			t.Errorf("message %d:\n id %s\nbody %s\nwant id %s\nbody %s", i, m.ID, m.Body, w.id, w.body)
		}
		if !json.Valid(m.Body) {
			t.Errorf("message %d: invalid JSON", i)
		}
		if !m.Created.Equal(testPoll) || m.Created.Location() != time.UTC {
			t.Errorf("message %d: Created %v, want %v in UTC", i, m.Created, testPoll)
		}
	}
	if msgs[0].Events != 2 || msgs[1].Events != 1 {
		t.Errorf("event counts %d, %d; want 2, 1", msgs[0].Events, msgs[1].Events)
	}
}

func TestBuild_Chunks(t *testing.T) {
	for _, tc := range []struct{ events, max, msgs int }{
		{0, 10, 0}, {1, 10, 1}, {10, 10, 1}, {11, 10, 2}, {25, 0, 3}, {100, 100, 1}, {5, 1, 5},
	} {
		evs := make([]Event, tc.events)
		for i := range evs {
			evs[i] = Event{Type: TypeCreated, ItemID: "x", Path: "/x"}
		}
		seq := &seqCounter{}
		msgs, err := Build(seq, Meta{DBID: "db", InstanceID: 1, MaxEvents: tc.max}, evs, testPoll)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != tc.msgs {
			t.Errorf("%d events, max %d: %d messages, want %d", tc.events, tc.max, len(msgs), tc.msgs)
		}
		total := 0
		for _, m := range msgs {
			total += m.Events
		}
		if total != tc.events || seq.n != uint64(tc.events+tc.msgs) {
			t.Errorf("%d events, max %d: carried %d, used %d seqs", tc.events, tc.max, total, seq.n)
		}
	}
}

// TestBuild_Decodes checks the body against the contract's shape through
// encoding/json, including the minimal item for an event without Raw.
func TestBuild_Decodes(t *testing.T) {
	evs := []Event{{Type: TypeDeleted, ItemID: "X", ParentID: "P", Name: "n<&>\u2028\x01", Path: "/n", Folder: true}}
	msgs, err := Build(&seqCounter{}, Meta{DBID: "d", InstanceID: 2, Name: "i"}, evs, testPoll)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Message struct {
			InstanceTags []string `json:"instanceTags"`
			Raw          struct {
				ObjectType string
				Changes    []map[string]any
			}
			Events []map[string]any
		}
	}
	if err := json.Unmarshal(msgs[0].Body, &got); err != nil {
		t.Fatalf("%v: %s", err, msgs[0].Body)
	}
	if got.Message.InstanceTags == nil || len(got.Message.InstanceTags) != 0 {
		t.Errorf("instanceTags = %#v, want []", got.Message.InstanceTags)
	}
	raw := got.Message.Raw.Changes[0]
	if raw["id"] != "X" || raw["name"] != evs[0].Name || raw["deleted"].(map[string]any)["state"] != "deleted" {
		t.Errorf("minimal item = %v", raw)
	}
	ev := got.Message.Events[0]
	if _, ok := ev["newPath"]; ok {
		t.Errorf("DELETED event has newPath: %v", ev)
	}
	if _, ok := ev["changes"]; ok {
		t.Errorf("DELETED event has changes: %v", ev)
	}
	if ev["itemType"] != "folder" || ev["date"] != "2026-11-26T09:20:00Z" {
		t.Errorf("event = %v", ev)
	}
}

func TestBuild_Errors(t *testing.T) {
	_, err := Build(&seqCounter{}, Meta{}, []Event{{Type: "MOVED"}}, testPoll)
	if !errors.Is(err, errEventType) {
		t.Errorf("unknown type: err = %v", err)
	}
	boom := errors.New("boom")
	_, err = Build(failSeq{boom}, Meta{}, []Event{{Type: TypeCreated}}, testPoll)
	if !errors.Is(err, boom) {
		t.Errorf("seq failure: err = %v", err)
	}
}

type failSeq struct{ err error }

func (f failSeq) NextSeq() (uint64, error) { return 0, f.err }

func TestAppendID(t *testing.T) {
	for _, tc := range []struct {
		seq  uint64
		want string
	}{{0, "p-000000000000"}, {42, "p-000000000042"}, {1e12, "p-1000000000000"}} {
		if got := string(opencon.AppendID(nil, "p-", tc.seq)); got != tc.want {
			t.Errorf("opencon.AppendID(%d) = %s, want %s", tc.seq, got, tc.want)
		}
	}
}

// FuzzAppendString checks the hand-rolled string encoder against
// encoding/json without HTML escaping, byte for byte.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\b\f\n\r\t", "<&>", "\u2028\u2029", "\xff\xfe", "é€😀", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := opencon.AppendString(nil, s)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("opencon.AppendString(%q) = %s, want %s", s, got, want.String())
		}
	})
}
