package delta_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/callback"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// BenchmarkEnumerate measures the first enumeration of a large drive through
// the agent's real path: the fake Graph server (connector/graphtest, in a
// child process) over loopback HTTP → connector.Client.Page (client
// credentials signed in at the fake's token endpoint, the agent's own
// DeltaURL with its $select and $top=500) → delta.Round.Run → the real
// store, durable commits, on a temporary folder.
//
// In the same iteration, after the agent's round, it fetches and decodes the
// same pages from the same server with the same page size (a loop over the
// nextLinks with connector.DecodePage and a keep-alive client): the limit
// the agent is compared with. It reports
//
//	items/s           the agent's rate (items of the enumeration per second)
//	ref-items/s       the fetch-and-decode rate
//	ratio             items/s ÷ ref-items/s (goal ≥ 0.5 for the baseline)
//	peak-RssAnon-MiB  the peak RssAnon of this process during the round,
//	                  sampled every 5 ms (goal ≤ 150 MiB); the server's tree
//	                  lives in the child and does not count
//	base-RssAnon-MiB  RssAnon just before the round (test binary, runtime)
//	graph-RssAnon-MiB the child server's RssAnon after populating (context)
//
// Sub-benchmarks: baseline (Initial: delta.Baseline, the drive is indexed
// silently) and backfill (Initial: delta.Backfill: every item but the root
// becomes a CREATED event, formed into messages by callback.Build with the
// default max_events of 10 and queued, as the runtime does).
//
// The drive has DELTA_BENCH_ITEMS items (default 100,000):
//
//	go test ./agent/delta -run '^$' -bench Enumerate -benchtime 1x
//	DELTA_BENCH_ITEMS=1000000 go test ./agent/delta -run '^$' -bench Enumerate -benchtime 1x -timeout 30m
//
// Profiles (-cpuprofile, -memprofile) cover this process only; samples of
// the agent's round carry the pprof label phase=agent and those of the
// reference phase=reference (go tool pprof -tagfocus phase=agent).
func BenchmarkEnumerate(b *testing.B) {
	n := 100_000
	if v := os.Getenv("DELTA_BENCH_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("DELTA_BENCH_ITEMS=%q: want a positive number of items", v)
		}
	}
	g := startBenchGraph(b, n)
	b.Logf("graph server: %d items, RssAnon %.1f MiB after populating", n, mib(g.info.RSSAnon))
	for _, mode := range []struct {
		name    string
		initial delta.InitialMode
	}{{"baseline", delta.Baseline}, {"backfill", delta.Backfill}} {
		b.Run(mode.name, func(b *testing.B) { benchEnumerate(b, g, mode.initial) })
	}
}

func benchEnumerate(b *testing.B, g *benchGraph, initial delta.InitialMode) {
	ctx := context.Background()
	auth := connector.AuthConfig{
		Flow: connector.FlowClientCredentials, Tenant: "contoso.onmicrosoft.com",
		ClientID: "bench-" + strconv.Itoa(os.Getpid()), ClientSecret: "bench-secret",
		LoginURL: g.info.LoginURL, GraphURL: g.info.GraphURL,
	}
	refClient, err := connector.NewHTTPClient(connector.HTTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var agentTime, refTime time.Duration
	var items, events, peak, base, heapAtPeak uint64
	var serverCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "data")
		db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{}) // durable, as in production
		if err != nil {
			b.Fatal(err)
		}
		in, err := db.EnsureInstance("bench")
		if err != nil {
			b.Fatal(err)
		}
		client, err := connector.NewClient(connector.ClientOptions{Auth: auth, Version: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		meta := callback.Meta{DBID: db.ID(), InstanceID: in.ID, Name: in.Name, MaxEvents: 10}
		r := &delta.Round{
			Fetch:   client.Page,
			Emit:    func(tx delta.Tx, evs []delta.Event) error { return queueCallbackMessages(tx, meta, evs) },
			Initial: initial,
			DriveID: g.info.DriveID,
		}
		link := client.DeltaURL(g.info.DriveID)
		cpu0, _ := g.stats()
		runtime.GC()
		debug.FreeOSMemory()
		before := procRSSAnon(0, make([]byte, 8<<10))
		sampler := startRSSSampler(5 * time.Millisecond)
		b.StartTimer()

		start := time.Now()
		var res delta.Result
		pprof.Do(ctx, pprof.Labels("phase", "agent"), func(ctx context.Context) {
			res, err = r.Run(ctx, delta.StoreDB(db, in.Name), link)
		})
		agentTime += time.Since(start)
		b.StopTimer()
		sampler.Stop()
		if err != nil || !res.Done {
			b.Fatalf("Run: %+v, %v", res, err)
		}
		cpu1, _ := g.stats()
		serverCPU += cpu1.CPU - cpu0.CPU
		if sampler.peak > peak {
			peak, base, heapAtPeak = sampler.peak, before, sampler.heapAtPeak
			b.Logf("peak RssAnon %.1f MiB at %v (of %v), Go heap objects %.1f MiB, live after last GC %.1f MiB; %d samples",
				mib(sampler.peak), sampler.peakElapsed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond),
				mib(sampler.heapAtPeak), mib(sampler.liveAtPeak), sampler.samples)
		}
		checkEnumerated(b, db, in.Name, initial, g.info.Items, res)
		items += uint64(res.Items)
		events += uint64(res.Events)
		if fi, err := os.Stat(filepath.Join(dir, "agent.db")); err == nil {
			b.Logf("store file %.1f MiB after the round", mib(uint64(fi.Size())))
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		_ = os.RemoveAll(dir) // a 1M-item backfill leaves a large file: do not pile them up

		// The limit: fetch and decode the same pages, same server, same page size.
		start = time.Now()
		var got int
		pprof.Do(ctx, pprof.Labels("phase", "reference"), func(ctx context.Context) {
			got, err = fetchDecodeAll(ctx, refClient, link, g.info.AppToken)
		})
		refTime += time.Since(start)
		if err != nil {
			b.Fatalf("reference fetch: %v", err)
		}
		if got != res.Items {
			b.Fatalf("reference fetched %d items, the round %d", got, res.Items)
		}
		b.StartTimer()
	}
	rate := float64(items) / agentTime.Seconds()
	ref := float64(items) / refTime.Seconds()
	b.ReportMetric(rate, "items/s")
	b.ReportMetric(ref, "ref-items/s")
	b.ReportMetric(rate/ref, "ratio")
	b.ReportMetric(mib(peak), "peak-RssAnon-MiB")
	b.ReportMetric(mib(base), "base-RssAnon-MiB")
	b.ReportMetric(mib(g.info.RSSAnon), "graph-RssAnon-MiB")
	if events > 0 {
		b.ReportMetric(float64(events)/agentTime.Seconds(), "events/s")
	}
	b.Logf("%s of %d items: agent %.0f items/s, fetch+decode %.0f items/s, ratio %.2f; peak RssAnon %.1f MiB "+
		"(%.1f MiB before the round, Go heap objects at the peak %.1f MiB); server CPU %.0f%% of the agent's wall time",
		modeName(initial), g.info.Items, rate, ref, rate/ref, mib(peak), mib(base), mib(heapAtPeak),
		100*serverCPU.Seconds()/agentTime.Seconds())
}

func modeName(m delta.InitialMode) string {
	if m == delta.Backfill {
		return "backfill"
	}
	return "baseline"
}

// queueCallbackMessages is the runtime's Emit: the events become callback
// messages (callback.Build) queued in the round's transaction.
func queueCallbackMessages(tx delta.Tx, meta callback.Meta, events []delta.Event) error {
	stx, ok := tx.(*store.Tx)
	if !ok {
		return fmt.Errorf("emit: unexpected transaction type %T", tx)
	}
	evs := make([]callback.Event, len(events))
	for i, e := range events {
		evs[i] = callback.Event{Type: e.Type, ItemID: e.ItemID, ParentID: e.ParentID, Name: e.Name, Folder: e.Folder,
			Path: e.Path, OldPath: e.OldPath, Changes: e.Changes, Date: e.Date, Raw: e.Raw}
	}
	msgs, err := callback.Build(stx, meta, evs, time.Now())
	if err != nil {
		return err
	}
	return stx.Enqueue(msgs...)
}

// checkEnumerated asserts what the round left: the whole drive indexed and a
// cursor; for a backfill, one queued CREATED event per item but the root.
func checkEnumerated(b *testing.B, db *store.DB, name string, initial delta.InitialMode, n int, res delta.Result) {
	b.Helper()
	if res.Items != n+1 {
		b.Fatalf("round saw %d items, the drive has %d (and the root)", res.Items, n)
	}
	err := db.View(name, func(tx *store.Tx) error {
		count, err := tx.ItemCount()
		if err != nil {
			return err
		}
		if count != n+1 {
			return fmt.Errorf("index holds %d items, want %d", count, n+1)
		}
		if c, err := tx.Cursor(); err != nil || c == "" {
			return fmt.Errorf("cursor %q after the round: %v", c, err)
		}
		queued, err := tx.QueuedEvents()
		if err != nil {
			return err
		}
		want := int64(0)
		if initial == delta.Backfill {
			want = int64(n)
		}
		if queued != want || int64(res.Events) != want {
			return fmt.Errorf("%d events emitted, %d queued, want %d", res.Events, queued, want)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// fetchDecodeAll follows a delta round from link to its deltaLink with a plain
// GET per page and connector.DecodePage, and returns the number of items.
func fetchDecodeAll(ctx context.Context, hc *http.Client, link, token string) (int, error) {
	items := 0
	for pages := 0; ; pages++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return items, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return items, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return items, fmt.Errorf("page %d: HTTP %d", pages+1, resp.StatusCode)
		}
		p, err := connector.DecodePage(resp.Body)
		resp.Body.Close()
		if err != nil {
			return items, fmt.Errorf("page %d: %w", pages+1, err)
		}
		items += len(p.Items)
		if p.DeltaLink != "" {
			return items, nil
		}
		link = p.NextLink
	}
}
