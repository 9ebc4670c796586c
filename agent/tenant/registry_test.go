package tenant

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/fleet"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

func td(id string) connector.TenantDrive {
	return connector.TenantDrive{DriveID: id, DriveName: "OneDrive", Owner: id + "@contoso.com", Kind: connector.KindUser}
}

// idsOf returns drive ids that shard `shard` of `shards` owns (owned) or does not.
func idsOf(n, shard, shards int, owned bool) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		id := fmt.Sprintf("b!drive-%d", i)
		if fleet.Owner(id, shards) == shard == owned {
			out = append(out, id)
		}
	}
	return out
}

func kinds(cs []Change) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind+":"+c.Drive.DriveID)
	}
	return strings.Join(out, " ")
}

func TestRegistryLifecycle(t *testing.T) {
	var logs bytes.Buffer
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	r := New(Options{Rediscover: time.Hour, Handover: 30 * time.Minute,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
	a, b, c := td("b!a"), td("b!b"), td("b!c")

	if got := kinds(r.Apply([]connector.TenantDrive{a, b}, t0)); got != "added:b!a added:b!b" {
		t.Fatalf("first discovery: %s", got)
	}
	if got := kinds(r.Apply([]connector.TenantDrive{a, b}, t0.Add(time.Hour))); got != "" {
		t.Errorf("unchanged discovery: %s", got)
	}
	// b leaves, c arrives.
	t1 := t0.Add(2 * time.Hour)
	if got := kinds(r.Apply([]connector.TenantDrive{a, c}, t1)); got != "added:b!c gone:b!b" {
		t.Fatalf("b gone, c added: %s", got)
	}
	if p := r.Polled(); len(p) != 2 || p[0].DriveID != "b!a" || p[1].DriveID != "b!c" {
		t.Errorf("polled %v", p)
	}
	if got := r.Counts(); got[StateActive] != 2 || got[StateGone] != 1 {
		t.Errorf("counts %v", got)
	}
	// b comes back within 4 × rediscover: it resumes.
	if got := kinds(r.Apply([]connector.TenantDrive{a, b, c}, t1.Add(time.Hour))); got != "returned:b!b" {
		t.Fatalf("b back: %s", got)
	}
	// b leaves again and stays away: dropped after 4 × rediscover, not before.
	t2 := t1.Add(2 * time.Hour)
	r.Apply([]connector.TenantDrive{a, c}, t2)
	if got := kinds(r.Expire(t2.Add(4*time.Hour - time.Second))); got != "" {
		t.Errorf("dropped too early: %s", got)
	}
	if got := kinds(r.Expire(t2.Add(4 * time.Hour))); got != "dropped:b!b" {
		t.Errorf("expire: %s", got)
	}
	if len(r.Drives()) != 2 {
		t.Errorf("drives after drop: %v", r.Drives())
	}
	// Renames are taken over silently.
	renamed := a
	renamed.Owner = "alice.new@contoso.com"
	if got := kinds(r.Apply([]connector.TenantDrive{renamed, c}, t2.Add(5*time.Hour))); got != "" {
		t.Errorf("rename: %s", got)
	}
	if r.Drives()[0].Owner != "alice.new@contoso.com" {
		t.Errorf("owner not updated: %+v", r.Drives()[0])
	}
	for _, msg := range []string{"drive discovered", "drive no longer discovered", "drive is this agent's again", "drive dropped"} {
		if n := strings.Count(logs.String(), msg); n == 0 {
			t.Errorf("no log line %q", msg)
		}
	}
	if n := strings.Count(logs.String(), "drive discovered"); n != 3 {
		t.Errorf("%d 'discovered' lines for 3 new drives", n)
	}
}

func TestRegistryFleet(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mine := idsOf(40, 1, 3, true)
	theirs := idsOf(40, 1, 3, false)
	var found []connector.TenantDrive
	for _, id := range append(append([]string(nil), mine...), theirs...) {
		found = append(found, td(id))
	}
	r := New(Options{Fleet: fleet.Membership{Shards: 3, Shard: 1}, Rediscover: time.Hour, Handover: time.Hour}, nil)
	r.Apply(found, t0)
	if p := r.Polled(); len(p) != 40 {
		t.Fatalf("shard 1 of 3 polls %d drives, want its 40", len(p))
	}
	for _, d := range r.Polled() {
		if fleet.Owner(d.DriveID, 3) != 1 {
			t.Errorf("polls %s of shard %d", d.DriveID, fleet.Owner(d.DriveID, 3))
		}
	}

	// Going to 4 shards: the drives that shard 3 wins are handed over, polled until then.
	saved := r.Drives()
	r = New(Options{Fleet: fleet.Membership{Shards: 4, Shard: 1}, Rediscover: time.Hour, Handover: time.Hour}, saved)
	t1 := t0.Add(time.Hour)
	changes := r.Apply(found, t1)
	moved := 0
	for _, id := range mine {
		if fleet.Owner(id, 4) != 1 {
			moved++
		}
	}
	if moved == 0 || len(changes) != moved {
		t.Fatalf("changes %s, want %d moves", kinds(changes), moved)
	}
	for _, c := range changes {
		if c.Kind != Moved || fleet.Owner(c.Drive.DriveID, 4) != 3 || !c.Drive.Until.Equal(t1.Add(time.Hour)) {
			t.Errorf("change %+v", c)
		}
	}
	if len(r.Polled()) != 40 {
		t.Errorf("during the handover %d drives are polled, want all 40", len(r.Polled()))
	}
	if got := kinds(r.Expire(t1.Add(time.Hour))); strings.Count(got, "dropped:") != moved {
		t.Errorf("after the handover: %s", got)
	}
	if len(r.Polled()) != 40-moved {
		t.Errorf("after the handover %d drives are polled", len(r.Polled()))
	}
}
