package e2e

import "time"

// Params sizes the scenarios; P is set by short_test.go (default) or
// long_test.go (build tag e2e).
type Params struct {
	Long bool
	// churn: items before the baseline, number of polls (or, when ChurnFor
	// is set, how long to go on), largest number of changes between polls.
	ChurnPopulate int
	ChurnPolls    int
	ChurnFor      time.Duration
	ChurnBatch    int
	// outage: how long the receiver refuses connections, and about how many
	// events pile up meanwhile.
	OutageFor     time.Duration
	OutageBacklog int
	// crash: number of SIGKILLs, items before the baseline, longest run
	// between a start and its kill, size of the occasional bulk creation.
	CrashKills    int
	CrashPopulate int
	CrashMaxUp    time.Duration
	CrashBurst    int
	// CrashBurstEvery is how many single changes come between two bulk
	// creations.
	CrashBurstEvery int
	// Microsoft misbehaving: polls per ordering variant, throttles without
	// Retry-After (each costs about 5 s of backoff), delegated refresh
	// token rotations (each with a kill).
	OrderPolls     int
	ThrottleNoRA   int
	RotationRounds int
}
