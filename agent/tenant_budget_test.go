package agent

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestTenantBudgetRate runs a whole tenant-wide instance (discovery, a
// baseline of every drive, then an idle poll) at requests_per_second = 20
// and counts, on the fake tenant's own clock, the Graph requests that
// arrive in each second: never more than the budget plus 10 %, and the
// budget, not the work, sets the pace.
func TestTenantBudgetRate(t *testing.T) {
	if testing.Short() {
		t.Skip("paces about 150 requests at 20 per second (8 s); skipped in -short")
	}
	const rps, users = 20, 30
	tn := graphtest.NewTenant(graphtest.TenantOptions{MaxTop: 5})
	defer tn.Close()
	for i := range users {
		id := tn.AddUser(graphtest.TenantUser{UPN: fmt.Sprintf("user%02d@contoso.com", i)})
		d := tn.UserDrive(id)
		d.CreateFile(d.Root(), "seed.txt", []byte("seed"))
	}
	e := newTenantEnvWith(t, tn, t.TempDir(), testClientID,
		config.Tenant{Users: true, Rediscover: time.Hour}, config.Fleet{Shards: 1},
		func(ic *config.Instance) { ic.Poll.RequestsPerSecond, ic.Poll.Concurrency = rps, 8 })

	ctx := context.Background()
	start := time.Now()
	for i := range 2 {
		if _, err := e.agent.Poll(ctx, "t"); err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
	}
	took := time.Since(start)
	total := len(tn.Requests())
	peak := tn.MaxPerSecond()
	t.Logf("%d Graph requests in %s, at most %d in one second (budget %d/s)", total, took.Round(time.Millisecond), peak, rps)
	if total < 3*rps {
		t.Fatalf("only %d requests: too few to measure a rate of %d/s", total, rps)
	}
	if limit := rps + rps/10; peak > limit {
		t.Errorf("%d requests arrived in one second; the budget allows %d (+10 %%: %d)", peak, rps, limit)
	}
	// Paced by the budget: the requests cannot have taken much less than total/rps seconds.
	if min := time.Duration(float64(total-rps)/rps*float64(time.Second)) - time.Second; took < min {
		t.Errorf("%d requests took %s: faster than a budget of %d/s allows (at least %s)", total, took, rps, min)
	}
}
