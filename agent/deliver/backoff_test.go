package deliver

import (
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	const initial, maxD = time.Second, 5 * time.Minute
	for attempt := 1; attempt <= 40; attempt++ {
		base := min(initial<<min(attempt-1, 30), maxD)
		lo, hi := max(base/2, initial), min(base*3/2, maxD)
		for range 50 {
			d := RetryDelay(attempt, initial, maxD)
			if d < lo || d > hi {
				t.Fatalf("RetryDelay(%d) = %v, want within [%v, %v]", attempt, d, lo, hi)
			}
		}
	}
	if d := RetryDelay(1<<40, initial, maxD); d < maxD/2 || d > maxD {
		t.Errorf("RetryDelay(huge) = %v", d)
	}
	if d := RetryDelay(3, 0, 0); d < 2*time.Second || d > 6*time.Second {
		t.Errorf("RetryDelay with defaults = %v", d)
	}
	if d := RetryDelay(2, time.Minute, time.Second); d != time.Minute {
		t.Errorf("RetryDelay with max < initial = %v, want 1m", d)
	}
}
