package store

// Benchmarks measure the store and the raw limit in the same run and print
// the ratio (see /work/shared/reference/limits.md for the limits):
//
//	go test -run XXX -bench Enqueue -benchtime 2s -count 3 ./store/
//	go test -run XXX -bench Drain1M -benchtime 1x -timeout 30m ./store/
//
// BenchmarkDrain1M writes a 1.3 GB file and runs only when named by -bench
// (it ignores b.N: one run is the measurement). Both print their figures
// and the limit beside them; absolute rates follow the machine's load, the
// ratios much less, since the compared writers take turns.

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// pages builds n messages of one 1 KiB event each, in slices of per.
func pages(n, per int) [][]Message {
	body := make([]byte, 1024)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	var out [][]Message
	for done := 0; done < n; done += per {
		p := make([]Message, min(per, n-done))
		for i := range p {
			p[i] = Message{ID: fmt.Sprintf("00112233aabbccdd-1-%012d", done+i), Events: 1, Body: body}
		}
		out = append(out, p)
	}
	return out
}

// BenchmarkEnqueue: durable enqueue of 200-event pages (one op = one page
// of 200 one-event 1 KiB messages) against the limit, raw bbolt (default
// options) with 1000 1 KiB values per Update and big-endian sequence keys,
// each on a fresh file. The three writers take turns every 1000 events so
// that load from elsewhere on the machine hits them alike. Goal: ratio >=
// 0.50. ratio-1000 compares the store at 1000 events per commit too.
func BenchmarkEnqueue(b *testing.B) {
	events := b.N * 200
	dir := b.TempDir()
	open := func(name string) *DB {
		db, err := Open(filepath.Join(dir, name), Options{NoAutoCompact: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.EnsureInstance("a"); err != nil {
			b.Fatal(err)
		}
		return db
	}
	s200, s1000 := open("store200.db"), open("store1000.db")
	defer s200.Close()
	defer s1000.Close()
	raw, err := bolt.Open(filepath.Join(dir, "raw.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	val := make([]byte, 1024)
	seq := uint64(0)
	p200, p1000 := pages(events, 200), pages(events, 1000)
	var t200, t1000, traw time.Duration
	b.ResetTimer()
	for c := range p1000 {
		start := time.Now()
		for _, p := range p200[c*5 : min(c*5+5, len(p200))] {
			if err := s200.Update("a", func(tx *Tx) error { return tx.Enqueue(p...) }); err != nil {
				b.Fatal(err)
			}
		}
		t200 += time.Since(start)
		b.StopTimer()
		start = time.Now()
		if err := s1000.Update("a", func(tx *Tx) error { return tx.Enqueue(p1000[c]...) }); err != nil {
			b.Fatal(err)
		}
		t1000 += time.Since(start)
		start = time.Now()
		err := raw.Update(func(tx *bolt.Tx) error {
			bkt, err := tx.CreateBucketIfNotExists([]byte("q"))
			if err != nil {
				return err
			}
			for range len(p1000[c]) {
				seq++
				if err := bkt.Put(u64key(seq), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		traw += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()
	rate := func(d time.Duration) float64 { return float64(events) / d.Seconds() }
	b.ReportMetric(rate(t200), "events/s")
	b.ReportMetric(rate(traw), "raw-events/s")
	b.ReportMetric(rate(t200)/rate(traw), "ratio")
	b.ReportMetric(rate(t1000)/rate(traw), "ratio-1000")
	b.Logf("%d events: store 200/commit %.0f events/s, store 1000/commit %.0f events/s; "+
		"limit raw bbolt 1000/commit %.0f events/s (limits.md: 193k); ratio %.2f (goal >= 0.50), like for like %.2f",
		events, rate(t200), rate(t1000), rate(traw), rate(t200)/rate(traw), rate(t1000)/rate(traw))
}

// rssAnon returns RssAnon from /proc/self/status in bytes (0 if unknown).
func rssAnon() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// commitRates times n durable one-event commits on each database, taking
// turns so that load from elsewhere hits them alike, and returns commits/s
// for each.
func commitRates(b *testing.B, n int, dbs ...*DB) []float64 {
	ps := pages(n, 1)
	spent := make([]time.Duration, len(dbs))
	for _, p := range ps {
		for i, db := range dbs {
			start := time.Now()
			if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(p...) }); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	rates := make([]float64, len(dbs))
	for i, d := range spent {
		rates[i] = float64(n) / d.Seconds()
	}
	return rates
}

// BenchmarkDrain1M: 1,000,000 queued 1 KiB events drained with Peek(256)
// + Ack. Goals: peak RssAnon during the drain <= 64 MiB; file after
// compaction <= 10 MiB; 1-event commits on it >= 80% of a fresh file's.
func BenchmarkDrain1M(b *testing.B) {
	if !strings.Contains(flag.Lookup("test.bench").Value.String(), "Drain1M") {
		b.Skip("writes a 2 GB file: run with -bench Drain1M -benchtime 1x")
	}
	const total = 1_000_000
	dir := b.TempDir()
	path := filepath.Join(dir, "agent.db")
	db, err := Open(path, Options{NoAutoCompact: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.EnsureInstance("a"); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for done := 0; done < total; done += 1000 {
		p := pages(1000, 1000)[0]
		for i := range p {
			p[i].ID = fmt.Sprintf("00112233aabbccdd-1-%012d", done+i)
		}
		if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(p...) }); err != nil {
			b.Fatal(err)
		}
	}
	enqRate := float64(total) / time.Since(start).Seconds()
	full := fileSize(b, path)

	// Reopen the full file: the pre-open page walk reads every live page.
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if err := precheck(path); err != nil {
		b.Fatal(err)
	}
	walk := time.Since(start)
	start = time.Now()
	if db, err = Open(path, Options{NoAutoCompact: true}); err != nil {
		b.Fatal(err)
	}
	reopen := time.Since(start)

	runtime.GC()
	debug.FreeOSMemory()
	base := rssAnon()
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if r := rssAnon(); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	start = time.Now()
	drained := drain(b, db, "a", 256)
	drainRate := float64(drained) / time.Since(start).Seconds()
	b.StopTimer()
	close(stop)
	wg.Wait()
	if drained != total {
		b.Fatalf("drained %d of %d", drained, total)
	}

	drainedSize := fileSize(b, path)
	fresh, err := Open(filepath.Join(b.TempDir(), "fresh.db"), Options{NoAutoCompact: true})
	if err != nil {
		b.Fatal(err)
	}
	defer fresh.Close()
	_, _ = fresh.EnsureInstance("a")
	r := commitRates(b, 500, db, fresh)
	before, freshBefore := r[0], r[1]
	did, err := db.MaybeCompact()
	if err != nil || !did {
		b.Fatalf("MaybeCompact after the drain = %v, %v", did, err)
	}
	after := fileSize(b, path)
	r = commitRates(b, 2000, db, fresh)
	compacted, freshRate := r[0], r[1]

	const mib = 1 << 20
	b.ReportMetric(float64(peak.Load())/mib, "peak-rss-anon-MiB")
	b.ReportMetric(float64(after)/mib, "file-after-MiB")
	b.ReportMetric(compacted/freshRate, "commit-ratio")
	b.ReportMetric(drainRate, "drain-events/s")
	b.Logf("enqueue %.0f events/s (1000/commit; limit 193k); file %d MiB full, %d MiB drained",
		enqRate, full/mib, drainedSize/mib)
	b.Logf("reopen of the full file %v, of which the pre-open page walk about %v", reopen.Round(time.Millisecond), walk.Round(time.Millisecond))
	b.Logf("drain Peek(256)+Ack %.0f events/s (limit: raw First+Delete 1000/commit 132k-219k)", drainRate)
	b.Logf("RssAnon %.1f MiB before the drain, peak %.1f MiB during it (goal <= 64 MiB)",
		float64(base)/mib, float64(peak.Load())/mib)
	b.Logf("file after compaction %.2f MiB (goal <= 10 MiB)", float64(after)/mib)
	b.Logf("1-event durable commits before compaction: drained file %.0f/s, fresh file %.0f/s; ratio %.2f",
		before, freshBefore, before/freshBefore)
	b.Logf("1-event durable commits after compaction: compacted file %.0f/s, fresh file %.0f/s; ratio %.2f (goal >= 0.80)",
		compacted, freshRate, compacted/freshRate)
}
