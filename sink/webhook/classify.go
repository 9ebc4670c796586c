package webhook

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
)

// Classify maps a response status to an outcome for a message of events
// events: 2xx delivers; 400, 415, 422, and 413 for a single event reject;
// 413 for several events splits; anything else retries, including 3xx (never
// followed), 401, 403, 404, 408, 429, 5xx and status 0, which stands for a
// timeout or a connection error.
func Classify(status int, events int) deliver.Outcome {
	switch {
	case status >= 200 && status <= 299:
		return deliver.Delivered
	case status == http.StatusRequestEntityTooLarge:
		if events > 1 {
			return deliver.Split
		}
		return deliver.Reject
	case status == http.StatusBadRequest, status == http.StatusUnsupportedMediaType,
		status == http.StatusUnprocessableEntity:
		return deliver.Reject
	default:
		return deliver.Retry
	}
}

// MaxRetryAfter caps the wait a Retry-After header can impose. A receiver
// asking for more (or a date far ahead) is retried after this long, so a bad
// header cannot stall an instance for days; the backoff still applies.
const MaxRetryAfter = deliver.MaxAfter

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
