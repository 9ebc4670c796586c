package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Window is one span of active hours: on the days in Days, from Start to End after local
// midnight (wall clock). End <= Start means the window runs overnight into the next day.
type Window struct {
	Days  [7]bool       // indexed by time.Weekday
	Start time.Duration // offset from midnight, [0, 24h)
	End   time.Duration // offset from midnight, (0, 24h]
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// ParseWindow parses an active-hours window such as "Mon-Fri 07:00-19:00", "Sat 09:00-12:00",
// "Mon,Wed 08:00-17:00", "* 00:00-24:00", "22:00-06:00" (every day, overnight). The error
// says what form is expected.
func ParseWindow(s string) (Window, error) {
	var w Window
	fields := strings.Fields(s)
	var days, span string
	switch len(fields) {
	case 1:
		days, span = "*", fields[0]
		if !strings.Contains(span, ":") {
			return w, fmt.Errorf("%q: want a time span like 07:00-19:00 after the days", s)
		}
	case 2:
		days, span = fields[0], fields[1]
	default:
		return w, fmt.Errorf("%q is not a window (e.g. \"Mon-Fri 07:00-19:00\")", s)
	}
	if err := parseDays(days, &w.Days); err != nil {
		return w, fmt.Errorf("%q: %v", s, err)
	}
	from, to, ok := strings.Cut(span, "-")
	if !ok {
		return w, fmt.Errorf("%q: want a time span like 07:00-19:00", s)
	}
	var err error
	if w.Start, err = parseClock(from, false); err != nil {
		return w, fmt.Errorf("%q: %v", s, err)
	}
	if w.End, err = parseClock(to, true); err != nil {
		return w, fmt.Errorf("%q: %v", s, err)
	}
	if w.Start == w.End {
		return w, fmt.Errorf("%q: the window is empty (start equals end); use 00:00-24:00 for a whole day", s)
	}
	return w, nil
}

func parseDays(s string, set *[7]bool) error {
	if s == "*" {
		for i := range set {
			set[i] = true
		}
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, ok := dayNames[strings.ToLower(a)]
		if !ok {
			return fmt.Errorf("unknown day %q (Mon, Tue, Wed, Thu, Fri, Sat, Sun or *)", a)
		}
		to := from
		if isRange {
			if to, ok = dayNames[strings.ToLower(b)]; !ok {
				return fmt.Errorf("unknown day %q (Mon, Tue, Wed, Thu, Fri, Sat, Sun or *)", b)
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			set[d] = true
			if d == to {
				break
			}
		}
	}
	return nil
}

// parseClock parses H:MM or HH:MM; 24:00 only when end is true.
func parseClock(s string, end bool) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, fmt.Errorf("%q is not a time of day (00:00 to 23:59, or 24:00 as an end)", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Contains reports whether the wall-clock time of day off (since midnight) on weekday wd lies
// in the window.
func (w Window) Contains(wd time.Weekday, off time.Duration) bool {
	if w.Start < w.End {
		return w.Days[wd] && off >= w.Start && off < w.End
	}
	prev := (wd + 6) % 7
	return (w.Days[wd] && off >= w.Start) || (w.Days[prev] && off < w.End)
}

// String returns the window in the form ParseWindow reads.
func (w Window) String() string {
	short := [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	var parts []string
	all := true
	for d := 0; d < 7; d++ {
		all = all && w.Days[d]
	}
	if all {
		parts = []string{"*"}
	} else {
		// Runs of consecutive days, Monday first.
		for i := 0; i < 7; {
			d := (i + 1) % 7
			if !w.Days[d] {
				i++
				continue
			}
			j := i
			for j+1 < 7 && w.Days[(j+2)%7] {
				j++
			}
			if j > i {
				parts = append(parts, short[d]+"-"+short[(j+1)%7])
			} else {
				parts = append(parts, short[d])
			}
			i = j + 1
		}
	}
	clock := func(d time.Duration) string {
		return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return strings.Join(parts, ",") + " " + clock(w.Start) + "-" + clock(w.End)
}
