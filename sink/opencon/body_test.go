package opencon

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// readJSON is Read written with encoding/json: the reference the scanner
// must agree with.
func readJSON(body []byte) (Message, error) {
	w, err := decode(body)
	if err != nil {
		return Message{}, err
	}
	m := Message{ID: w.Message.EventID, InstanceName: w.Message.InstanceName, Events: make([]Event, len(w.Message.Events))}
	for i, raw := range w.Message.Events {
		var f struct {
			EventID, EventType, ObjectID, Path, Date, DriveID string
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return Message{}, err
		}
		var data map[string]json.RawMessage
		if err := json.Unmarshal(raw, &data); err != nil {
			return Message{}, err
		}
		ev := bytes.TrimSpace(raw)
		d := append([]byte(nil), ev[:len(ev)-1]...)
		if len(data) > 0 {
			d = append(d, ',')
		}
		d = append(append(append(d, `"raw":`...), w.Message.Raw.Changes[i]...), '}')
		m.Events[i] = Event{ID: f.EventID, Type: f.EventType, ObjectID: f.ObjectID, Path: f.Path, Date: f.Date, DriveID: f.DriveID, Data: d}
	}
	return m, nil
}

// body forms a body with AppendHeader and the writer, as the agent does.
func body(id, name, path string, raw string) []byte {
	b := AppendHeader(nil, id, 3, name, []string{"a", name})
	b = append(b, raw...)
	b = append(b, `,{"id":"x"}]},"events":[{"eventId":`...)
	b = AppendString(b, id+"-e1")
	b = append(b, `,"eventType":"UPDATED","objectId":"o1","path":`...)
	b = AppendString(b, path)
	b = append(b, `,"date":"2026-11-26T10:15:02Z","changes":["name"]},{"eventId":"e2","eventType":"DELETED","objectId":`...)
	b = AppendString(b, name)
	b = append(b, `,"path":"/x","date":"2026-11-26T10:15:03Z","driveId":"b!d2"}]}}`...)
	return b
}

func TestRead_AgreesWithEncodingJSON(t *testing.T) {
	for _, tc := range []struct{ id, name, path, raw string }{
		{"m1", "finance", "/a/b.pdf", `{"id":"A","name":"b.pdf","nested":{"x":[1,2,{"y":"}]"}]},"n":null,"t":true,"f":-1.5e3}`},
		{"m\"2", "fin\\ance", "/été/\"q\"/\u2028/\x01", `{"id":"\u00e9\"}"}`},
		{"m3", "", "", ` { "id" : "spaced" , "a" : [ ] } `},
	} {
		b := body(tc.id, tc.name, tc.path, tc.raw)
		want, err := readJSON(b)
		if err != nil {
			t.Fatalf("reference: %v\n%s", err, b)
		}
		got, err := Read(b)
		if err != nil {
			t.Fatalf("Read: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Read\n%+v\nwant\n%+v", got, want)
		}
		for _, e := range got.Events {
			if !json.Valid(e.Data) {
				t.Errorf("event %s: invalid data %s", e.ID, e.Data)
			}
		}
	}
}

func TestRead_Errors(t *testing.T) {
	for _, b := range []string{
		``, `{`, `[]`, `{"message":{"raw":{"changes":[{}]},"events":[]}}`,
		`{"message":{"raw":{"changes":[{}]},"events":[1]}}`,
		`{"message":{"raw":{"changes":[{"a":"}]},"events":[{}]}}`,
		`{"message":{"events":[{"eventId":"x"}`,
	} {
		if _, err := Read([]byte(b)); err == nil {
			t.Errorf("Read(%q) succeeded", b)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add("m1", "finance", "/a.pdf", `{"id":"A"}`)
	f.Add("\\", "\"", "\u2028", `{"a":"\\\""}`)
	f.Fuzz(func(t *testing.T, id, name, path, raw string) {
		if !json.Valid([]byte(raw)) || !strings.HasPrefix(strings.TrimSpace(raw), "{") {
			return
		}
		b := body(id, name, path, raw)
		want, werr := readJSON(b)
		got, gerr := Read(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("reference error %v, Read error %v\n%s", werr, gerr, b)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Read\n%+v\nwant\n%+v\n%s", got, want, b)
		}
	})
}

// BenchmarkRead reads a message with a Graph-sized item.
func BenchmarkRead(b *testing.B) {
	item := `{"@odata.type":"#microsoft.graph.driveItem","createdDateTime":"2026-11-26T10:15:02Z","eTag":"\"{ABC},3\"","id":"01ABCDEFGHIJKLMNOPQRSTUVWX","lastModifiedDateTime":"2026-11-26T10:15:02Z","name":"Quarterly report \"final\".pdf","webUrl":"https://contoso.sharepoint.com/sites/x/Shared%20Documents/a.pdf","cTag":"\"c:{ABC},3\"","size":123456,"createdBy":{"user":{"email":"a@contoso.com","id":"u1","displayName":"A B"}},"lastModifiedBy":{"user":{"email":"a@contoso.com","id":"u1","displayName":"A B"}},"parentReference":{"driveType":"business","driveId":"b!abcdef","id":"01PARENT","path":"/drive/root:/Reports"},"file":{"mimeType":"application/pdf","hashes":{"quickXorHash":"abc="}},"fileSystemInfo":{"createdDateTime":"2026-11-26T10:15:02Z","lastModifiedDateTime":"2026-11-26T10:15:02Z"}}`
	body := body("m1", "finance", "/Reports/Quarterly report \"final\".pdf", item)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Read(body); err != nil {
			b.Fatal(err)
		}
	}
}
