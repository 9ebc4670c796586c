package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustNew(t testing.TB, o Options) *Schedule {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return s
}

// utc parses "2006-01-02 15:04:05" as UTC; used where a local wall time is ambiguous.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func local(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchedule_Next(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name  string
		opts  Options
		after time.Time
		want  time.Time
	}{
		{"15m on the quarter", Options{Interval: 15 * time.Minute, Location: ber},
			local(t, ber, "2026-06-10 10:07:00"), local(t, ber, "2026-06-10 10:15:00")},
		{"strictly after", Options{Interval: 15 * time.Minute, Location: ber},
			local(t, ber, "2026-06-10 10:15:00"), local(t, ber, "2026-06-10 10:30:00")},
		{"7m restarts at midnight", Options{Interval: 7 * time.Minute, Location: ber},
			local(t, ber, "2026-06-10 23:55:00"), local(t, ber, "2026-06-11 00:00:00")},
		{"7m multiples", Options{Interval: 7 * time.Minute, Location: ber},
			local(t, ber, "2026-06-10 00:08:00"), local(t, ber, "2026-06-10 00:14:00")},
		{"2h even hours", Options{Interval: 2 * time.Hour, Location: ny},
			local(t, ny, "2026-06-10 23:00:00"), local(t, ny, "2026-06-11 00:00:00")},
		{"UTC default", Options{Interval: time.Hour},
			utc(t, "2026-06-10 10:00:00"), utc(t, "2026-06-10 11:00:00")},
		{"24h daily at midnight", Options{Interval: 24 * time.Hour, Location: ber},
			local(t, ber, "2026-06-10 00:00:00"), local(t, ber, "2026-06-11 00:00:00")},
		// Europe/Berlin spring forward: 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC).
		{"berlin spring 15m skips the gap", Options{Interval: 15 * time.Minute, Location: ber},
			utc(t, "2026-03-29 00:50:00"), utc(t, "2026-03-29 01:00:00")},
		{"berlin spring 1h", Options{Interval: time.Hour, Location: ber},
			utc(t, "2026-03-29 00:00:00"), utc(t, "2026-03-29 01:00:00")},
		{"berlin spring 2h skips 02:00", Options{Interval: 2 * time.Hour, Location: ber},
			local(t, ber, "2026-03-29 00:00:00"), local(t, ber, "2026-03-29 04:00:00")},
		// Europe/Berlin fall back: 2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC).
		{"berlin fall 15m into the repeat", Options{Interval: 15 * time.Minute, Location: ber},
			utc(t, "2026-10-25 00:50:00"), utc(t, "2026-10-25 01:00:00")},
		{"berlin fall 15m after the repeat", Options{Interval: 15 * time.Minute, Location: ber},
			utc(t, "2026-10-25 01:45:00"), utc(t, "2026-10-25 02:00:00")},
		{"berlin fall 1h 02:00 twice", Options{Interval: time.Hour, Location: ber},
			utc(t, "2026-10-25 00:00:00"), utc(t, "2026-10-25 01:00:00")},
		{"berlin fall 7m first 02:06", Options{Interval: 7 * time.Minute, Location: ber},
			utc(t, "2026-10-25 00:00:00"), utc(t, "2026-10-25 00:06:00")},
		{"berlin fall 7m second 02:06", Options{Interval: 7 * time.Minute, Location: ber},
			utc(t, "2026-10-25 00:58:00"), utc(t, "2026-10-25 01:06:00")},
		{"berlin spring 7m 01:59 then 03:02", Options{Interval: 7 * time.Minute, Location: ber},
			utc(t, "2026-03-29 00:59:00"), utc(t, "2026-03-29 01:02:00")},
		// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC);
		// 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).
		{"ny spring 15m", Options{Interval: 15 * time.Minute, Location: ny},
			utc(t, "2026-03-08 06:50:00"), utc(t, "2026-03-08 07:00:00")},
		{"ny spring 2h skips 02:00", Options{Interval: 2 * time.Hour, Location: ny},
			local(t, ny, "2026-03-08 00:30:00"), local(t, ny, "2026-03-08 04:00:00")},
		{"ny fall 1h 01:00 twice", Options{Interval: time.Hour, Location: ny},
			utc(t, "2026-11-01 05:00:00"), utc(t, "2026-11-01 06:00:00")},
		{"ny fall 2h no double", Options{Interval: 2 * time.Hour, Location: ny},
			utc(t, "2026-11-01 04:00:00"), utc(t, "2026-11-01 07:00:00")},
		// Cron in the zone.
		{"cron weekday mornings", Options{Cron: "*/15 7-19 * * 1-5", Location: ber},
			local(t, ber, "2026-06-12 19:50:00"), local(t, ber, "2026-06-15 07:00:00")},
		{"cron berlin spring 02:30 skipped", Options{Cron: "30 2 * * *", Location: ber},
			local(t, ber, "2026-03-28 03:00:00"), local(t, ber, "2026-03-30 02:30:00")},
		{"cron berlin fall 02:30 first", Options{Cron: "30 2 * * *", Location: ber},
			utc(t, "2026-10-24 23:00:00"), utc(t, "2026-10-25 00:30:00")},
		{"cron berlin fall 02:30 second", Options{Cron: "30 2 * * *", Location: ber},
			utc(t, "2026-10-25 00:30:00"), utc(t, "2026-10-25 01:30:00")},
		{"cron ny hourly across spring", Options{Cron: "0 * * * *", Location: ny},
			utc(t, "2026-03-08 06:00:00"), utc(t, "2026-03-08 07:00:00")},
		{"cron @daily", Options{Cron: "@daily", Location: ny},
			local(t, ny, "2026-06-10 12:00:00"), local(t, ny, "2026-06-11 00:00:00")},
		// Active hours.
		{"window friday evening to monday", Options{Interval: 15 * time.Minute, Location: ber, ActiveHours: []string{"Mon-Fri 07:00-19:00"}},
			local(t, ber, "2026-06-12 18:50:00"), local(t, ber, "2026-06-15 07:00:00")},
		{"window end excluded", Options{Interval: 15 * time.Minute, Location: ber, ActiveHours: []string{"Mon-Fri 07:00-19:00"}},
			local(t, ber, "2026-06-10 18:44:00"), local(t, ber, "2026-06-10 18:45:00")},
		{"window start not on a multiple", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"07:30-19:00"}},
			local(t, ber, "2026-06-10 02:00:00"), local(t, ber, "2026-06-10 08:00:00")},
		{"two windows", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"Mon,Wed 08:00-10:00", "Sat 09:00-12:00"}},
			local(t, ber, "2026-06-10 09:30:00"), local(t, ber, "2026-06-13 09:00:00")},
		{"overnight window", Options{Interval: time.Hour, Location: ny, ActiveHours: []string{"Fri 22:00-06:00"}},
			local(t, ny, "2026-06-13 05:00:00"), local(t, ny, "2026-06-19 22:00:00")},
		{"overnight window next morning", Options{Interval: time.Hour, Location: ny, ActiveHours: []string{"Fri 22:00-06:00"}},
			local(t, ny, "2026-06-12 23:00:00"), local(t, ny, "2026-06-13 00:00:00")},
		{"window with cron", Options{Cron: "0 * * * *", Location: ber, ActiveHours: []string{"Sat 09:00-12:00"}},
			local(t, ber, "2026-06-13 11:00:00"), local(t, ber, "2026-06-20 09:00:00")},
		{"window across berlin spring", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"01:00-04:00"}},
			utc(t, "2026-03-29 00:00:00"), utc(t, "2026-03-29 01:00:00")},
		{"whole day", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"* 00:00-24:00"}},
			local(t, ber, "2026-06-10 23:00:00"), local(t, ber, "2026-06-11 00:00:00")},
		{"never meets", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"07:10-07:20"}},
			local(t, ber, "2026-06-10 00:00:00"), time.Time{}},
		{"cron never meets", Options{Cron: "0 3 * * *", Location: ber, ActiveHours: []string{"07:00-19:00"}},
			local(t, ber, "2026-06-10 00:00:00"), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.opts)
			got := s.Next(tt.after)
			if !got.Equal(tt.want) {
				t.Errorf("Next(%v) = %v, want %v", tt.after.In(s.Location()), got.In(s.Location()), tt.want.In(s.Location()))
			}
		})
	}
}

// polls returns every poll on the local calendar day date (YYYY-MM-DD) in the schedule's zone.
func polls(t *testing.T, s *Schedule, date string) []time.Time {
	t.Helper()
	start := local(t, s.Location(), date+" 00:00:00")
	end := start.AddDate(0, 0, 1)
	var out []time.Time
	for c := s.Next(start.Add(-time.Nanosecond)); !c.IsZero() && c.Before(end); c = s.Next(c) {
		if len(out) > 0 && !c.After(out[len(out)-1]) {
			t.Fatalf("Next went backwards: %v after %v", c, out[len(out)-1])
		}
		out = append(out, c)
	}
	return out
}

func TestSchedule_PollsPerDay(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name string
		opts Options
		date string
		want int
	}{
		{"berlin normal 1h", Options{Interval: time.Hour, Location: ber}, "2026-06-10", 24},
		{"berlin spring 1h", Options{Interval: time.Hour, Location: ber}, "2026-03-29", 23},
		{"berlin fall 1h", Options{Interval: time.Hour, Location: ber}, "2026-10-25", 25},
		{"berlin spring 15m", Options{Interval: 15 * time.Minute, Location: ber}, "2026-03-29", 92},
		{"berlin fall 15m", Options{Interval: 15 * time.Minute, Location: ber}, "2026-10-25", 100},
		{"berlin normal 7m", Options{Interval: 7 * time.Minute, Location: ber}, "2026-06-10", 206},
		{"berlin spring 7m", Options{Interval: 7 * time.Minute, Location: ber}, "2026-03-29", 198},
		{"berlin fall 7m", Options{Interval: 7 * time.Minute, Location: ber}, "2026-10-25", 214},
		{"berlin spring 2h", Options{Interval: 2 * time.Hour, Location: ber}, "2026-03-29", 11},
		{"berlin fall 2h", Options{Interval: 2 * time.Hour, Location: ber}, "2026-10-25", 13},
		{"ny spring 1h", Options{Interval: time.Hour, Location: ny}, "2026-03-08", 23},
		{"ny fall 1h", Options{Interval: time.Hour, Location: ny}, "2026-11-01", 25},
		{"ny spring 15m", Options{Interval: 15 * time.Minute, Location: ny}, "2026-03-08", 92},
		{"ny fall 15m", Options{Interval: 15 * time.Minute, Location: ny}, "2026-11-01", 100},
		{"ny spring 7m", Options{Interval: 7 * time.Minute, Location: ny}, "2026-03-08", 198},
		{"ny fall 7m", Options{Interval: 7 * time.Minute, Location: ny}, "2026-11-01", 215},
		{"ny spring 2h", Options{Interval: 2 * time.Hour, Location: ny}, "2026-03-08", 11},
		{"ny fall 2h", Options{Interval: 2 * time.Hour, Location: ny}, "2026-11-01", 12},
		{"berlin spring cron hourly", Options{Cron: "0 * * * *", Location: ber}, "2026-03-29", 23},
		{"berlin fall cron hourly", Options{Cron: "0 * * * *", Location: ber}, "2026-10-25", 25},
		{"ny spring cron 02:30", Options{Cron: "30 2 * * *", Location: ny}, "2026-03-08", 0},
		{"ny fall cron 01:30", Options{Cron: "30 1 * * *", Location: ny}, "2026-11-01", 2},
		{"berlin spring window 1h", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"01:00-04:00"}}, "2026-03-29", 2},
		{"berlin fall window 1h", Options{Interval: time.Hour, Location: ber, ActiveHours: []string{"01:00-04:00"}}, "2026-10-25", 4},
		{"weekday window on saturday", Options{Interval: 15 * time.Minute, Location: ber, ActiveHours: []string{"Mon-Fri 07:00-19:00"}}, "2026-06-13", 0},
		{"weekday window on friday", Options{Interval: 15 * time.Minute, Location: ber, ActiveHours: []string{"Mon-Fri 07:00-19:00"}}, "2026-06-12", 48},
		{"ny fall window cron", Options{Cron: "*/30 * * * *", Location: ny, ActiveHours: []string{"00:00-02:00"}}, "2026-11-01", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, tt.opts)
			got := polls(t, s, tt.date)
			if len(got) != tt.want {
				var b strings.Builder
				for _, p := range got {
					b.WriteString(p.In(s.Location()).Format("15:04 MST "))
				}
				t.Errorf("%d polls on %s, want %d: %s", len(got), tt.date, tt.want, b.String())
			}
			if s.Interval() == 0 || len(s.Windows()) > 0 {
				return
			}
			// Every poll shows a wall-clock multiple of the interval.
			for _, p := range got {
				if wallOffset(p.In(s.Location()))%s.Interval() != 0 {
					t.Errorf("poll at %v is not a wall-clock multiple of %v", p.In(s.Location()), s.Interval())
				}
			}
		})
	}
}

func TestSchedule_Active(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	s := mustNew(t, Options{Interval: time.Minute, Location: ber, ActiveHours: []string{"Mon-Fri 07:00-19:00", "Sat 22:00-02:00"}})
	tests := []struct {
		at   string
		want bool
	}{
		{"2026-06-10 07:00:00", true},  // Wednesday, start included
		{"2026-06-10 06:59:59", false}, // just before
		{"2026-06-10 18:59:59", true},
		{"2026-06-10 19:00:00", false}, // end excluded
		{"2026-06-13 12:00:00", false}, // Saturday noon
		{"2026-06-13 23:00:00", true},  // Saturday night
		{"2026-06-14 01:59:00", true},  // Sunday early, window opened Saturday
		{"2026-06-14 02:00:00", false},
		{"2026-06-15 01:00:00", false}, // Monday early: no Sunday window
	}
	for _, tt := range tests {
		if got := s.Active(local(t, ber, tt.at)); got != tt.want {
			t.Errorf("Active(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
	always := mustNew(t, Options{Interval: time.Minute})
	if !always.Active(time.Now()) {
		t.Error("a schedule without windows is always active")
	}
}

func TestSchedule_Due(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	s := mustNew(t, Options{Interval: 15 * time.Minute, Location: ber, ActiveHours: []string{"Mon-Fri 07:00-19:00"}})
	now := local(t, ber, "2026-06-10 10:20:00")
	tests := []struct {
		name      string
		last, now time.Time
		want      bool
	}{
		{"never polled", time.Time{}, now, true},
		{"missed 10:15", local(t, ber, "2026-06-10 10:10:00"), now, true},
		{"polled at 10:15", local(t, ber, "2026-06-10 10:15:00"), now, false},
		{"outside active hours", time.Time{}, local(t, ber, "2026-06-10 20:00:00"), false},
	}
	for _, tt := range tests {
		if got := s.Due(tt.last, tt.now); got != tt.want {
			t.Errorf("%s: Due = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNew_Errors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"both", Options{Interval: time.Minute, Cron: "* * * * *"}, "not both"},
		{"none", Options{}, "must be positive"},
		{"too long", Options{Interval: 25 * time.Hour}, "longer than 24h"},
		{"bad cron", Options{Cron: "61 * * * *"}, "not a 5-field cron"},
		{"six fields", Options{Cron: "0 0 * * * *"}, "not a 5-field cron"},
		{"cron tz", Options{Cron: "CRON_TZ=UTC 0 * * * *"}, "timezone"},
		{"every", Options{Cron: "@every 5m"}, "use interval"},
		{"bad window", Options{Interval: time.Minute, ActiveHours: []string{"Mon-Fri 7-19"}}, "not a time of day"},
	}
	for _, tt := range tests {
		_, err := New(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "Mon-Fri 07:00-19:00", want: "Mon-Fri 07:00-19:00"},
		{in: "Sat 09:00-12:00", want: "Sat 09:00-12:00"},
		{in: "Mon,Wed 08:00-17:00", want: "Mon,Wed 08:00-17:00"},
		{in: "* 00:00-24:00", want: "* 00:00-24:00"},
		{in: "22:00-06:00", want: "* 22:00-06:00"},
		{in: "fri-mon 7:00-9:30", want: "Mon,Fri-Sun 07:00-09:30"},
		{in: "Sunday 10:00-11:00", want: "Sun 10:00-11:00"},
		{in: "Mon-Fri", err: "time span"},
		{in: "Mon-Fri 07:00-07:00", err: "empty"},
		{in: "Mon-Fri 24:00-07:00", err: "not a time of day"},
		{in: "Mon-Fri 07:00-24:30", err: "not a time of day"},
		{in: "Funday 07:00-08:00", err: "unknown day"},
		{in: "Mon Tue 07:00-08:00", err: "not a window"},
		{in: "", err: "not a window"},
	}
	for _, tt := range tests {
		w, err := ParseWindow(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseWindow(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseWindow(%q): %v", tt.in, err)
			continue
		}
		if got := w.String(); got != tt.want {
			t.Errorf("ParseWindow(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWallInstants(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	if got := wallInstants(2026, time.March, 29, 2*time.Hour+30*time.Minute, ber); len(got) != 0 {
		t.Errorf("02:30 on the spring-forward day exists: %v", got)
	}
	got := wallInstants(2026, time.October, 25, 2*time.Hour+30*time.Minute, ber)
	if len(got) != 2 || !got[0].Equal(utc(t, "2026-10-25 00:30:00")) || !got[1].Equal(utc(t, "2026-10-25 01:30:00")) {
		t.Errorf("02:30 on the fall-back day: %v", got)
	}
	if got := wallInstants(2026, time.June, 1, 0, ber); len(got) != 1 || !got[0].Equal(utc(t, "2026-05-31 22:00:00")) {
		t.Errorf("midnight in June: %v", got)
	}
}
