package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestCheckTenantWide: the drive step of a tenant-wide instance runs its
// discovery and says how many drives it finds.
func TestCheckTenantWide(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{MaxTop: 2})
	defer tn.Close()
	seedTenant(tn)
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Sites: true, Rediscover: time.Hour}, config.Fleet{Shards: 1})
	steps, err := e.agent.Check(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	// The guest's drive is not discovered: between 1 and all of them.
	var n int
	if len(steps) != 3 || !steps[0].OK || !steps[1].OK || !strings.Contains(steps[1].Detail, "discovery finds") {
		t.Fatalf("check of a tenant-wide instance: %+v", steps)
	}
	if _, err := fmt.Sscanf(steps[1].Detail[strings.Index(steps[1].Detail, "finds"):], "finds %d drives", &n); err != nil || n < 1 || n > len(tn.DriveIDs()) {
		t.Errorf("drive step %q: want the number of drives discovery finds (the tenant has %d)", steps[1].Detail, len(tn.DriveIDs()))
	}
	if steps[2].OK {
		t.Errorf("callback step passed against a closed port: %+v", steps[2])
	}
}
