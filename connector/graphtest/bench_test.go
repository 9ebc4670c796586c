package graphtest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// BenchmarkServer_Enumerate measures a full enumeration of a 100,000-item
// drive in 999-item pages, links decoded, items skipped: the fake's own
// cost, which bounds what a client benchmark against it can show.
func BenchmarkServer_Enumerate(b *testing.B) {
	const n = 100000
	s := NewServer(Options{PageSize: 999})
	defer s.Close()
	s.Populate(n, 1)
	tok := s.IssueToken()
	var bytes int64
	for b.Loop() {
		u := s.DeltaURL()
		for {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p struct {
				Next  string `json:"@odata.nextLink"`
				Delta string `json:"@odata.deltaLink"`
			}
			err = json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			bytes += resp.ContentLength
			if p.Delta != "" {
				break
			}
			u = p.Next
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.SetBytes(bytes / int64(b.N))
}
