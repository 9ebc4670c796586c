// Package schedule decides when an instance polls: on wall-clock multiples of an
// interval or on a cron expression, read in a configured time zone, and only inside
// the configured active hours.
//
// # Interval schedules
//
// An interval schedule polls on wall-clock multiples of the interval counted from
// local midnight: 15m polls at :00, :15, :30 and :45 local time; 7m polls at 00:00,
// 00:07, ... 23:55 and starts again at 00:00 the next day (an interval that does not
// divide 24h restarts at every local midnight). Each poll is a wall-clock time of the
// day; what happens on a daylight-saving change follows from the wall clock:
//
//   - Spring forward: the skipped wall-clock times do not exist, so there are no polls
//     in the skipped hour and no extra ones after it. A 1h interval polls 23 times that
//     day; 15m polls 92 times.
//   - Fall back: the repeated wall-clock times happen twice, and each occurrence is a
//     poll. A 1h interval polls 25 times that day (02:00 twice in Europe/Berlin); 15m
//     polls 100 times.
//
// Next to a change two polls can be closer than the interval: 7m polls at 01:59 and then
// at 03:02 on a spring-forward day (03:02 is the next wall-clock multiple), and a 2h
// interval polls at 02:00 in both occurrences of Berlin's repeated hour, one hour apart.
//
// # Cron schedules
//
// A 5-field cron expression (robfig/cron/v3 standard parser; @hourly, @daily etc. are
// accepted, @every and CRON_TZ= are not: use an interval and the timezone setting) is
// evaluated in the zone by robfig/cron, which steps through absolute time: a time in the
// skipped hour of a spring-forward day does not fire that day ("30 2 * * *" skips
// 29 March 2026 in Europe/Berlin), and a time in the repeated hour of a fall-back day
// fires in both occurrences ("30 2 * * *" fires twice on 25 October 2026 in Berlin),
// which is the same rule as for intervals.
//
// # Active hours
//
// A window is written "<days> <start>-<end>": days are Mon..Sun (or full names), lists
// and ranges ("Mon-Fri", "Mon,Wed", "Fri-Mon" wraps), "*" for every day, or omitted for
// every day; times are HH:MM, end may be 24:00. A window includes its start and excludes
// its end: "Mon-Fri 07:00-19:00" with 15m polls at 07:00 ... 18:45. A window whose end
// is not after its start runs overnight: "Fri 22:00-06:00" covers Friday 22:00 to
// Saturday 06:00 (the day names the day the window opens). Windows are read on the wall
// clock in the zone. With windows, Next returns the first due poll inside one of them;
// polls outside are skipped, not postponed.
package schedule
