package tenant

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/fleet"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// simAgent is a stand-in for one agent of a fleet: its own app client id (so the fake tenant
// can tell who asked), its registry, and a delta cursor per drive. It reports every changed
// file it sees after a drive's baseline.
type simAgent struct {
	name    string
	client  *connector.Client
	reg     *Registry
	cursors map[string]string
}

type delivery struct{ drive, item, etag string }

func newSimAgent(t *testing.T, tn *graphtest.Tenant, shard, shards int, saved []Drive) *simAgent {
	t.Helper()
	name := fmt.Sprintf("agent-%d", shard)
	c, err := connector.NewClient(connector.ClientOptions{
		Auth: connector.AuthConfig{Flow: connector.FlowClientCredentials, ClientID: name, Tenant: "contoso.onmicrosoft.com",
			ClientSecret: "s", LoginURL: tn.LoginURL(), GraphURL: tn.GraphURL()},
		HTTPClient: tn.Client(), Version: "test",
		Budget: connector.NewBudget(connector.BudgetOptions{RequestsPerSecond: 500, Concurrency: 4}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &simAgent{name: name, client: c, cursors: map[string]string{},
		reg: New(Options{Fleet: fleet.Membership{Shards: shards, Shard: shard}, Rediscover: time.Hour, Handover: time.Hour}, saved)}
}

func (a *simAgent) discover(t *testing.T, now time.Time) []Change {
	t.Helper()
	found, err := a.client.Discover(context.Background(), connector.DiscoverOptions{Users: true, Sites: true})
	if err != nil {
		t.Fatalf("%s: discover: %v", a.name, err)
	}
	changes := append(a.reg.Apply(found, now), a.reg.Expire(now)...)
	for _, c := range changes {
		if c.Kind == Dropped {
			delete(a.cursors, strings.ToLower(c.Drive.DriveID))
		}
	}
	return changes
}

// pollAll polls every drive of the registry once: a baseline for a drive without a cursor
// (nothing reported), else a round from the cursor whose files are reported.
func (a *simAgent) pollAll(t *testing.T, deliver func(agent string, d delivery)) {
	t.Helper()
	for _, d := range a.reg.Polled() {
		k := strings.ToLower(d.DriveID)
		link, baseline := a.cursors[k], false
		if link == "" {
			link, baseline = a.client.DeltaURL(d.DriveID), true
		}
		for {
			p, err := a.client.Page(context.Background(), link)
			if err != nil {
				t.Fatalf("%s: drive %s: %v", a.name, d.DriveID, err)
			}
			for _, it := range p.Items {
				if !baseline && !it.Folder && !it.Deleted {
					deliver(a.name, delivery{d.DriveID, it.ID, it.ETag})
				}
			}
			if p.DeltaLink != "" {
				a.cursors[k] = p.DeltaLink
				break
			}
			link = p.NextLink
		}
	}
}

// TestFleet runs three agents with shards = 3 on one tenant, then four: each drive is polled by
// exactly one agent, every change is delivered once, an unchanged tenant costs one request per
// drive, users come and go, and going to four shards moves at most 35 % of the drives, loses
// no change, and re-enumerates none of the drives that stay.
func TestFleet(t *testing.T) {
	// A fixed seed fixes the drive ids, so the share of drives that move is the same on every
	// run (agent/fleet checks the bound over 5,000 ids).
	tn := graphtest.NewTenant(graphtest.TenantOptions{MaxTop: 7, Seed: 12})
	defer tn.Close()
	var users []string
	for i := range 30 {
		users = append(users, tn.AddUser(graphtest.TenantUser{UPN: fmt.Sprintf("user%02d@contoso.com", i)}))
	}
	tn.AddUser(graphtest.TenantUser{UPN: "guest@contoso.com", Guest: true})
	tn.AddUser(graphtest.TenantUser{UPN: "nodrive@contoso.com", NoDrive: true})
	var sites []string
	for i := range 6 {
		sites = append(sites, tn.AddSite(fmt.Sprintf("/sites/team%d", i), "", "Documents", "Shared"))
	}
	drives := func() []string { // every drive that should be watched
		var ids []string
		for _, u := range users {
			if d := tn.UserDrive(u); d != nil {
				ids = append(ids, d.DriveID())
			}
		}
		for _, s := range sites {
			for _, d := range tn.SiteDrives(s) {
				ids = append(ids, d.DriveID())
			}
		}
		sort.Strings(ids)
		return ids
	}
	for _, id := range tn.DriveIDs() {
		tn.Drive(id).CreateFile(tn.Drive(id).Root(), "seed.txt", []byte("seed"))
	}

	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	agents := []*simAgent{newSimAgent(t, tn, 0, 3, nil), newSimAgent(t, tn, 1, 3, nil), newSimAgent(t, tn, 2, 3, nil)}
	got := map[delivery][]string{}
	deliver := func(agent string, d delivery) { got[d] = append(got[d], agent) }
	for _, a := range agents {
		a.discover(t, now)
		a.pollAll(t, deliver)
	}

	// Each drive is polled by exactly one agent, the one the hash names.
	want := drives()
	polledBy := map[string][]string{}
	for _, a := range agents {
		for _, d := range a.reg.Polled() {
			polledBy[d.DriveID] = append(polledBy[d.DriveID], a.name)
		}
	}
	if len(polledBy) != len(want) || len(want) != 30+6*2 {
		t.Fatalf("%d drives polled, %d to watch", len(polledBy), len(want))
	}
	for _, id := range want {
		if p := polledBy[id]; len(p) != 1 || p[0] != fmt.Sprintf("agent-%d", fleet.Owner(id, 3)) {
			t.Errorf("drive %s polled by %v", id, p)
		}
	}
	clients := map[string]map[string]bool{}
	for _, r := range tn.Requests() {
		// Discovery reads every user's drive resource on every agent; polls are delta requests.
		if r.DriveID != "" && strings.Contains(r.Path, "/delta") {
			if clients[r.DriveID] == nil {
				clients[r.DriveID] = map[string]bool{}
			}
			clients[r.DriveID][r.Client] = true
		}
	}
	for id, cs := range clients {
		if len(cs) != 1 {
			t.Errorf("the tenant saw drive %s read by %v", id, cs)
		}
	}

	// Every change is delivered once.
	change := func(name string) map[delivery]bool {
		made := map[delivery]bool{}
		for _, id := range drives() {
			d := tn.Drive(id)
			item := d.CreateFile(d.Root(), name, []byte(name))
			e, _ := d.Item(item)
			made[delivery{id, item, e.ETag}] = true
		}
		return made
	}
	made := change("one.txt")
	for _, a := range agents {
		a.pollAll(t, deliver)
	}
	checkOnce(t, "shards = 3", made, got, nil)

	// An unchanged tenant costs exactly one request per drive.
	tn.ResetRequests()
	for _, a := range agents {
		a.pollAll(t, deliver)
	}
	perDrive := map[string]int{}
	for _, r := range tn.Requests() {
		perDrive[r.DriveID]++
	}
	for _, id := range want {
		if perDrive[id] != 1 {
			t.Errorf("unchanged drive %s cost %d requests", id, perDrive[id])
		}
	}
	if len(tn.Requests()) != len(want) {
		t.Errorf("an unchanged tenant of %d drives cost %d requests", len(want), len(tn.Requests()))
	}

	// A user joins and one leaves between two discoveries.
	now = now.Add(time.Hour)
	newUser := tn.AddUser(graphtest.TenantUser{UPN: "newcomer@contoso.com"})
	users = append(users, newUser)
	left := users[0]
	leftDrive := tn.UserDrive(left).DriveID()
	tn.RemoveUser(left)
	users = users[1:]
	var added, gone []string
	for _, a := range agents {
		for _, c := range a.discover(t, now) {
			switch c.Kind {
			case Added:
				added = append(added, a.name+" "+c.Drive.Owner)
			case Gone:
				gone = append(gone, a.name+" "+c.Drive.DriveID)
			}
		}
	}
	newDrive := tn.UserDrive(newUser).DriveID()
	if len(added) != 1 || added[0] != fmt.Sprintf("agent-%d newcomer@contoso.com", fleet.Owner(newDrive, 3)) {
		t.Errorf("added %v", added)
	}
	if len(gone) != 1 || gone[0] != fmt.Sprintf("agent-%d %s", fleet.Owner(leftDrive, 3), leftDrive) {
		t.Errorf("gone %v", gone)
	}
	for _, a := range agents {
		a.pollAll(t, deliver) // the newcomer's baseline
	}

	// Four shards: restart the three with the new configuration (state kept), add a fourth.
	now = now.Add(time.Hour)
	for i, a := range agents {
		cursors := a.cursors
		agents[i] = newSimAgent(t, tn, i, 4, a.reg.Drives())
		agents[i].cursors = cursors
	}
	agents = append(agents, newSimAgent(t, tn, 3, 4, nil))
	want = drives()
	moved := map[string]bool{}
	for _, id := range want {
		if fleet.Owner(id, 3) != fleet.Owner(id, 4) {
			moved[id] = true
		}
	}
	pct := float64(len(moved)) * 100 / float64(len(want))
	t.Logf("3 → 4 shards: %d of %d drives move (%.0f %%)", len(moved), len(want), pct)
	if pct > 35 || len(moved) == 0 {
		t.Errorf("%.0f %% of the drives moved", pct)
	}
	tn.ResetRequests()
	for _, a := range agents {
		a.discover(t, now)
	}
	// A change made before the new shard's baseline is in that baseline, silently: only the
	// old owner, polling the drive during the handover, reports it.
	made = change("two.txt")
	for _, a := range agents { // agents 0-2 poll, then agent 3 baselines its drives
		a.pollAll(t, deliver)
	}
	checkOnce(t, "before the new baseline", made, got, nil)
	// Once the new shard has its baseline, a change of a moved drive may be reported by both
	// agents until the handover ends; no change is lost.
	made = change("two-b.txt")
	for _, a := range agents {
		a.pollAll(t, deliver)
	}
	checkOnce(t, "during the handover", made, got, moved)
	for _, r := range tn.Requests() {
		if r.DriveID != "" && !moved[r.DriveID] && strings.HasSuffix(r.Path, "/root/delta") && !strings.Contains(r.Query, "token=") {
			t.Errorf("drive %s, which did not move, was enumerated again", r.DriveID)
		}
	}

	// After the handover each drive has one agent again.
	now = now.Add(time.Hour)
	for _, a := range agents {
		a.discover(t, now)
	}
	made = change("three.txt")
	for _, a := range agents {
		a.pollAll(t, deliver)
	}
	checkOnce(t, "after the handover", made, got, nil)
	for _, id := range want {
		n := 0
		for _, a := range agents {
			for _, d := range a.reg.Polled() {
				if d.DriveID == id {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("after the handover drive %s is polled by %d agents", id, n)
		}
	}
}

// checkOnce checks that every change in made was delivered exactly once, or, for drives in
// twice, once or twice by different agents.
func checkOnce(t *testing.T, phase string, made map[delivery]bool, got map[delivery][]string, twice map[string]bool) {
	t.Helper()
	for d := range made {
		n := len(got[d])
		switch {
		case n == 0:
			t.Errorf("%s: change %v lost", phase, d)
		case n == 2 && twice[d.drive] && got[d][0] != got[d][1]:
		case n != 1:
			t.Errorf("%s: change %v delivered by %v", phase, d, got[d])
		}
	}
}
