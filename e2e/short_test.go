//go:build !e2e

package e2e

import "time"

// The default mode: a short version of every scenario, under a minute in
// all. The long mode (build tag e2e) is in long_test.go.
var P = Params{
	Long:            false,
	ChurnPopulate:   300,
	ChurnPolls:      40,
	ChurnFor:        0,
	ChurnBatch:      40,
	OutageFor:       4 * time.Second,
	OutageBacklog:   1500,
	CrashKills:      20,
	CrashPopulate:   400,
	CrashMaxUp:      700 * time.Millisecond,
	CrashBurst:      600,
	CrashBurstEvery: 400,
	OrderPolls:      5,
	ThrottleNoRA:    1,
	RotationRounds:  3,
}
