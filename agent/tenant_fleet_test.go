package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/fleet"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestTenantFleet runs three agents with shards = 3 on one tenant, each with its own data
// directory, then restarts them with shards = 4 beside a fourth: each drive is polled by
// exactly one agent, every change is delivered once (or, for a drive being handed over, by
// its old and new owner), at most 35 % of the drives move, and the others are not
// enumerated again.
func TestTenantFleet(t *testing.T) {
	// A fixed seed fixes the drive ids, so the share that moves is the same on every run.
	tn := graphtest.NewTenant(graphtest.TenantOptions{Seed: 3})
	defer tn.Close()
	for i := range 24 {
		tn.AddUser(graphtest.TenantUser{UPN: fmt.Sprintf("u%02d@contoso.com", i)})
	}
	tn.AddSite("/sites/a", "A", "Documents", "Shared")
	tn.AddSite("/sites/b", "B", "Documents")
	all := tn.DriveIDs()
	ctx := context.Background()
	tc := config.Tenant{Users: true, Sites: true, Rediscover: time.Hour}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()}
	start := func(shards int) []*tenantEnv {
		var envs []*tenantEnv
		for i := range shards {
			e := newTenantEnvAt(t, tn, dirs[i], fmt.Sprintf("agent-%d", i), tc, config.Fleet{Shards: shards, Shard: i, Handover: time.Hour})
			envs = append(envs, e)
		}
		return envs
	}
	stop := func(envs []*tenantEnv) {
		for _, e := range envs {
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	pollAll := func(envs []*tenantEnv) {
		for i, e := range envs {
			if _, err := e.agent.Poll(ctx, "t"); err != nil {
				t.Fatalf("agent %d: %v", i, err)
			}
		}
	}
	// delivered maps "drive file" to the agents that queued it.
	delivered := map[string][]string{}
	collect := func(envs []*tenantEnv) {
		for i, e := range envs {
			for _, ev := range e.queuedIDs(t) {
				delivered[ev] = append(delivered[ev], fmt.Sprint(i))
			}
		}
	}
	change := func(name string) []string {
		var made []string
		for _, id := range all {
			d := tn.Drive(id)
			d.CreateFile(d.Root(), name, []byte(name))
			made = append(made, id+" /"+name)
		}
		return made
	}
	pollers := func() map[string]map[string]bool {
		m := map[string]map[string]bool{}
		for _, r := range tn.Requests() {
			if r.DriveID != "" && strings.Contains(r.Path, "/delta") {
				if m[r.DriveID] == nil {
					m[r.DriveID] = map[string]bool{}
				}
				m[r.DriveID][r.Client] = true
			}
		}
		return m
	}

	envs := start(3)
	pollAll(envs) // discovery and baselines
	made := change("one.txt")
	pollAll(envs)
	collect(envs)
	for id, cs := range pollers() {
		if want := fmt.Sprintf("agent-%d", fleet.Owner(id, 3)); len(cs) != 1 || !cs[want] {
			t.Errorf("drive %s polled by %v, want %s only", id, cs, want)
		}
	}
	if len(pollers()) != len(all) {
		t.Errorf("%d of %d drives polled", len(pollers()), len(all))
	}
	for _, m := range made {
		if len(delivered[m]) != 1 {
			t.Errorf("shards = 3: %s delivered by %v", m, delivered[m])
		}
	}

	// Four shards: the three restart with the new configuration, a fourth joins.
	stop(envs)
	moved := map[string]bool{}
	for _, id := range all {
		if fleet.Owner(id, 3) != fleet.Owner(id, 4) {
			moved[id] = true
		}
	}
	pct := float64(len(moved)) * 100 / float64(len(all))
	t.Logf("3 → 4 shards: %d of %d drives move (%.0f %%)", len(moved), len(all), pct)
	if pct > 35 || len(moved) == 0 {
		t.Fatalf("%.0f %% of the drives move", pct)
	}
	envs = start(4)
	tn.ResetRequests()
	// A change made before the new shard's baseline is reported by the old owner (handover).
	made = change("two.txt")
	pollAll(envs) // agents 0-2 report; agent 3 discovers and baselines
	collect(envs)
	for _, m := range made {
		if len(delivered[m]) != 1 {
			t.Errorf("before the new baseline: %s delivered by %v", m, delivered[m])
		}
	}
	for _, r := range tn.Requests() {
		if r.DriveID != "" && !moved[r.DriveID] && strings.Contains(r.Path, "/delta") && !strings.Contains(r.Query, "token=") {
			t.Errorf("drive %s, which did not move, was enumerated again", r.DriveID)
		}
	}
	// During the handover a moved drive's change may come from both; nothing is lost.
	made = change("three.txt")
	pollAll(envs)
	collect(envs)
	for _, m := range made {
		id, _, _ := strings.Cut(m, " ")
		n := len(delivered[m])
		if n == 0 || (n > 1 && !moved[id]) || n > 2 {
			t.Errorf("during the handover: %s delivered by %v", m, delivered[m])
		}
	}
	stop(envs)
}

// queuedIDs returns the queued events as "driveId path" and acks them.
func (e *tenantEnv) queuedIDs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, ev := range e.queuedEvents(t) {
		out = append(out, ev.DriveID+" "+ev.Path)
	}
	sort.Strings(out)
	return out
}
