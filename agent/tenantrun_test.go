package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// tenantEnv is an agent with one tenant-wide instance "t" on a fake tenant.
type tenantEnv struct {
	tn    *graphtest.Tenant
	db    *store.DB
	agent *Agent
	in    *instance
}

func newTenantEnv(t *testing.T, tn *graphtest.Tenant, tenantCfg config.Tenant, fl config.Fleet) *tenantEnv {
	t.Helper()
	dir := t.TempDir()
	toml := fmt.Sprintf(`data_dir = %q
[admin]
listen = ""
[[instance]]
name = "t"
[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = %q
client_secret = %q
login_url = %q
graph_url = %q
[instance.drive]
drive = "b!placeholder"
[instance.poll]
interval = "1h"
[instance.callback]
url = "http://127.0.0.1:1/"
`, dir, testClientID, testSecret, tn.LoginURL(), tn.GraphURL())
	cfg, err := config.Parse(filepath.Join(dir, "agent.toml"), []byte(toml), nil)
	if err != nil {
		t.Fatal(err)
	}
	ic := &cfg.Instances[0]
	ic.Drive.Spec, ic.Drive.Tenant = config.DriveAll, &tenantCfg
	ic.Poll.RequestsPerSecond, ic.Poll.Concurrency = 200, 3
	cfg.Fleet = fl
	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, err := New(Options{Config: cfg, DB: db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	in := a.instances["t"]
	if in.tenant == nil {
		t.Fatal("the instance is not tenant-wide")
	}
	in.tenant.tick = 10 * time.Millisecond
	return &tenantEnv{tn: tn, db: db, agent: a, in: in}
}

// queued returns the queued events as "owner driveName name" and acks them.
func (e *tenantEnv) queued(t *testing.T) []string {
	t.Helper()
	msgs, err := e.db.Peek("t", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var keys []uint64
	for _, m := range msgs {
		var body struct {
			Message struct {
				Events []struct {
					DriveID, DriveName, Owner, Path string
				} `json:"events"`
			} `json:"message"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, ev := range body.Message.Events {
			if e.tn.Drive(ev.DriveID) == nil {
				t.Errorf("event with driveId %q", ev.DriveID)
			}
			out = append(out, ev.Owner+" "+ev.DriveName+" "+ev.Path)
		}
		keys = append(keys, m.Key)
	}
	if err := e.db.Ack("t", keys...); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func seedTenant(tn *graphtest.Tenant) (users map[string]string, sites []string) {
	users = map[string]string{}
	for _, u := range []graphtest.TenantUser{
		{UPN: "alice@contoso.com"}, {UPN: "bob@contoso.com"}, {UPN: "carol@contoso.com", NoDrive: true},
		{UPN: "guest@contoso.com", Guest: true},
	} {
		users[u.UPN] = tn.AddUser(u)
	}
	sites = []string{tn.AddSite("/sites/fin", "Finance", "Documents", "Invoices"), tn.AddSite("/sites/empty", "Empty")}
	for _, id := range tn.DriveIDs() {
		tn.Drive(id).CreateFile(tn.Drive(id).Root(), "seed.txt", []byte("seed"))
	}
	return users, sites
}

func TestTenantPoll(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{MaxTop: 2})
	defer tn.Close()
	users, sites := seedTenant(tn)
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Sites: true, Rediscover: time.Hour}, config.Fleet{Shards: 1})
	ctx := context.Background()

	// The first poll discovers and baselines: alice, bob, Finance/Documents, Finance/Invoices.
	res, err := e.agent.Poll(ctx, "t")
	if err != nil || res.Events != 0 {
		t.Fatalf("first poll: %+v, %v", res, err)
	}
	ds, err := e.agent.Drives(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for _, d := range ds {
		owners = append(owners, d.Owner+" "+d.DriveName+" "+d.State)
		if d.LastPoll == nil {
			t.Errorf("drive %s never polled", d.DriveID)
		}
	}
	sort.Strings(owners)
	want := []string{"alice@contoso.com OneDrive idle", "bob@contoso.com OneDrive idle",
		"https://contoso.sharepoint.com/sites/fin Documents idle", "https://contoso.sharepoint.com/sites/fin Invoices idle"}
	if strings.Join(owners, "\n") != strings.Join(want, "\n") {
		t.Fatalf("drives:\n%s\nwant\n%s", strings.Join(owners, "\n"), strings.Join(want, "\n"))
	}

	// Changes in two drives: one queue, events carry the drive.
	alice := tn.UserDrive(users["alice@contoso.com"])
	alice.CreateFile(alice.Root(), "a.txt", []byte("a"))
	inv := tn.SiteDrives(sites[0])[1]
	inv.CreateFile(inv.Root(), "inv.pdf", []byte("i"))
	if res, err := e.agent.Poll(ctx, "t"); err != nil || res.Events != 2 {
		t.Fatalf("second poll: %+v, %v", res, err)
	}
	if got := e.queued(t); strings.Join(got, "|") != "alice@contoso.com OneDrive /a.txt|https://contoso.sharepoint.com/sites/fin Invoices /inv.pdf" {
		t.Errorf("events %v", got)
	}

	// An unchanged tenant costs one request per drive.
	tn.ResetRequests()
	if _, err := e.agent.Poll(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if n := len(tn.Requests()); n != 4 {
		t.Errorf("an unchanged tenant of 4 drives cost %d requests", n)
	}

	// A drive that fails is named, and counted as failing.
	inv.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Status: http.StatusForbidden})
	_, err = e.agent.Poll(ctx, "t")
	if err == nil || !strings.Contains(err.Error(), "sites/fin") || !strings.Contains(err.Error(), "1 of 4 drives failed") {
		t.Errorf("failed drive not named: %v", err)
	}
	st, err := e.agent.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	is := st.Instances[0]
	if is.Drives == nil || *is.Drives != 4 || is.DrivesFailing == nil || *is.DrivesFailing != 1 {
		t.Errorf("status drives %v failing %v", is.Drives, is.DrivesFailing)
	}
	if _, err := e.agent.Poll(ctx, "t"); err != nil {
		t.Errorf("after the fault: %v", err)
	}
	if st, _ := e.agent.Status(ctx); *st.Instances[0].DrivesFailing != 0 {
		t.Error("a drive that recovered still counts as failing")
	}
	if err := e.db.Verify(); err != nil {
		t.Error(err)
	}
}

func TestTenantRun(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{})
	defer tn.Close()
	users, _ := seedTenant(tn)
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Rediscover: 50 * time.Millisecond}, config.Fleet{Shards: 1, Handover: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.agent.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor := func(what string, cond func([]DriveStatus) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ds, err := e.agent.Drives(ctx, "t")
			if err == nil && cond(ds) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: drives %+v (%v)", what, ds, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	polled := func(owner, state string) func([]DriveStatus) bool {
		return func(ds []DriveStatus) bool {
			for _, d := range ds {
				if d.Owner == owner && d.State == state && (state == "gone" || d.LastPoll != nil) {
					return true
				}
			}
			return false
		}
	}
	waitFor("alice baselined at start", polled("alice@contoso.com", DriveIdle))

	// A user joins and another leaves during the run.
	dave := tn.AddUser(graphtest.TenantUser{UPN: "dave@contoso.com"})
	tn.RemoveUser(users["bob@contoso.com"])
	waitFor("dave discovered and baselined", polled("dave@contoso.com", DriveIdle))
	waitFor("bob gone", polled("bob@contoso.com", "gone"))

	d := tn.UserDrive(dave)
	d.CreateFile(d.Root(), "d.txt", []byte("d"))
	if res, err := e.agent.Poll(ctx, "t"); err != nil || res.Events != 1 {
		t.Fatalf("poll: %+v, %v", res, err)
	}
	if got := e.queued(t); len(got) != 1 || got[0] != "dave@contoso.com OneDrive /d.txt" {
		t.Errorf("events %v", got)
	}
}
