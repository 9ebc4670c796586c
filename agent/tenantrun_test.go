package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/tenant"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// tenantTOML is the configuration of one tenant-wide instance "t" on the fake tenant at url,
// at 200 requests per second.
func tenantTOML(dir, clientID, url, drive string, concurrency int) string {
	return agentTOML(dir) + instanceBlock{name: "t", clientID: clientID, loginURL: url, graphURL: url + "/v1.0",
		drive: drive, poll: fmt.Sprintf("requests_per_second = 200\nconcurrency = %d\n", concurrency),
		callback: "http://127.0.0.1:1/"}.String()
}

// tenantEnv is an agent with one tenant-wide instance "t" on a fake tenant.
type tenantEnv struct {
	tn    *graphtest.Tenant
	db    *store.DB
	agent *Agent
	in    *instance
}

func newTenantEnv(t *testing.T, tn *graphtest.Tenant, tenantCfg config.Tenant, fl config.Fleet) *tenantEnv {
	t.Helper()
	return newTenantEnvAt(t, tn, t.TempDir(), testClientID, tenantCfg, fl)
}

// newTenantEnvAt is newTenantEnv with the data directory (reused across restarts) and the
// app's client id (so the fake tenant's log tells agents apart) given.
func newTenantEnvAt(t *testing.T, tn *graphtest.Tenant, dir, clientID string, tenantCfg config.Tenant, fl config.Fleet) *tenantEnv {
	t.Helper()
	return newTenantEnvWith(t, tn, dir, clientID, tenantCfg, fl, nil)
}

// newTenantEnvWith is newTenantEnvAt with a last change to the instance's
// configuration (nil: none) before the agent is made.
func newTenantEnvWith(t *testing.T, tn *graphtest.Tenant, dir, clientID string, tenantCfg config.Tenant, fl config.Fleet, change func(*config.Instance)) *tenantEnv {
	t.Helper()
	drive := map[[2]bool]string{{true, false}: config.DriveAllUsers, {false, true}: config.DriveAllSites,
		{true, true}: config.DriveAll}[[2]bool{tenantCfg.Users, tenantCfg.Sites}]
	toml := tenantTOML(dir, clientID, tn.URL, drive, 3)
	cfg, db := parseAndOpen(t, dir, toml)
	ic := &cfg.Instances[0]
	if tc := ic.Drive.Tenant; tc == nil || tc.Users != tenantCfg.Users || tc.Sites != tenantCfg.Sites || ic.Poll.Concurrency != 3 {
		t.Fatalf("the configuration did not make a tenant-wide instance: %+v", ic.Drive)
	}
	ic.Drive.Tenant.Rediscover = tenantCfg.Rediscover // below the configurable minimum in tests
	ic.Drive.Tenant.UserGlobs, ic.Drive.Tenant.SiteGlobs = tenantCfg.UserGlobs, tenantCfg.SiteGlobs
	cfg.Fleet = fl
	if change != nil {
		change(ic)
	}
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

// queuedEvent is the part of a queued event the tests look at.
type queuedEvent struct {
	DriveID, DriveName, Owner, Path string
}

// queuedEvents returns the queued events in order and acks them.
func (e *tenantEnv) queuedEvents(t *testing.T) []queuedEvent {
	t.Helper()
	msgs, err := e.db.Peek("t", 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []queuedEvent
	var keys []uint64
	for _, m := range msgs {
		var body struct {
			Message struct {
				Events []queuedEvent `json:"events"`
			} `json:"message"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, ev := range body.Message.Events {
			if e.tn.Drive(ev.DriveID) == nil {
				t.Errorf("event with driveId %q", ev.DriveID)
			}
			out = append(out, ev)
		}
		keys = append(keys, m.Key)
	}
	if err := e.db.Ack("t", keys...); err != nil {
		t.Fatal(err)
	}
	return out
}

// queued returns the queued events as "owner driveName path", sorted, and acks them.
func (e *tenantEnv) queued(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, ev := range e.queuedEvents(t) {
		out = append(out, ev.Owner+" "+ev.DriveName+" "+ev.Path)
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
	var table strings.Builder
	if err := st.WriteTable(&table, time.Now()); err != nil || !strings.Contains(table.String(), "t: 4 drives polled, 1 failing") {
		t.Errorf("status table lacks the drives:\n%s", table.String())
	}
	if is.LastPoll == nil || is.LastSuccess == nil || !strings.Contains(is.LastPollError, "failing drives: 1") {
		t.Errorf("status lastPoll %v lastSuccess %v error %q", is.LastPoll, is.LastSuccess, is.LastPollError)
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
	// Another agent on the same database (as the command line when no agent runs) shows
	// the saved drives.
	other, err := New(Options{Config: e.agent.cfg, DB: e.db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := other.Status(ctx); err != nil || st.Instances[0].Drives == nil || *st.Instances[0].Drives != 4 {
		t.Errorf("status from the database alone: %v drives (%v)", st.Instances[0].Drives, err)
	}
	if ds, err := other.Drives(ctx, "t"); err != nil || len(ds) != 4 {
		t.Errorf("drives from the database alone: %d (%v)", len(ds), err)
	}
	rec := httptest.NewRecorder()
	e.agent.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if m := rec.Body.String(); !strings.Contains(m, `onedrive_agent_drives{instance="t",state="active"} 4`) {
		t.Errorf("no drives gauge in the metrics")
	}
}

func TestTenantRun(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{})
	defer tn.Close()
	users, _ := seedTenant(tn)
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Rediscover: 50 * time.Millisecond}, config.Fleet{Shards: 1, Handover: time.Hour})
	ctx, stop := runAgent(t, e.agent)
	defer stop()
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

// A Retry-After from one drive pauses the requests to every drive of the instance.
func TestTenantRetryAfter(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 1 s Retry-After")
	}
	// Requests already sent when the 429 comes back cannot be recalled: 250 ms of grace.
	tn := graphtest.NewTenant(graphtest.TenantOptions{InFlight: 250 * time.Millisecond})
	defer tn.Close()
	var drives []*graphtest.Server
	for i := range 6 {
		d := tn.UserDrive(tn.AddUser(graphtest.TenantUser{UPN: fmt.Sprintf("u%d@contoso.com", i)}))
		d.Populate(40, int64(i))
		drives = append(drives, d)
	}
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Rediscover: time.Hour}, config.Fleet{Shards: 1})
	drives[2].InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	if _, err := e.agent.Poll(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if n := drives[2].Count(graphtest.ClassDelta, http.StatusTooManyRequests); n != 1 {
		t.Fatalf("%d throttled answers, want the one injected", n)
	}
	if v := tn.RetryAfterViolations(); len(v) != 0 {
		t.Errorf("%d requests went out during the Retry-After, e.g. %s", len(v), v[0].Path)
	}
}

// The globs of users and sites decide which drives the instance watches.
func TestTenantGlobs(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{})
	defer tn.Close()
	seedTenant(tn)
	tn.AddUser(graphtest.TenantUser{UPN: "ALBERT@fabrikam.com"})
	tn.AddSite("/sites/finance-archive", "Archive", "Documents")
	tn.AddSite("/teams/fin", "Team", "Documents")
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Sites: true, Rediscover: time.Hour,
		UserGlobs: []string{"a*@contoso.com"}, SiteGlobs: []string{"https://contoso.sharepoint.com/sites/fin*"}}, config.Fleet{Shards: 1})
	if _, err := e.agent.Poll(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	ds, err := e.agent.Drives(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.Owner+" "+d.DriveName)
	}
	sort.Strings(got)
	want := []string{"alice@contoso.com OneDrive", "https://contoso.sharepoint.com/sites/fin Documents",
		"https://contoso.sharepoint.com/sites/fin Invoices", "https://contoso.sharepoint.com/sites/finance-archive Documents"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("drives:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTenantRunner_Sleep: the run loop sleeps until the next due time, not
// less than tick, and wakes at once when a round or a discovery moves the
// next due time earlier.
func TestTenantRunner_Sleep(t *testing.T) {
	a := &Agent{now: time.Now}
	tr := newTenantRunner(&instance{a: a}, tenantSettings{})
	tr.tick = 20 * time.Millisecond
	tr.wake = time.Now().Add(time.Hour)
	ctx := context.Background()

	start := time.Now()
	if !tr.sleep(ctx, time.Now().Add(-time.Minute)) || time.Since(start) < tr.tick {
		t.Errorf("a due time in the past slept %s, want tick (%s)", time.Since(start), tr.tick)
	}
	start = time.Now()
	if !tr.sleep(ctx, time.Now().Add(100*time.Millisecond)) || time.Since(start) < 100*time.Millisecond {
		t.Errorf("slept %s, want until the due time 100ms away", time.Since(start))
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		tr.mu.Lock()
		tr.wakeSooner(time.Now())
		tr.mu.Unlock()
	}()
	woke := make(chan bool, 1)
	go func() { woke <- tr.sleep(ctx, tr.nextWake()) }()
	select {
	case ok := <-woke:
		if !ok {
			t.Error("sleep = false with a live context")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a due time moved earlier did not wake the loop")
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if tr.sleep(cctx, time.Now().Add(time.Hour)) {
		t.Error("sleep with an ended context = true")
	}
}

// TestTenantRunner_SleepDrained: a delivery wakes the run loop while a drive waits on a full
// queue and makes the drive that waited longest due at once, not a minute later; without a
// paused drive a delivery does not wake the loop.
func TestTenantRunner_SleepDrained(t *testing.T) {
	a := &Agent{now: time.Now}
	tr := newTenantRunner(&instance{a: a, drained: make(chan struct{}, 1)}, tenantSettings{})
	tr.tick = 20 * time.Millisecond
	now := time.Now()
	tr.wake = now.Add(time.Minute)
	first := &drivePoll{paused: true, next: now.Add(time.Minute)}
	later := &drivePoll{paused: true, next: now.Add(time.Minute + time.Second)}
	tr.polls = map[string]*drivePoll{"a": later, "b": first, "c": {next: now.Add(time.Hour)}}
	ctx := context.Background()

	tr.in.drained <- struct{}{}
	woke := make(chan bool, 1)
	go func() { woke <- tr.sleep(ctx, tr.nextWake()) }()
	select {
	case ok := <-woke:
		if !ok {
			t.Fatal("sleep = false with a live context")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a delivery did not wake the loop while a drive waited on a full queue")
	}
	if !tr.dueBy(time.Now()) || first.next.After(time.Now()) {
		t.Errorf("after a delivery: wake %v, the longest-paused drive next %v, want due", tr.nextWake(), first.next)
	}
	if !later.next.After(time.Now()) {
		t.Error("a delivery resumed more than one paused drive")
	}

	// No drive paused: a delivery leaves the loop asleep until its time.
	tr.polls = map[string]*drivePoll{"c": {next: time.Now().Add(time.Hour)}}
	tr.in.drained <- struct{}{}
	start := time.Now()
	if !tr.sleep(ctx, time.Now().Add(100*time.Millisecond)) || time.Since(start) < 100*time.Millisecond {
		t.Errorf("with no paused drive a delivery cut the sleep to %s", time.Since(start))
	}
}

// TestTenantRunner_Due: due hands out at most limit drives, the most overdue first, marks
// them running, and leaves out drives running or not due yet; a drive never polled comes first.
func TestTenantRunner_Due(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var saved []tenant.Drive
	for _, id := range []string{"b!A", "b!B", "b!C", "b!D", "b!E", "b!F"} {
		saved = append(saved, tenant.Drive{TenantDrive: connector.TenantDrive{DriveID: id}, State: tenant.StateActive})
	}
	tests := []struct {
		name  string
		limit int
		want  string
	}{
		{"none", 0, ""},
		{"most overdue", 2, "b!E b!C"},
		{"all due", 10, "b!E b!C b!F b!A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTenantRunner(&instance{a: &Agent{now: func() time.Time { return now }}}, tenantSettings{})
			tr.reg = tenant.New(tenant.Options{}, saved)
			tr.polls = map[string]*drivePoll{
				"b!a": {next: now.Add(-time.Minute)},
				"b!b": {next: now.Add(-time.Hour), running: true},
				"b!c": {next: now.Add(-time.Hour)},
				"b!d": {next: now.Add(time.Second)},
				"b!f": {next: now.Add(-2 * time.Minute)},
			} // b!E never polled: due since ever, the first
			var got []string
			for _, d := range tr.due(now, tt.limit) {
				got = append(got, d.DriveID)
				if p := tr.polls[strings.ToLower(d.DriveID)]; !p.running {
					t.Errorf("%s handed out but not marked running", d.DriveID)
				}
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("due(limit %d) = %v, want %s", tt.limit, got, tt.want)
			}
		})
	}
}

// TestDrivePollState: an active drive's listed state by its poll record.
func TestDrivePollState(t *testing.T) {
	tests := []struct {
		name string
		p    *drivePoll
		want string
	}{
		{"never polled", nil, DriveIdle},
		{"polled", &drivePoll{}, DriveIdle},
		{"polling", &drivePoll{running: true, paused: true, err: "x"}, DrivePolling},
		{"paused", &drivePoll{paused: true, err: "x"}, DrivePaused},
		{"failed", &drivePoll{err: "x"}, DriveError},
	}
	for _, tt := range tests {
		if got := tt.p.state(); got != tt.want {
			t.Errorf("%s: state = %q, want %q", tt.name, got, tt.want)
		}
	}
}
