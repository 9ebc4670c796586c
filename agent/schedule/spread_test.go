package schedule

import (
	"fmt"
	"testing"
	"time"
)

func TestOffsetGolden(t *testing.T) {
	// printf 'onedrive-agent/spread/v1\x00b!abc' | sha256sum: the first 16 hex digits.
	if got := Fraction("b!ABC"); got != Fraction("b!abc") || fmt.Sprintf("%016x", got) != spreadGolden {
		t.Errorf("Fraction(b!ABC) = %016x, want %s (the offsets must not change between versions)", got, spreadGolden)
	}
	if got := Offset("x", 0); got != 0 {
		t.Errorf("Offset in an empty period = %v", got)
	}
}

func TestSpreadEvenly(t *testing.T) {
	const drives, interval, bucket = 5000, 5 * time.Minute, 10 * time.Second
	s := mustNew(t, Options{Interval: interval})
	after := utc(t, "2026-03-02 10:00:00")
	counts := map[time.Duration]int{}
	for i := range drives {
		id := fmt.Sprintf("b!drive-%d", i)
		next := s.NextSpread(id, after)
		if !next.After(after) || next.Sub(after) > interval {
			t.Fatalf("%s: next poll %v, after %v", id, next, after)
		}
		if again := s.NextSpread(id, after); !again.Equal(next) {
			t.Fatal("NextSpread is not deterministic")
		}
		// The following poll is one interval later: the offset is fixed.
		if n2 := s.NextSpread(id, next); n2.Sub(next) != interval {
			t.Fatalf("%s: polls %v then %v", id, next, n2)
		}
		counts[next.Sub(after).Truncate(bucket)]++
	}
	mean := drives / int(interval/bucket)
	for b, n := range counts {
		if n < mean*70/100 || n > mean*130/100 {
			t.Errorf("%d polls in the 10 s from +%v, mean %d: not a steady trickle", n, b, mean)
		}
	}
	if len(counts) != int(interval/bucket) {
		t.Errorf("polls fall in %d of %d buckets", len(counts), interval/bucket)
	}
}

func TestSpreadCron(t *testing.T) {
	s := mustNew(t, Options{Cron: "0 * * * *"}) // hourly
	after := utc(t, "2026-03-02 10:30:00")
	for _, id := range []string{"a", "b", "c", "d"} {
		next := s.NextSpread(id, after)
		off := Offset(id, time.Hour)
		want := utc(t, "2026-03-02 10:00:00").Add(off)
		if !want.After(after) {
			want = want.Add(time.Hour)
		}
		if !next.Equal(want) {
			t.Errorf("%s: next %v, want %v", id, next, want)
		}
	}
}

const spreadGolden = "26f911b1114313b0"
