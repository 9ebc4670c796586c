package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
)

// The charts are drawn on the server as inline SVG: no script, no style
// attributes (the Content-Security-Policy allows neither inline), colours
// from the stylesheet, and a hatch pattern so that failures stand out
// without colour. Each chart carries a one-sentence text alternative and a
// table of its figures.

// Geometry of a chart's viewBox, in SVG units.
const (
	chartSlot   = 9 // width of one minute
	chartLeft   = 48
	chartRight  = 8
	chartTop    = 10
	chartBottom = 26
	chartPlotH  = 130
	chartPlotW  = chartSlot * activity.Minutes
	chartW      = chartLeft + chartPlotW + chartRight
	chartH      = chartTop + chartPlotH + chartBottom
)

type tick struct {
	X, Y   int
	Label  string
	Anchor string // text-anchor of an x label
}

type bar struct {
	X, Y, W, H int
	Failed     bool
}

// chartRow is one minute with figures, for the charts' table.
type chartRow struct {
	Minute    string
	Queue     string
	Delivered int
	Failed    int
}

// chart is what the chart template draws.
type chart struct {
	ID        string // unique on the page: prefix of the element ids
	Kind      string // "queue" or "deliveries"
	Title     string
	Summary   string // the text alternative
	W, H      int
	PlotLeft  int
	PlotRight int
	PlotTop   int
	PlotBase  int
	YLabelX   int // right edge of the y labels
	XLabelY   int // baseline of the x labels
	YTicks    []tick
	XTicks    []tick
	Lines     []string // polyline points, one per run of sampled minutes
	Areas     []string // polygon points under each line
	Bars      []bar
	Empty     string // shown instead of data when there is none
}

func newChart(id, kind, title string) chart {
	c := chart{
		ID: id, Kind: kind, Title: title, W: chartW, H: chartH,
		PlotLeft: chartLeft, PlotRight: chartLeft + chartPlotW, PlotTop: chartTop, PlotBase: chartTop + chartPlotH,
		YLabelX: chartLeft - 6, XLabelY: chartH - 6,
	}
	for _, m := range []int{60, 45, 30, 15, 0} {
		label := strconv.Itoa(m) + " min ago"
		if m == 0 {
			label = "now"
		}
		c.XTicks = append(c.XTicks, tick{X: chartLeft + (activity.Minutes-m)*chartSlot, Label: label, Anchor: "middle"})
	}
	c.XTicks[0].Anchor = "start"
	c.XTicks[len(c.XTicks)-1].Anchor = "end"
	return c
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceMax(v int) int {
	if v < 1 {
		return 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

func (c *chart) yAxis(max int) {
	c.YTicks = []tick{{Y: c.PlotBase, Label: "0"}}
	if max >= 2 && max%2 == 0 {
		c.YTicks = append(c.YTicks, tick{Y: c.PlotBase - chartPlotH/2, Label: compact(max / 2)})
	}
	c.YTicks = append(c.YTicks, tick{Y: c.PlotTop, Label: compact(max)})
}

// compact writes an axis label short enough for the chart's margin:
// 500, 2k, 50k, 1M, 2.5M.
func compact(n int) string {
	switch {
	case n < 1000:
		return strconv.Itoa(n)
	case n < 1000000:
		return strconv.FormatFloat(float64(n)/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(float64(n)/1000000, 'f', -1, 64) + "M"
}

func (c *chart) y(v, max int) float64 {
	return float64(c.PlotBase) - float64(v)*float64(chartPlotH)/float64(max)
}

func minuteLabel(t time.Time) string { return t.UTC().Format("15:04") + " UTC" }

// queueChart draws the highest queued-event count of each minute as a line;
// minutes without a sample break the line.
func queueChart(id string, h activity.Hour) chart {
	c := newChart(id, "queue", "Queued events per minute, last hour")
	max, maxAt, last, sampled := 0, time.Time{}, -1, false
	for _, m := range h.Minutes {
		if !m.Sampled {
			continue
		}
		sampled = true
		last = m.Queue
		if m.Queue > max || maxAt.IsZero() {
			max, maxAt = m.Queue, m.Start
		}
	}
	if !sampled {
		c.Empty = "No queue samples yet."
		c.Summary = "No queue samples in the last hour yet."
		c.yAxis(1)
		return c
	}
	top := niceMax(max)
	c.yAxis(top)
	type point struct{ x, y float64 }
	var run []point // the current run of sampled minutes
	flush := func() {
		if len(run) == 0 {
			return
		}
		if len(run) == 1 { // a lone sample: a short flat stroke so it shows
			p := run[0]
			run = []point{{p.x - 3, p.y}, {p.x + 3, p.y}}
		}
		pts := make([]string, len(run))
		for i, p := range run {
			pts[i] = fmt.Sprintf("%.1f,%.1f", p.x, p.y)
		}
		line := strings.Join(pts, " ")
		c.Lines = append(c.Lines, line)
		c.Areas = append(c.Areas, fmt.Sprintf("%.1f,%d %s %.1f,%d", run[0].x, c.PlotBase, line, run[len(run)-1].x, c.PlotBase))
		run = nil
	}
	for i, m := range h.Minutes {
		if !m.Sampled {
			flush()
			continue
		}
		run = append(run, point{float64(chartLeft+i*chartSlot) + chartSlot/2.0, c.y(m.Queue, top)})
	}
	flush()
	c.Summary = fmt.Sprintf("Queued events over the last hour: %s at the last sample, the highest %s at %s.",
		formatCount(last), formatCount(max), minuteLabel(maxAt))
	return c
}

// deliveryChart draws each minute's delivered messages as a solid bar with
// its failed attempts stacked on top, hatched.
func deliveryChart(id string, h activity.Hour) chart {
	c := newChart(id, "deliveries", "Deliveries per minute, last hour")
	max, busiest := 0, activity.Minute{}
	for _, m := range h.Minutes {
		if n := m.Delivered + m.Failed; n > max {
			max, busiest = n, m
		}
	}
	if max == 0 {
		c.Empty = "No deliveries in the last hour."
		c.Summary = "No deliveries in the last hour."
		c.yAxis(1)
		return c
	}
	top := niceMax(max)
	c.yAxis(top)
	for i, m := range h.Minutes {
		if m.Delivered+m.Failed == 0 {
			continue
		}
		x := chartLeft + i*chartSlot + 1
		base := float64(c.PlotBase)
		if m.Delivered > 0 {
			y := c.y(m.Delivered, top)
			c.Bars = append(c.Bars, bar{X: x, Y: int(y), W: chartSlot - 2, H: max1(int(base - y))})
			base = y
		}
		if m.Failed > 0 {
			y := base - float64(m.Failed)*float64(chartPlotH)/float64(top)
			c.Bars = append(c.Bars, bar{X: x, Y: int(y), W: chartSlot - 2, H: max1(int(base - y)), Failed: true})
		}
	}
	c.Summary = fmt.Sprintf("Over the last hour: %s delivered, %s failed; the busiest minute, %s, had %s delivered and %s failed.",
		plural(h.Delivered, "message"), plural(h.Failed, "attempt"), minuteLabel(busiest.Start), formatCount(busiest.Delivered), formatCount(busiest.Failed))
	return c
}

// figures lists the minutes of h that have a queue sample or a delivery,
// newest first: the charts' figures as a table.
func figures(h activity.Hour) []chartRow {
	var out []chartRow
	for i := len(h.Minutes) - 1; i >= 0; i-- {
		m := h.Minutes[i]
		if !m.Sampled && m.Delivered+m.Failed == 0 {
			continue
		}
		out = append(out, chartRow{Minute: minuteLabel(m.Start), Queue: queueCell(m), Delivered: m.Delivered, Failed: m.Failed})
	}
	return out
}

func queueCell(m activity.Minute) string {
	if !m.Sampled {
		return "–"
	}
	return formatCount(m.Queue)
}

func max1(v int) int { return max(v, 1) }

// formatCount writes n with thin groups: 1234567 → "1,234,567".
func formatCount[T int | int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
