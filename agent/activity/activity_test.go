package activity

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a hand-set clock for a Recorder.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)} }

func TestRecentIsARingNewestFirst(t *testing.T) {
	c := newClock()
	r := New(Options{Recent: 3, Now: c.now})
	if got := r.Recent("a"); len(got) != 0 {
		t.Fatalf("Recent of an unknown instance = %v, want none", got)
	}
	for i := 1; i <= 5; i++ {
		r.Record("a", Delivery{ID: fmt.Sprint(i), Outcome: Delivered})
	}
	r.Record("b", Delivery{ID: "other", Outcome: Dead})
	var ids []string
	for _, d := range r.Recent("a") {
		ids = append(ids, d.ID)
	}
	if got := strings.Join(ids, ","); got != "5,4,3" {
		t.Errorf("Recent(a) ids = %s, want 5,4,3", got)
	}
	if got := r.Recent("b"); len(got) != 1 || got[0].ID != "other" || !got[0].At.Equal(c.now()) {
		t.Errorf("Recent(b) = %+v, want the one delivery stamped now", got)
	}
}

func TestLastHourCountsPerMinute(t *testing.T) {
	c := newClock()
	r := New(Options{Now: c.now})
	r.Record("a", Delivery{Outcome: Delivered})
	r.Record("a", Delivery{Outcome: Retry})
	r.SampleQueue("a", 7, time.Time{})
	r.SampleQueue("a", 3, time.Time{}) // the minute keeps its highest sample
	c.add(2 * time.Minute)
	r.Record("a", Delivery{Outcome: Dead})
	r.Record("a", Delivery{Outcome: Split}) // neither delivered nor failed
	oldest := c.now().Add(-time.Hour)
	r.SampleQueue("a", 1, oldest)

	h := r.LastHour("a")
	if len(h.Minutes) != Minutes {
		t.Fatalf("len(Minutes) = %d, want %d", len(h.Minutes), Minutes)
	}
	last, first := h.Minutes[Minutes-1], h.Minutes[Minutes-3]
	if !last.Start.Equal(c.now().Truncate(time.Minute)) {
		t.Errorf("last minute starts %v, want %v", last.Start, c.now().Truncate(time.Minute))
	}
	if first.Delivered != 1 || first.Failed != 1 || first.Queue != 7 || !first.Sampled {
		t.Errorf("first minute = %+v, want 1 delivered, 1 failed, queue 7", first)
	}
	if last.Delivered != 0 || last.Failed != 1 || last.Queue != 1 {
		t.Errorf("last minute = %+v, want 1 failed, queue 1", last)
	}
	if h.Minutes[Minutes-2].Sampled {
		t.Errorf("the minute between has no sample but says it has")
	}
	if h.Delivered != 1 || h.Failed != 2 || !h.Oldest.Equal(oldest) {
		t.Errorf("hour totals = %d delivered, %d failed, oldest %v; want 1, 2, %v", h.Delivered, h.Failed, h.Oldest, oldest)
	}

	// An hour later the old minutes are gone, even though their buckets
	// are reused.
	c.add(time.Hour)
	r.Record("a", Delivery{Outcome: Delivered})
	h = r.LastHour("a")
	if h.Delivered != 1 || h.Failed != 0 {
		t.Errorf("an hour later: %d delivered, %d failed; want 1, 0", h.Delivered, h.Failed)
	}
	for _, m := range h.Minutes[:Minutes-1] {
		if m.Sampled || m.Delivered+m.Failed != 0 {
			t.Errorf("minute %v kept stale figures %+v", m.Start, m)
		}
	}
}

func TestTotalAddsInstances(t *testing.T) {
	c := newClock()
	r := New(Options{Now: c.now})
	r.SampleQueue("a", 4, time.Time{})
	r.SampleQueue("b", 6, time.Time{})
	r.Record("a", Delivery{Outcome: Delivered})
	r.Record("b", Delivery{Outcome: Dead})
	h := r.Total()
	m := h.Minutes[Minutes-1]
	if m.Queue != 10 || m.Delivered != 1 || m.Failed != 1 || h.Delivered != 1 || h.Failed != 1 {
		t.Errorf("Total = %+v (last minute %+v), want queue 10, 1 delivered, 1 failed", h, m)
	}
	r.Forget("b")
	if got := r.Instances(); len(got) != 1 || got[0] != "a" {
		t.Errorf("Instances after Forget(b) = %v, want [a]", got)
	}
}

func TestRecordClipsLongErrors(t *testing.T) {
	r := New(Options{})
	r.Record("a", Delivery{Outcome: Dead, Error: strings.Repeat("é", 400)})
	got := r.Recent("a")[0].Error
	if len(got) > maxError || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "é") {
		t.Errorf("clipped error has %d bytes, ends %q; want at most %d ending in …", len(got), got[len(got)-6:], maxError)
	}
	for _, r := range got {
		if r == '\uFFFD' {
			t.Fatalf("clipping cut a rune in two")
		}
	}
}

func TestNilRecorderIsQuiet(t *testing.T) {
	var r *Recorder
	r.Record("a", Delivery{})
	r.SampleQueue("a", 1, time.Time{})
	r.Forget("a")
	if r.Recent("a") != nil || len(r.LastHour("a").Minutes) != Minutes || len(r.Total().Minutes) != Minutes {
		t.Errorf("a nil Recorder must answer empty")
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New(Options{Recent: 8})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				r.Record(fmt.Sprint("i", i%2), Delivery{Outcome: Delivered})
				r.SampleQueue(fmt.Sprint("i", i%2), j, time.Time{})
				_ = r.Recent("i0")
				_ = r.Total()
			}
		}()
	}
	wg.Wait()
	if h := r.Total(); h.Delivered != 800 {
		t.Errorf("Total delivered = %d, want 800", h.Delivered)
	}
}
