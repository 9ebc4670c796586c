package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // the zone database is built in: Windows hosts need none

	"github.com/robfig/cron/v3"
)

// MaxInterval is the longest interval: polls restart at every local midnight, so longer
// periods are written as cron expressions.
const MaxInterval = 24 * time.Hour

// Options describe a schedule: exactly one of Interval and Cron.
type Options struct {
	Interval    time.Duration  // > 0 and <= 24h; polls on wall-clock multiples from local midnight
	Cron        string         // 5-field cron expression, read in Location
	Location    *time.Location // nil means UTC
	ActiveHours []string       // windows as ParseWindow reads them; empty means always active
}

// Schedule computes poll times. It is immutable and safe for concurrent use.
type Schedule struct {
	interval time.Duration
	cron     cron.Schedule
	expr     string
	loc      *time.Location
	windows  []Window
}

// New builds a schedule. The error names the part that is wrong.
func New(o Options) (*Schedule, error) {
	s := &Schedule{loc: o.Location, interval: o.Interval, expr: o.Cron}
	if s.loc == nil {
		s.loc = time.UTC
	}
	switch {
	case o.Interval != 0 && o.Cron != "":
		return nil, errors.New("give an interval or a cron schedule, not both")
	case o.Cron != "":
		sched, err := parseCron(o.Cron)
		if err != nil {
			return nil, err
		}
		sched.Location = s.loc
		s.cron = sched
	case o.Interval <= 0:
		return nil, fmt.Errorf("interval %v must be positive", o.Interval)
	case o.Interval > MaxInterval:
		return nil, fmt.Errorf("interval %v is longer than 24h; use a cron schedule", o.Interval)
	}
	for _, a := range o.ActiveHours {
		w, err := ParseWindow(a)
		if err != nil {
			return nil, err
		}
		s.windows = append(s.windows, w)
	}
	return s, nil
}

// CheckCron reports whether expr is a cron expression New accepts.
func CheckCron(expr string) error {
	_, err := parseCron(expr)
	return err
}

func parseCron(expr string) (*cron.SpecSchedule, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return nil, fmt.Errorf("%q: set the zone with timezone, not in the expression", expr)
	}
	if strings.HasPrefix(e, "@every") {
		return nil, fmt.Errorf("%q: use interval instead of @every", expr)
	}
	sched, err := cron.ParseStandard(e)
	if err != nil {
		return nil, fmt.Errorf("%q is not a 5-field cron expression (minute hour day-of-month month day-of-week, e.g. \"*/15 7-19 * * 1-5\"): %v", expr, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q: unsupported cron expression", expr)
	}
	return spec, nil
}

// Location returns the zone the schedule is read in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Interval returns the interval, or 0 for a cron schedule.
func (s *Schedule) Interval() time.Duration { return s.interval }

// Windows returns a copy of the active-hours windows.
func (s *Schedule) Windows() []Window { return append([]Window(nil), s.windows...) }

// String describes the schedule, e.g. "every 15m0s in Europe/Berlin, Mon-Fri 07:00-19:00".
func (s *Schedule) String() string {
	var b strings.Builder
	if s.cron != nil {
		fmt.Fprintf(&b, "cron %q in %s", s.expr, s.loc)
	} else {
		fmt.Fprintf(&b, "every %v in %s", s.interval, s.loc)
	}
	for _, w := range s.windows {
		b.WriteString(", ")
		b.WriteString(w.String())
	}
	return b.String()
}

// Active reports whether t lies inside the active hours (always true without windows).
func (s *Schedule) Active(t time.Time) bool {
	if len(s.windows) == 0 {
		return true
	}
	l := t.In(s.loc)
	off := wallOffset(l)
	for _, w := range s.windows {
		if w.Contains(l.Weekday(), off) {
			return true
		}
	}
	return false
}

// Due reports whether an instance whose last successful poll was at last should poll at now:
// now is inside the active hours, and it never polled (last is zero) or a poll the schedule
// planned after last is at or before now. It is the start-up catch-up rule.
func (s *Schedule) Due(last, now time.Time) bool {
	if !s.Active(now) {
		return false
	}
	if last.IsZero() {
		return true
	}
	n := s.Next(last)
	return !n.IsZero() && !n.After(now)
}

// Next returns the first poll strictly after after, inside the active hours. It returns the
// zero time when the schedule never fires again (a cron expression that never matches, or
// windows no poll falls into).
func (s *Schedule) Next(after time.Time) time.Time {
	if len(s.windows) == 0 {
		return s.next(after)
	}
	horizon := after.Add(15 * day)
	if s.cron != nil {
		horizon = after.AddDate(5, 0, 1)
	}
	a := after
	for i := 0; i < 100000; i++ {
		c := s.next(a)
		if c.IsZero() || c.After(horizon) {
			return time.Time{}
		}
		if s.Active(c) {
			return c
		}
		ws := s.nextWindowStart(c)
		if ws.IsZero() {
			return time.Time{}
		}
		a = ws.Add(-time.Nanosecond)
		if a.Before(c) {
			a = c
		}
	}
	return time.Time{}
}

// next is Next without active hours.
func (s *Schedule) next(after time.Time) time.Time {
	if s.cron != nil {
		return s.cron.Next(after)
	}
	return s.nextInterval(after)
}

// maxShift bounds how far a daylight-saving change moves the wall clock.
const maxShift = 3 * time.Hour

// nextInterval returns the first wall-clock multiple of the interval after after. It walks
// the candidates in wall-clock order from a little before after's wall clock and keeps the
// earliest instant after after; once a candidate is more than maxShift past after's wall
// clock, no later candidate can be earlier.
func (s *Schedule) nextInterval(after time.Time) time.Time {
	iv := s.interval
	a := after.In(s.loc)
	y, m, d := a.Date()
	wa := wallOffset(a)
	from := wa - maxShift
	var best time.Time
	for j := -1; j <= 7; j++ {
		base := time.Duration(j) * day
		if base+day <= from {
			continue
		}
		k := time.Duration(0)
		if from > base {
			k = (from - base) / iv
		}
		dy, dm, dd := time.Date(y, m, d+j, 0, 0, 0, 0, time.UTC).Date()
		for ; k*iv < day; k++ {
			pos := base + k*iv
			if !best.IsZero() && pos > wa+maxShift {
				return best
			}
			for _, t := range wallInstants(dy, dm, dd, k*iv, s.loc) {
				if t.After(after) && (best.IsZero() || t.Before(best)) {
					best = t
				}
			}
		}
	}
	return best
}

// nextWindowStart returns the earliest start of a window after t (zero if none within 8 days).
func (s *Schedule) nextWindowStart(t time.Time) time.Time {
	l := t.In(s.loc)
	y, m, d := l.Date()
	var best time.Time
	for j := 0; j <= 8; j++ {
		date := time.Date(y, m, d+j, 0, 0, 0, 0, time.UTC)
		for _, w := range s.windows {
			if !w.Days[date.Weekday()] {
				continue
			}
			st := w.Start
			c := time.Date(date.Year(), date.Month(), date.Day(), int(st/time.Hour), int(st%time.Hour/time.Minute), 0, 0, s.loc)
			if c.After(t) && (best.IsZero() || c.Before(best)) {
				best = c
			}
		}
		if !best.IsZero() && j >= 1 {
			break
		}
	}
	return best
}

// wallOffset returns the wall-clock time of day of t since midnight.
func wallOffset(t time.Time) time.Duration {
	h, m, sec := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(t.Nanosecond())
}

// wallInstants returns every instant at which the wall clock in loc shows the date y-m-d and
// time of day off, in order: none in a skipped (spring-forward) span, two in a repeated
// (fall-back) span, otherwise one.
func wallInstants(y int, m time.Month, d int, off time.Duration, loc *time.Location) []time.Time {
	naive := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(off)
	var offsets [3]int
	for i, probe := range [3]time.Time{naive.Add(-30 * time.Hour), naive, naive.Add(30 * time.Hour)} {
		_, offsets[i] = probe.In(loc).Zone()
	}
	var out []time.Time
	for i, o := range offsets {
		if (i > 0 && o == offsets[0]) || (i == 2 && o == offsets[1]) {
			continue
		}
		t := naive.Add(-time.Duration(o) * time.Second)
		if _, got := t.In(loc).Zone(); got == o {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}
