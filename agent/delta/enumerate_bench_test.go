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
// In the same iteration, once before and once after the agent's round, it
// fetches and decodes the same pages from the same server with the same page
// size (a loop over the nextLinks with connector.DecodePage and a keep-alive
// client): the limit the agent is compared with. It reports
//
//	items/s           the agent's rate (items of the enumeration per second)
//	ref-items/s       the fetch-and-decode rate (mean of the two runs)
//	ratio             items/s ÷ ref-items/s (goal ≥ 0.5 for the baseline)
//	peak-RssAnon-MiB  the peak RssAnon of this process during the round,
//	                  sampled every 5 ms (goal ≤ 150 MiB); the server's tree
//	                  lives in the child and does not count
//	base-RssAnon-MiB  RssAnon just before the round (test binary, runtime)
//	graph-RssAnon-MiB the child server's RssAnon after populating (context)
//	cpu-us/item       CPU time of this process per item during the round
//	ref-cpu-us/item   the same for fetch-and-decode: unlike the rates, these
//	                  two hardly move when other work loads the machine
//	events/s          backfill only: CREATED events queued per second
//
// The log adds where the round's wall time went (in Fetch, in transaction
// work and in commits, per phase) and when the memory peak happened.
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
	auth := connector.AuthConfig{
		Flow: connector.FlowClientCredentials, Tenant: "contoso.onmicrosoft.com",
		ClientID: "bench-" + strconv.Itoa(os.Getpid()), ClientSecret: "bench-secret",
		LoginURL: g.info.LoginURL, GraphURL: g.info.GraphURL,
	}
	refClient, err := connector.NewHTTPClient(connector.HTTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var agent, ref usage
	var items, events, peak, base, heapAtPeak, gcs uint64
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
		times := newRoundTimes()
		r := &delta.Round{
			Fetch:   times.wrapFetch(client.Page),
			Emit:    func(tx delta.Tx, evs []delta.Event) error { return queueCallbackMessages(tx, meta, evs) },
			Initial: initial,
			DriveID: g.info.DriveID,
		}
		link := client.DeltaURL(g.info.DriveID)

		// The limit, before and after the agent's round so that a change of
		// the machine's load during the run weighs on both alike.
		refItems := measureReference(b, g, refClient, link, &ref)

		runtime.GC()
		debug.FreeOSMemory()
		before := procRSSAnon(0, make([]byte, 8<<10))
		sampler := startRSSSampler(5 * time.Millisecond)
		gc0 := gcCycles()
		var res delta.Result
		// The runtime collects garbage less often during a full enumeration
		// (agent/gcboost.go: GOGC=400 under a 96 MiB soft limit); measure
		// the round as the agent runs it.
		oldGC, oldLimit := debug.SetGCPercent(400), debug.SetMemoryLimit(96<<20)
		b.StartTimer()
		u := measure(g, "agent", func(ctx context.Context) {
			res, err = r.Run(ctx, timedDB{DB: delta.StoreDB(db, in.Name), t: times}, link)
		})
		b.StopTimer()
		debug.SetGCPercent(oldGC)
		debug.SetMemoryLimit(oldLimit)
		sampler.Stop()
		agent.add(u)
		gcs += gcCycles() - gc0
		if err != nil || !res.Done {
			b.Fatalf("Run: %+v, %v", res, err)
		}
		if sampler.peak > peak {
			peak, base, heapAtPeak = sampler.peak, before, sampler.heapAtPeak
		}
		b.Logf("round %v: %s", u.wall.Round(time.Millisecond), times)
		b.Logf("peak RssAnon %.1f MiB at %v, Go heap objects then %.1f MiB, live after the last GC %.1f MiB (%d samples)",
			mib(sampler.peak), sampler.peakElapsed.Round(time.Millisecond),
			mib(sampler.heapAtPeak), mib(sampler.liveAtPeak), sampler.samples)
		checkEnumerated(b, db, in.Name, initial, g.info.Items, res)
		if refItems != res.Items {
			b.Fatalf("reference fetched %d items, the round %d", refItems, res.Items)
		}
		items += uint64(res.Items)
		events += uint64(res.Events)
		if fi, err := os.Stat(filepath.Join(dir, "agent.db")); err == nil {
			b.Logf("store file %.1f MiB after the round", mib(uint64(fi.Size())))
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		_ = os.RemoveAll(dir) // a 1M-item backfill leaves a large file: do not pile them up

		measureReference(b, g, refClient, link, &ref)
	}
	ref.scale(0.5) // two reference runs per iteration
	rate := float64(items) / agent.wall.Seconds()
	refRate := float64(items) / ref.wall.Seconds()
	perItem := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(items) }
	b.ReportMetric(rate, "items/s")
	b.ReportMetric(refRate, "ref-items/s")
	b.ReportMetric(rate/refRate, "ratio")
	b.ReportMetric(mib(peak), "peak-RssAnon-MiB")
	b.ReportMetric(mib(base), "base-RssAnon-MiB")
	b.ReportMetric(mib(g.info.RSSAnon), "graph-RssAnon-MiB")
	b.ReportMetric(perItem(agent.cpu), "cpu-us/item")
	b.ReportMetric(perItem(ref.cpu), "ref-cpu-us/item")
	if events > 0 {
		b.ReportMetric(float64(events)/agent.wall.Seconds(), "events/s")
	}
	b.Logf("%s of %d items: agent %.0f items/s, fetch+decode %.0f items/s, ratio %.2f; peak RssAnon %.1f MiB "+
		"(%.1f MiB before the round, Go heap objects at the peak %.1f MiB)",
		modeName(initial), g.info.Items, rate, refRate, rate/refRate, mib(peak), mib(base), mib(heapAtPeak))
	b.Logf("CPU per item: agent %.2f µs (server %.2f µs), fetch+decode %.2f µs (server %.2f µs); "+
		"CPU per wall second: agent %.2f, fetch+decode %.2f; %d GC cycles during the rounds",
		perItem(agent.cpu), perItem(agent.serverCPU), perItem(ref.cpu), perItem(ref.serverCPU),
		agent.cpu.Seconds()/agent.wall.Seconds(), ref.cpu.Seconds()/ref.wall.Seconds(), gcs)
}

// usage is the wall time and CPU time of a measured step, with the graph
// server's CPU time during it.
type usage struct{ wall, cpu, serverCPU time.Duration }

func (u *usage) add(v usage) { u.wall += v.wall; u.cpu += v.cpu; u.serverCPU += v.serverCPU }

func (u *usage) scale(f float64) {
	u.wall = time.Duration(float64(u.wall) * f)
	u.cpu = time.Duration(float64(u.cpu) * f)
	u.serverCPU = time.Duration(float64(u.serverCPU) * f)
}

// measure runs fn with the pprof label phase=<label> and returns its usage.
func measure(g *benchGraph, label string, fn func(ctx context.Context)) usage {
	s0, _ := g.stats()
	cpu0 := processCPU()
	start := time.Now()
	pprof.Do(context.Background(), pprof.Labels("phase", label), fn)
	u := usage{wall: time.Since(start), cpu: processCPU() - cpu0}
	s1, _ := g.stats()
	u.serverCPU = s1.CPU - s0.CPU
	return u
}

// measureReference fetches and decodes the whole enumeration once, adds its
// usage to ref and returns the number of items.
func measureReference(b *testing.B, g *benchGraph, hc *http.Client, link string, ref *usage) int {
	b.Helper()
	var got int
	var err error
	ref.add(measure(g, "reference", func(ctx context.Context) {
		got, err = fetchDecodeAll(ctx, hc, link, g.info.AppToken)
	}))
	if err != nil {
		b.Fatalf("reference fetch: %v", err)
	}
	return got
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
	msgs, err := callback.Build(stx, meta, events, time.Now())
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
