package callback

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Outcome is what the dispatcher does with a message after one attempt.
type Outcome int

// The outcomes of CONTRACT section 5's response table.
const (
	Retry     Outcome = iota // send the same message again after a backoff
	Delivered                // the receiver accepted it: ack
	Reject                   // the receiver refuses it: move it to the dead letters
	Split                    // too large: replace it by two halves and send those
)

// String returns the outcome's name as used in logs and metrics labels.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Reject:
		return "rejected"
	case Split:
		return "split"
	default:
		return "retry"
	}
}

// Classify maps a response status to an outcome for a message of events
// events: 2xx delivers; 400, 415, 422, and 413 for a single event reject;
// 413 for several events splits; anything else retries, including 3xx (never
// followed), 401, 403, 404, 408, 429, 5xx and status 0, which stands for a
// timeout or a connection error.
func Classify(status int, events int) Outcome {
	switch {
	case status >= 200 && status <= 299:
		return Delivered
	case status == http.StatusRequestEntityTooLarge:
		if events > 1 {
			return Split
		}
		return Reject
	case status == http.StatusBadRequest, status == http.StatusUnsupportedMediaType,
		status == http.StatusUnprocessableEntity:
		return Reject
	default:
		return Retry
	}
}

// MaxRetryAfter caps the wait a Retry-After header can impose. A receiver
// asking for more (or a date far ahead) is retried after this long, so a bad
// header cannot stall an instance for days; the backoff still applies.
const MaxRetryAfter = time.Hour

// ParseRetryAfter reads a Retry-After value, either delay-seconds or an HTTP
// date (RFC 9110 section 10.2.3), relative to now. It returns the wait,
// between 0 and MaxRetryAfter, and false when the value is absent or
// unreadable.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return 0, false
			}
			return MaxRetryAfter, true
		}
		if secs >= uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > MaxRetryAfter:
		return MaxRetryAfter, true
	}
	return d, true
}

// Backoff parameters besides retry_initial and retry_max.
const (
	backoffMultiplier = 2.0
	backoffJitter     = 0.5 // randomization factor: ±50 %
)

// RetryDelay returns the wait before attempt+1 after attempt failed attempts
// (attempt >= 1): retryInitial × 2^(attempt-1), capped at retryMax, with
// ±50 % jitter, kept within [retryInitial, retryMax]. The interval depends
// only on the persisted attempt count, so a restart continues the backoff
// where it was. Non-positive arguments fall back to 1s and 5m.
func RetryDelay(attempt int, retryInitial, retryMax time.Duration) time.Duration {
	if retryInitial <= 0 {
		retryInitial = time.Second
	}
	if retryMax <= 0 {
		retryMax = 5 * time.Minute
	}
	if retryMax < retryInitial {
		retryMax = retryInitial
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     retryInitial,
		RandomizationFactor: backoffJitter,
		Multiplier:          backoffMultiplier,
		MaxInterval:         retryMax,
		MaxElapsedTime:      0, // never stop (the library's default is 15 minutes)
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	// After saturate steps the interval is retryMax for ever: stepping further
	// changes nothing, so attempt counts in the millions cost no more.
	saturate := int(math.Ceil(math.Log(float64(retryMax)/float64(retryInitial))/math.Log(backoffMultiplier))) + 1
	steps := max(1, min(attempt, saturate))
	var d time.Duration
	for range steps {
		d = b.NextBackOff()
	}
	return min(max(d, retryInitial), retryMax)
}
