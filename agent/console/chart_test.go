package console

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
)

func hourOf(set func(i int, m *activity.Minute)) activity.Hour {
	h := activity.Hour{Minutes: make([]activity.Minute, activity.Minutes)}
	start := time.Date(2026, 3, 2, 9, 31, 0, 0, time.UTC)
	for i := range h.Minutes {
		h.Minutes[i].Start = start.Add(time.Duration(i) * time.Minute)
		set(i, &h.Minutes[i])
		h.Delivered += h.Minutes[i].Delivered
		h.Failed += h.Minutes[i].Failed
	}
	return h
}

func TestNiceMax(t *testing.T) {
	for in, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 11: 20, 42: 50, 100: 100, 101: 200, 999: 1000} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestCompact(t *testing.T) {
	for _, tt := range []struct {
		in   int
		want string
	}{{0, "0"}, {500, "500"}, {1000, "1k"}, {2500, "2.5k"}, {50000, "50k"}, {1000000, "1M"}, {2500000, "2.5M"}} {
		if got := compact(tt.in); got != tt.want {
			t.Errorf("compact(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQueueChartBreaksAtGaps(t *testing.T) {
	h := hourOf(func(i int, m *activity.Minute) {
		if i < 10 || (i >= 20 && i < 25) {
			m.Sampled, m.Queue = true, i
		}
	})
	c := queueChart("q", h)
	if len(c.Lines) != 2 || len(c.Areas) != 2 {
		t.Fatalf("%d lines, %d areas; want 2 runs of samples", len(c.Lines), len(c.Areas))
	}
	if n := len(strings.Fields(c.Lines[0])); n != 10 {
		t.Errorf("first line has %d points, want 10", n)
	}
	if c.YTicks[len(c.YTicks)-1].Label != "50" {
		t.Errorf("y axis tops at %q, want 50 (the highest sample is 24)", c.YTicks[len(c.YTicks)-1].Label)
	}
	if !strings.Contains(c.Summary, "24 at the last sample") || !strings.Contains(c.Summary, "the highest 24 at 09:55 UTC") {
		t.Errorf("summary %q", c.Summary)
	}
	if empty := queueChart("e", hourOf(func(int, *activity.Minute) {})); empty.Empty == "" || len(empty.Lines) != 0 {
		t.Errorf("a chart without samples: %+v", empty)
	}
}

func TestDeliveryChartStacksFailures(t *testing.T) {
	h := hourOf(func(i int, m *activity.Minute) {
		if i == 59 {
			m.Delivered, m.Failed = 6, 4
		}
		if i == 30 {
			m.Failed = 1
		}
	})
	c := deliveryChart("d", h)
	if len(c.Bars) != 3 {
		t.Fatalf("%d bars, want 3: %+v", len(c.Bars), c.Bars)
	}
	fail30, ok59, fail59 := c.Bars[0], c.Bars[1], c.Bars[2]
	if !fail30.Failed || ok59.Failed || !fail59.Failed {
		t.Errorf("bars %+v: want failed, delivered, failed", c.Bars)
	}
	if fail59.Y+fail59.H != ok59.Y || ok59.Y+ok59.H != c.PlotBase {
		t.Errorf("the failures do not sit on the deliveries: %+v %+v (base %d)", ok59, fail59, c.PlotBase)
	}
	if ok59.H <= fail59.H {
		t.Errorf("6 delivered drawn %d high, 4 failed %d: heights not proportional", ok59.H, fail59.H)
	}
	if !strings.Contains(c.Summary, "6 messages delivered, 5 attempts failed") || !strings.Contains(c.Summary, "10:30 UTC") {
		t.Errorf("summary %q", c.Summary)
	}
	rows := figures(h)
	if len(rows) != 2 || rows[0].Minute != "10:30 UTC" || rows[0].Queue != "–" || rows[0].Delivered != 6 {
		t.Errorf("figures %+v: want the two busy minutes, newest first", rows)
	}
}

// A lone sample is drawn as a short flat stroke with its area, two runs
// with a gap between them as two lines.
func TestQueueChartPoints(t *testing.T) {
	c := queueChart("q", hourOf(func(i int, m *activity.Minute) {
		switch i {
		case 0, 1:
			m.Queue, m.Sampled = 2, true
		case 59:
			m.Queue, m.Sampled = 5, true
		}
	}))
	want := []string{"52.5,88.0 61.5,88.0", "580.5,10.0 586.5,10.0"}
	wantAreas := []string{"52.5,140 52.5,88.0 61.5,88.0 61.5,140", "580.5,140 580.5,10.0 586.5,10.0 586.5,140"}
	if !slices.Equal(c.Lines, want) || !slices.Equal(c.Areas, wantAreas) {
		t.Errorf("lines %q, areas %q; want %q and %q", c.Lines, c.Areas, want, wantAreas)
	}
}
