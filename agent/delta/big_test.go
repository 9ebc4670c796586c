package delta_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// TestRound_BigEnumeration runs a baseline of DELTA_BIG items (e.g.
// DELTA_BIG=1000000) through the real store, then an incremental round that
// deletes a tenth of the drive, and logs time and peak heap. Skipped unless
// DELTA_BIG is set:
//
//	DELTA_BIG=1000000 go test ./agent/delta -run BigEnumeration -v
func TestRound_BigEnumeration(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("DELTA_BIG"))
	if n <= 0 {
		t.Skip("set DELTA_BIG=<items> to run")
	}
	db := openStore(t)
	const perPage, perFolder = 500, 100
	raw := []byte(`{"id":"x","name":"file.txt","eTag":"\"{0000},1\"","size":1234,"file":{"hashes":{"quickXorHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}}}`)
	page := func(p int) connector.Page {
		var pg connector.Page
		for i := p * perPage; i < min((p+1)*perPage, n); i++ {
			if i == 0 {
				pg.Items = append(pg.Items, connector.Item{ID: "root", Name: "root", Root: true, Folder: true})
				continue
			}
			if i%perFolder == 0 {
				pg.Items = append(pg.Items, connector.Item{ID: fmt.Sprintf("d%07d", i/perFolder), ParentID: "root",
					Name: fmt.Sprintf("dir%d", i/perFolder), Folder: true, ETag: "1", Raw: raw})
				continue
			}
			pg.Items = append(pg.Items, connector.Item{ID: fmt.Sprintf("f%07d", i), ParentID: fmt.Sprintf("d%07d", i/perFolder),
				Name: fmt.Sprintf("file%d.txt", i), ETag: "1", Size: 1234, Hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", File: true, Raw: raw})
		}
		pages := (n + perPage - 1) / perPage
		if p+1 < pages {
			pg.NextLink = fmt.Sprintf("fresh/%d", p+1)
		} else {
			pg.DeltaLink = "delta-1"
		}
		return pg
	}
	fetch := func(ctx context.Context, link string) (connector.Page, error) {
		if link == "delta-1" { // the second round: delete every tenth folder
			var pg connector.Page
			for d := 0; d < n/perFolder; d += 10 {
				pg.Items = append(pg.Items, connector.Item{ID: fmt.Sprintf("d%07d", d), Deleted: true})
			}
			pg.DeltaLink = "delta-2"
			return pg, nil
		}
		p := 0
		fmt.Sscanf(link, "fresh/%d", &p)
		return page(p), nil
	}
	var peak, peakAnon uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				peakAnon = max(peakAnon, rssAnon())
			}
		}
	}()
	events := 0
	r := &delta.Round{Fetch: fetch, Emit: func(tx delta.Tx, evs []delta.Event) error { events += len(evs); return nil }}
	start := time.Now()
	res, err := r.Run(context.Background(), delta.StoreDB(db, instance), "fresh/0")
	if err != nil || !res.Done {
		t.Fatalf("%+v %v", res, err)
	}
	t.Logf("baseline of %d items: %v, %d pages, peak heap in use %d MiB, RssAnon %d MiB", n, time.Since(start), res.Pages, peak>>20, peakAnon>>20)
	start = time.Now()
	res, err = r.Run(context.Background(), delta.StoreDB(db, instance), "fresh/0")
	close(done)
	if err != nil || !res.Done {
		t.Fatalf("%+v %v", res, err)
	}
	t.Logf("delete of %d folders: %d events in %v, peak heap in use %d MiB, RssAnon %d MiB", res.Items, events, time.Since(start), peak>>20, peakAnon>>20)
	if want := (n / perFolder / 10) * perFolder; events < want-perFolder || events > want+perFolder {
		t.Errorf("%d events, want about %d", events, want)
	}
}

// rssAnon reads RssAnon from /proc/self/status (0 where there is none).
func rssAnon() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
