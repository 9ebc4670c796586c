package graphtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// page is a decoded delta page.
type page struct {
	Value []map[string]any `json:"value"`
	Next  string           `json:"@odata.nextLink"`
	Delta string           `json:"@odata.deltaLink"`
}

// graphErr is a decoded Graph error body.
type graphErr struct {
	Error struct {
		Code       string         `json:"code"`
		Message    string         `json:"message"`
		InnerError map[string]any `json:"innerError"`
	} `json:"error"`
}

func get(t *testing.T, rawURL, token string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("new request %s: %v", rawURL, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k := 0; k+1 < len(hdr); k += 2 {
		req.Header.Set(hdr[k], hdr[k+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", rawURL, err)
	}
	return resp, b
}

func fetchPage(t *testing.T, rawURL, token string) page {
	t.Helper()
	resp, b := get(t, rawURL, token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", rawURL, resp.StatusCode, b)
	}
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode page: %v: %s", err, b)
	}
	if (p.Next == "") == (p.Delta == "") {
		t.Fatalf("page must carry exactly one of nextLink and deltaLink: %s", b)
	}
	return p
}

// deltaRound follows nextLinks from start until a deltaLink and returns every
// item in order, the deltaLink and the number of pages.
func deltaRound(t *testing.T, start, token string) ([]map[string]any, string, int) {
	t.Helper()
	var items []map[string]any
	u := start
	for pages := 1; pages < 10000; pages++ {
		p := fetchPage(t, u, token)
		items = append(items, p.Value...)
		if p.Delta != "" {
			return items, p.Delta, pages
		}
		if p.Next == u {
			t.Fatalf("nextLink loops on %s", u)
		}
		u = p.Next
	}
	t.Fatal("round never ended")
	return nil, "", 0
}

func ids(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	return out
}

func byID(items []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, it := range items {
		m[it["id"].(string)] = it
	}
	return m
}

func parentID(it map[string]any) string {
	pr, _ := it["parentReference"].(map[string]any)
	id, _ := pr["id"].(string)
	return id
}

func decodeGraphErr(t *testing.T, b []byte) graphErr {
	t.Helper()
	var e graphErr
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not a Graph error body (%v): %s", err, b)
	}
	return e
}

// postForm posts to the identity endpoint op of tenant and decodes the JSON answer.
func postForm(t *testing.T, s *Server, tenant, op string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(s.LoginURL()+"/"+tenant+"/oauth2/v2.0/"+op,
		"application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("POST %s: %v", op, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("decode %s answer: %v", op, err)
	}
	return resp.StatusCode, m
}

// smallTree builds /A/a1.txt, /A/B/b1.txt, /A/B/b2.txt, /C, /top.txt.
func smallTree(s *Server) map[string]string {
	m := map[string]string{}
	m["A"] = s.CreateFolder(s.Root(), "A")
	m["a1"] = s.CreateFile(m["A"], "a1.txt", []byte("a1"))
	m["B"] = s.CreateFolder(m["A"], "B")
	m["b1"] = s.CreateFile(m["B"], "b1.txt", []byte("b1"))
	m["b2"] = s.CreateFile(m["B"], "b2.txt", []byte("b2"))
	m["C"] = s.CreateFolder(s.Root(), "C")
	m["top"] = s.CreateFile(s.Root(), "top.txt", []byte("top"))
	return m
}
