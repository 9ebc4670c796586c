package agent

import (
	"sync"
	"time"
)

// loginReminderEvery is how often a poll of an instance that still needs a
// sign-in logs a reminder; the polls in between log at debug level.
const loginReminderEvery = 30 * time.Minute

// reminder rate-limits a condition's log lines: the first occurrence, then
// one reminder every period while the condition lasts.
type reminder struct {
	mu     sync.Mutex
	since  time.Time // when the condition began; zero when it does not hold
	last   time.Time // the last line logged
	period time.Duration
}

// Level of the next line: first is true when the condition just began,
// remind when a reminder is due; neither means log at debug level.
func (r *reminder) hit(now time.Time) (first, remind bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		r.since, r.last = now, now
		return true, false
	}
	if now.Sub(r.last) >= r.period {
		r.last = now
		return false, true
	}
	return false, false
}

// clear ends the condition.
func (r *reminder) clear() {
	r.mu.Lock()
	r.since, r.last = time.Time{}, time.Time{}
	r.mu.Unlock()
}

// duration tells how long the condition has held.
func (r *reminder) duration(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return now.Sub(r.since).Round(time.Minute)
}
