package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The default test run replays the fuzz seeds. To fuzz:
//
//	go test ./connector -run XXX -fuzz FuzzDecodePage -fuzztime 60s
//	go test ./connector -run XXX -fuzz FuzzDecodeError -fuzztime 60s
//
// The decoder benchmark (items/s, the encoding/json reference and their ratio):
//
//	go test ./connector -run XXX -bench DecodePage -benchtime 2s

// referenceItem decodes one raw item with encoding/json, using the same rules as the
// one-pass decoder (exact key match, last duplicate wins, null facets are absent). The fuzz
// target checks the fast decoder against it.
func referenceItem(raw []byte) (Item, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Item{}, err
	}
	present := func(m map[string]json.RawMessage, k string) bool {
		v, ok := m[k]
		return ok && string(v) != "null"
	}
	str := func(m map[string]json.RawMessage, k string) (string, error) {
		var s *string
		if v, ok := m[k]; ok {
			if err := json.Unmarshal(v, &s); err != nil {
				return "", err
			}
		}
		if s == nil {
			return "", nil
		}
		return *s, nil
	}
	var it Item
	var err error
	for k, dst := range map[string]*string{"id": &it.ID, "name": &it.Name, "eTag": &it.ETag, "cTag": &it.CTag} {
		if *dst, err = str(m, k); err != nil {
			return Item{}, err
		}
	}
	it.Size = -1 // absent or null: unknown
	if present(m, "size") {
		if err := json.Unmarshal(m["size"], &it.Size); err != nil {
			return Item{}, err
		}
	}
	it.Folder, it.Root = present(m, "folder"), present(m, "root")
	it.Deleted = present(m, "deleted") || present(m, "@microsoft.graph.removed") || present(m, "@removed")
	if present(m, "file") {
		it.File = true
		var file map[string]json.RawMessage
		if json.Unmarshal(m["file"], &file) == nil && file != nil {
			var hashes map[string]json.RawMessage
			if h, ok := file["hashes"]; ok && len(h) > 0 && h[0] == '{' {
				if err := json.Unmarshal(h, &hashes); err != nil {
					return Item{}, err
				}
				for _, k := range []string{"sha1Hash", "sha256Hash", "quickXorHash"} {
					v, err := str(hashes, k)
					if err != nil {
						return Item{}, err
					}
					if v != "" {
						it.Hash = v
					}
				}
			}
		}
	}
	if present(m, "parentReference") {
		var pr map[string]json.RawMessage
		if err := json.Unmarshal(m["parentReference"], &pr); err != nil {
			return Item{}, err
		}
		if it.ParentID, err = str(pr, "id"); err != nil {
			return Item{}, err
		}
		if it.DriveID, err = str(pr, "driveId"); err != nil {
			return Item{}, err
		}
	}
	mod, err := str(m, "lastModifiedDateTime")
	if err != nil {
		return Item{}, err
	}
	if mod != "" {
		if it.Modified, err = time.Parse(time.RFC3339Nano, mod); err != nil {
			return Item{}, err
		}
	}
	return it, nil
}

func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(examplePage))
	f.Add([]byte(benchPage(3)))
	f.Add([]byte(`{"value":[],"@odata.nextLink":"https://g/v1.0/x?token=1"}`))
	f.Add([]byte(`{"value":[{"id":"a\u00e9\ud83d\ude00","name":"x\\\"y","size":-0,"file":{"hashes":{"sha1Hash":null}}}],"@odata.deltaLink":"http://h/"}`))
	f.Add([]byte(`{"value":[{"id":"a","id":"b","deleted":{},"deleted":null}],"@odata.deltaLink":"https://h/"}`))
	f.Add([]byte(`{"value":[{"name":"no id"}],"@odata.deltaLink":"https://h/"}`))
	f.Add([]byte(`{"value":[{"id":"a","size":1e3}],"@odata.deltaLink":"https://h/"}`))
	f.Add([]byte(`{"@odata.deltaLink":"https://h/","value":[{"id":"a","parentReference":{"id":"p","driveId":"D"}}]} `))
	f.Add([]byte(`{"@odata.deltaLink":"https://h/","value":[{"id":"a","lastModifiedDateTime":"2024-02-29T23:59:59.5Z","lastModifiedDateTime":"2025-01-10T08:00:00+02:00"},{"id":"b","lastModifiedDateTime":"2025-01-10T08:00:00.123456789Z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePage(bytes.NewReader(data))
		if err != nil {
			if p.Items != nil || p.NextLink != "" || p.DeltaLink != "" {
				t.Fatalf("partial page with error %v: %+v", err, p)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if p.NextLink == "" && p.DeltaLink == "" {
			t.Fatal("accepted a page without links")
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			t.Fatalf("encoding/json rejects an accepted page: %v", err)
		}
		var raws []json.RawMessage
		if v, ok := top["value"]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, &raws); err != nil {
				t.Fatalf("value: %v", err)
			}
		}
		if len(raws) != len(p.Items) {
			t.Fatalf("%d items, encoding/json sees %d", len(p.Items), len(raws))
		}
		for i, it := range p.Items {
			if it.ID == "" {
				t.Fatalf("item %d without id accepted", i)
			}
			if !bytes.Equal(bytes.TrimSpace(it.Raw), bytes.TrimSpace(raws[i])) {
				t.Fatalf("item %d raw = %s, want %s", i, it.Raw, raws[i])
			}
			want, err := referenceItem(it.Raw)
			if err != nil {
				t.Fatalf("item %d accepted, reference rejects it: %v", i, err)
			}
			want.Raw = it.Raw
			if !want.Modified.Equal(it.Modified) {
				t.Fatalf("item %d Modified = %v, want %v", i, it.Modified, want.Modified)
			}
			want.Modified = it.Modified
			if fmt.Sprint(want) != fmt.Sprint(it) {
				t.Fatalf("item %d:\n got %+v\nwant %+v", i, it, want)
			}
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(429, []byte(`{"error":{"code":"activityLimitReached","message":"The request has been throttled","innerError":{"code":"throttledRequest","innerError":{"code":"quota"}}}}`))
	f.Add(410, []byte(`{"error":{"code":"resyncRequired","message":"Resync required.","innererror":{"code":"resyncChangesApplyDifferences"}}}`))
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: x","error_codes":[700082],"correlation_id":"c"}`))
	f.Add(400, []byte(`{"error":"authorization_pending","error_description":"AADSTS70016: pending"}`))
	f.Add(502, []byte(`<html><body>Bad gateway</body></html>`))
	f.Add(400, []byte(`{"error":{"code":null,"message":5}}`))
	f.Add(401, []byte(`{"error":{"code":"\u0000\n","message":"`+strings.Repeat("é", 400)+`"}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		ge := DecodeGraphError(status, body)
		for _, s := range append([]string{ge.Code, ge.Message}, ge.InnerCodes...) {
			checkOneLine(t, s, 400)
		}
		checkOneLine(t, ge.Error(), 600) // the message plus what to do about it
		_ = ge.isResyncCode()
		te := DecodeTokenError(status, body)
		for _, s := range []string{te.Code, te.Description, te.AADSTS, te.CorrelationID} {
			checkOneLine(t, s, 400)
		}
		checkOneLine(t, te.Error(), 1000)
	})
}

// checkOneLine asserts text is printable on one log line and bounded.
func checkOneLine(t *testing.T, s string, maxRunes int) {
	t.Helper()
	if strings.ContainsAny(s, "\r\n\x00") {
		t.Fatalf("control characters in %q", s)
	}
	if n := utf8.RuneCountInString(s); n > maxRunes {
		t.Fatalf("%d runes, want at most %d", n, maxRunes)
	}
}

// benchPage builds a realistic delta page of n items (about 740 bytes each, like Graph's
// business drive items with the agent's $select).
func benchPage(n int) string {
	var b strings.Builder
	b.WriteString(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)",` +
		`"@odata.nextLink":"https://graph.microsoft.com/v1.0/drives/b!Xy12AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/root/delta?$select=id,name&token=MzslMjM0OyUyMzE7MzsxMjM0NTY3ODk",` +
		`"value":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"createdDateTime":"2025-01-09T07:00:00Z","eTag":"\"{33333333-0000-0000-0000-%012d},2\"","id":"01CCCCFILE%08d",`+
			`"lastModifiedDateTime":"2025-01-10T08:00:%02d.%03dZ","name":"Quarterly report %d – été.xlsx",`+
			`"webUrl":"https://contoso.sharepoint.com/personal/alice_contoso_com/Documents/Reports/Quarterly%%20report%%20%d.xlsx","size":%d,`+
			`"createdBy":{"user":{"email":"alice@contoso.com","id":"8d0c0000-0000-0000-0000-000000000001","displayName":"Alice Example"}},`+
			`"lastModifiedBy":{"user":{"email":"bob@contoso.com","id":"8d0c0000-0000-0000-0000-000000000002","displayName":"Bob Example"}},`+
			`"parentReference":{"driveType":"business","driveId":"b!Xy12AbCdEfGhIjKlMnOpQrStUvWxYz0123456789","id":"01BBBBDOCS%08d"},`+
			`"file":{"mimeType":"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet","hashes":{"quickXorHash":"aCgDG9jwBhDc4Q1yawMZAAAAAAA="}},`+
			`"fileSystemInfo":{"createdDateTime":"2025-01-09T07:00:00Z","lastModifiedDateTime":"2025-01-10T07:59:58Z"}}`,
			i, i, i%60, i%1000, i, i, 1000+i*37, i%17)
	}
	b.WriteString(`]}`)
	return b.String()
}

// BenchmarkDecodePage measures DecodePage on a 200-item page and, in the same run, the
// reference of limits.md: encoding/json decoding the page and then each item while keeping
// each item's raw bytes. It reports both rates and their ratio.
func BenchmarkDecodePage(b *testing.B) {
	const n = 200
	page := []byte(benchPage(n))
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		pg, err := DecodePage(bytes.NewReader(page))
		if err != nil || len(pg.Items) != n {
			b.Fatalf("decoded %d items: %v", len(pg.Items), err)
		}
	}
	rate := float64(b.N*n) / b.Elapsed().Seconds()

	// The reference, timed by hand outside the benchmark timer.
	iters := max(1, b.N/4)
	start := time.Now()
	for range iters {
		if got, err := decodeReference(page); err != nil || got != n {
			b.Fatalf("reference decoded %d items: %v", got, err)
		}
	}
	ref := float64(iters*n) / time.Since(start).Seconds()
	b.ReportMetric(rate, "items/s")
	b.ReportMetric(ref, "ref-items/s")
	b.ReportMetric(rate/ref, "x-ref")
}

// decodeReference is the straightforward encoding/json decoder keeping raw items.
func decodeReference(p []byte) (int, error) {
	var pg struct {
		Value     []json.RawMessage `json:"value"`
		NextLink  string            `json:"@odata.nextLink"`
		DeltaLink string            `json:"@odata.deltaLink"`
	}
	if err := json.Unmarshal(p, &pg); err != nil {
		return 0, err
	}
	items := make([]jsonItem, len(pg.Value))
	for i, raw := range pg.Value {
		if err := json.Unmarshal(raw, &items[i]); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// jsonItem is the struct a straightforward encoding/json decoder would use.
type jsonItem struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	ETag                 string    `json:"eTag"`
	CTag                 string    `json:"cTag"`
	Size                 int64     `json:"size"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime"`
	File                 *struct {
		Hashes struct {
			QuickXorHash, SHA1Hash, SHA256Hash string
		} `json:"hashes"`
	} `json:"file"`
	Folder          *struct{} `json:"folder"`
	Root            *struct{} `json:"root"`
	Deleted         *struct{} `json:"deleted"`
	ParentReference *struct {
		ID      string `json:"id"`
		DriveID string `json:"driveId"`
	} `json:"parentReference"`
}
