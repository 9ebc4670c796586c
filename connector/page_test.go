package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const examplePage = `{
  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",
  "@odata.deltaLink": "https://graph.microsoft.com/v1.0/drives/b!Xy12AbCd/root/delta?token=round1",
  "value": [
    {"id": "01AAAAROOT", "name": "root", "root": {}, "folder": {"childCount": 1},
     "eTag": "\"{1},3\"", "size": 2048, "lastModifiedDateTime": "2025-01-10T08:00:00Z",
     "parentReference": {"driveId": "b!Xy12AbCd", "driveType": "business"}},
    {"id": "01CCCCFILE", "name": "q1 \u00e9t\u00e9.xlsx",
     "file": {"mimeType": "application/x", "hashes": {"sha1Hash": "AB", "quickXorHash": "aCgD=="}},
     "eTag": "e2", "cTag": "c2", "size": 12345678901,
     "createdDateTime": "2025-01-09T07:00:00Z", "lastModifiedDateTime": "2025-01-10T08:00:00.123Z",
     "parentReference": {"driveId": "b!Xy12AbCd", "id": "01BBBBDOCS", "path": "/drive/root:"},
     "unknownFacet": {"deep": [1, 2, {"x": null}]}},
    {"id": "01DELETED", "deleted": {"state": "deleted"}, "file": {},
     "parentReference": {"driveId": "B!XY12ABCD", "id": "01BBBBDOCS"}},
    {"id": "01REMOVED", "@microsoft.graph.removed": {"state": "removed"}, "file": {"hashes": {"sha256Hash": "S256", "sha1Hash": "S1"}}},
    {"id": "01NOTDEL", "deleted": null, "folder": null, "file": {"hashes": {"sha1Hash": "S1"}}}
  ]
}`

func TestDecodePage_Example(t *testing.T) {
	p, err := DecodePage(strings.NewReader(examplePage))
	if err != nil {
		t.Fatal(err)
	}
	if p.NextLink != "" || p.DeltaLink != "https://graph.microsoft.com/v1.0/drives/b!Xy12AbCd/root/delta?token=round1" {
		t.Errorf("links = %q, %q", p.NextLink, p.DeltaLink)
	}
	if len(p.Items) != 5 {
		t.Fatalf("got %d items", len(p.Items))
	}
	root, file, del, rem, notDel := p.Items[0], p.Items[1], p.Items[2], p.Items[3], p.Items[4]
	if !root.Root || !root.Folder || root.File || root.ParentID != "" || root.DriveID != "b!Xy12AbCd" || root.Size != 2048 || root.ETag != `"{1},3"` {
		t.Errorf("root = %+v", root)
	}
	wantMod := time.Date(2025, 1, 10, 8, 0, 0, 123e6, time.UTC)
	if file.Name != "q1 été.xlsx" || !file.File || file.Folder || file.Hash != "aCgD==" || file.Size != 12345678901 ||
		file.ParentID != "01BBBBDOCS" || file.CTag != "c2" || !file.Modified.Equal(wantMod) || file.Deleted {
		t.Errorf("file = %+v", file)
	}
	if !del.Deleted || del.Name != "" || !SameDrive(del.DriveID, root.DriveID) {
		t.Errorf("deleted = %+v", del)
	}
	if !rem.Deleted || rem.Hash != "S256" {
		t.Errorf("removed = %+v", rem)
	}
	if notDel.Deleted || notDel.Folder || notDel.Hash != "S1" {
		t.Errorf("null facets = %+v", notDel)
	}
	// Raw is the item's exact bytes.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(file.Raw, &m); err != nil {
		t.Fatalf("raw not JSON: %v", err)
	}
	if !bytes.HasPrefix(file.Raw, []byte(`{"id": "01CCCCFILE"`)) || !bytes.HasSuffix(file.Raw, []byte(`null}]}}`)) {
		t.Errorf("raw = %s", file.Raw)
	}
	if cap(file.Raw) != len(file.Raw) {
		t.Errorf("raw capacity %d > length %d: an append would overwrite the next item", cap(file.Raw), len(file.Raw))
	}
}

func TestDecodePage_Errors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"no link", `{"value":[]}`, "neither"},
		{"empty body", ``, "invalid JSON"},
		{"not an object", `[]`, "invalid JSON"},
		{"item without id", `{"@odata.nextLink":"https://g/x","value":[{"name":"a"}]}`, "no id"},
		{"empty id", `{"@odata.nextLink":"https://g/x","value":[{"id":""}]}`, "no id"},
		{"numeric id", `{"@odata.nextLink":"https://g/x","value":[{"id":5}]}`, "want a string"},
		{"item not object", `{"@odata.nextLink":"https://g/x","value":["a"]}`, "want an item object"},
		{"size float", `{"@odata.nextLink":"https://g/x","value":[{"id":"a","size":1.5}]}`, "integer"},
		{"bad time", `{"@odata.nextLink":"https://g/x","value":[{"id":"a","lastModifiedDateTime":"yesterday"}]}`, "RFC 3339"},
		{"relative link", `{"@odata.nextLink":"/drives/x","value":[]}`, "absolute"},
		{"trailing data", `{"@odata.nextLink":"https://g/x","value":[]} {}`, "after the page"},
		{"truncated", `{"@odata.nextLink":"https://g/x","value":[{"id":"a"`, "invalid JSON"},
		{"bad escape", `{"@odata.nextLink":"https://g/x","value":[{"id":"a\x"}]}`, "escape"},
		{"control char", "{\"@odata.nextLink\":\"https://g/x\",\"value\":[{\"id\":\"a\nb\"}]}", "control"},
		{"bad number", `{"@odata.nextLink":"https://g/x","x":01,"value":[]}`, "want ','"},
		{"parentReference string", `{"@odata.nextLink":"https://g/x","value":[{"id":"a","parentReference":"p"}]}`, "parentReference"},
		{"too deep", `{"@odata.nextLink":"https://g/x","x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, "deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodePage(strings.NewReader(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if p.Items != nil || p.NextLink != "" || p.DeltaLink != "" {
				t.Errorf("partial page returned with the error: %+v", p)
			}
		})
	}
}

func TestDecodePage_EmptyPageWithNextLink(t *testing.T) {
	p, err := DecodePage(strings.NewReader(`{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/drives/d/root/delta?token=2"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 0 || p.NextLink == "" {
		t.Errorf("page = %+v", p)
	}
}

func TestDecodePage_Escapes(t *testing.T) {
	body := `{"@odata.deltaLink":"https://g/x","value":[{"id":"a\"\\\/\b\f\n\r\t\u0041\ud83d\ude00\ud800x","name":"` + "\xff" + `z"}]}`
	p, err := DecodePage(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var want struct{ ID, Name string }
	if err := json.Unmarshal(p.Items[0].Raw, &want); err != nil {
		t.Fatal(err)
	}
	if p.Items[0].ID != want.ID || p.Items[0].Name != want.Name {
		t.Errorf("got %q %q, encoding/json says %q %q", p.Items[0].ID, p.Items[0].Name, want.ID, want.Name)
	}
}

func TestDecodePage_ReadError(t *testing.T) {
	_, err := DecodePage(errReader{})
	if err == nil || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
}

var errBoom = errors.New("boom")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBoom }

func TestParseTimeFast(t *testing.T) {
	for _, v := range []string{
		"2025-01-10T08:00:00Z", "2025-01-10T08:00:00.1Z", "2025-01-10T08:00:00.123456789Z",
		"2024-02-29T23:59:59Z", "2023-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-01-10T24:00:00Z",
		"2025-01-10T08:00:00+02:00", "2025-01-10T08:00:00.Z", "2025-01-10T08:00:00.1234567891Z",
		"0000-01-01T00:00:00Z", "2025-01-10 08:00:00Z", "2025-01-1xT08:00:00Z",
	} {
		want, werr := time.Parse(time.RFC3339Nano, v)
		got, ok := parseTimeFast([]byte(v))
		if ok && (werr != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("parseTimeFast(%q) = %v, time.Parse = %v, %v", v, got, want, werr)
		}
		// Whatever the path, DecodePage agrees with time.Parse.
		body := `{"@odata.deltaLink":"https://g/x","value":[{"id":"a","lastModifiedDateTime":"` + v + `"}]}`
		p, err := DecodePage(strings.NewReader(body))
		if (err != nil) != (werr != nil) {
			t.Errorf("%q: DecodePage err = %v, time.Parse err = %v", v, err, werr)
		} else if err == nil && !p.Items[0].Modified.Equal(want) {
			t.Errorf("%q: Modified = %v, want %v", v, p.Items[0].Modified, want)
		}
	}
}
