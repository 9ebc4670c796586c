package deliver

import (
	"math"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Backoff parameters besides retry_initial and retry_max.
const (
	backoffMultiplier = 2.0
	backoffJitter     = 0.5 // randomization factor: ±50 %
)

// MaxAfter caps the wait a receiver can ask for (Result.After): one asking
// for more is retried after this long, so a bad answer cannot stall an
// instance for days.
const MaxAfter = time.Hour

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
