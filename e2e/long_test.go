//go:build e2e

package e2e

import "time"

// The long mode (go test -tags e2e -run . -count=1 -timeout 60m -v ./e2e/):
// thousands of changes over several minutes, outages of minutes, 60 kills.
var P = Params{
	Long:            true,
	ChurnPopulate:   3000,
	ChurnPolls:      0,
	ChurnFor:        4 * time.Minute,
	ChurnBatch:      150,
	OutageFor:       3 * time.Minute,
	OutageBacklog:   60000,
	CrashKills:      60,
	CrashPopulate:   3000,
	CrashMaxUp:      3 * time.Second,
	CrashBurst:      2500,
	CrashBurstEvery: 2000,
	OrderPolls:      25,
	ThrottleNoRA:    2,
	RotationRounds:  10,
}
