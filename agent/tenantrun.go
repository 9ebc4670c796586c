package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/onedrive-agent/onedrive-agent/agent/callback"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/agent/fleet"
	"github.com/onedrive-agent/onedrive-agent/agent/tenant"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// tenantSettings are the settings of a tenant-wide instance.
type tenantSettings struct {
	Discover   connector.DiscoverOptions
	Rediscover time.Duration
	Fleet      fleet.Membership
	Handover   time.Duration
	Budget     connector.BudgetOptions
}

// tenantRunner runs a tenant-wide instance: it discovers the drives, keeps the drive list
// (agent/tenant), and polls each drive with a delta round of its own (its index and cursor in
// the store under the instance, its events in the instance's queue), at a fixed offset within
// the interval, within the instance's request budget.
type tenantRunner struct {
	in     *instance
	set    tenantSettings
	budget *connector.Budget
	tick   time.Duration // the least time between two looks for due drives
	// sooner is signalled when wake moves earlier, so that the run loop, asleep until the
	// next due time, looks again.
	sooner chan struct{}

	mu         sync.Mutex
	reg        *tenant.Registry
	polls      map[string]*drivePoll // by lower-case drive id; a small record per drive
	discovered time.Time             // last successful discovery
	// wake: no drive is due before it, so the run loop need not look through the drives
	// (the zero time: look now).
	wake time.Time
}

// drivePoll is what the runner remembers of a drive between polls.
type drivePoll struct {
	last, next time.Time
	ok         time.Time     // last successful poll
	retry      time.Duration // backoff after failed polls, 0 after a success
	err        string
	running    bool
	paused     bool
}

// Drive states shown by status and the drives API, besides tenant.StateHandover and
// tenant.StateGone.
const (
	DriveIdle    = "idle"
	DrivePolling = "polling"
	DriveError   = "error"
	DrivePaused  = "queue_full"
)

func newTenantRunner(in *instance, set tenantSettings) *tenantRunner {
	return &tenantRunner{in: in, set: set, budget: connector.NewBudget(set.Budget), tick: time.Second,
		sooner: make(chan struct{}, 1), polls: map[string]*drivePoll{}}
}

// wakeSooner moves wake to at if that is earlier and tells the run loop. t.mu is held.
func (t *tenantRunner) wakeSooner(at time.Time) {
	if !at.Before(t.wake) {
		return
	}
	t.wake = at
	select {
	case t.sooner <- struct{}{}:
	default:
	}
}

// load reads the drive list saved at the last discovery.
func (t *tenantRunner) load() error {
	var saved []tenant.Drive
	err := t.in.a.db.View(t.in.cfg.Name, func(tx *store.Tx) error {
		b, err := tx.DriveList()
		if err != nil || b == nil {
			return err
		}
		return json.Unmarshal(b, &saved)
	})
	if err != nil {
		return fmt.Errorf("read the drive list: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reg = tenant.New(tenant.Options{Fleet: t.set.Fleet, Rediscover: t.set.Rediscover, Handover: t.set.Handover,
		Logger: t.in.log}, saved)
	return nil
}

// ensureLoaded reads the saved drive list unless the runner has one, so that status and the
// drives list show the drives also when the agent does not run.
func (t *tenantRunner) ensureLoaded() error {
	t.mu.Lock()
	loaded := t.reg != nil
	t.mu.Unlock()
	if loaded {
		return nil
	}
	return t.load()
}

// discover reads the drive list from Graph, applies it, drops the state of dropped drives and
// saves the list. A failed discovery changes nothing.
func (t *tenantRunner) discover(ctx context.Context) error {
	found, err := t.in.client.Discover(ctx, t.set.Discover)
	if err != nil {
		return fmt.Errorf("discover drives: %w", err)
	}
	now := t.in.a.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	changes := append(t.reg.Apply(found, now), t.reg.Expire(now)...)
	t.discovered = now
	t.wakeSooner(time.Time{}) // new and returning drives are due at once
	b, err := json.Marshal(t.reg.Drives())
	if err != nil {
		return err
	}
	return t.in.a.db.Update(t.in.cfg.Name, func(tx *store.Tx) error {
		for _, c := range changes {
			k := strings.ToLower(c.Drive.DriveID)
			if c.Kind != tenant.Dropped {
				continue
			}
			if p := t.polls[k]; p != nil && p.running {
				continue // its round drops the state when it ends (pollDrive)
			}
			delete(t.polls, k)
			if err := tx.DropDrive(c.Drive.DriveID); err != nil {
				return err
			}
		}
		return tx.SetDriveList(b)
	})
}

// run discovers at start and every Rediscover, and polls each drive when due, until ctx ends.
func (t *tenantRunner) run(ctx context.Context) error {
	if err := t.load(); err != nil {
		t.in.log.Error("tenant-wide instance cannot start", "err", err)
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	nextDiscovery := t.in.a.now()
	var stateSaved time.Time
	for {
		now := t.in.a.now()
		if !now.Before(nextDiscovery) {
			if err := t.discover(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				t.in.log.Error("discovery failed; polling the drives known so far", "err", err)
				nextDiscovery = now.Add(min(t.set.Rediscover, time.Minute))
			} else {
				nextDiscovery = now.Add(t.set.Rediscover)
			}
		}
		if t.dueBy(now) {
			// Start no more rounds than there are free slots: the others wait in the list,
			// not as goroutines.
			for _, d := range t.due(now, t.budget.Free()) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = t.pollDrive(ctx, d, false)
				}()
			}
			next := t.planWake()
			if nextDiscovery.Before(next) {
				next = nextDiscovery
			}
			t.in.mu.Lock()
			t.in.nextPoll = next
			t.in.mu.Unlock()
		}
		if now.Sub(stateSaved) >= stateEvery {
			t.saveState()
			stateSaved = now
		}
		if !t.sleep(ctx, earliest(t.nextWake(), nextDiscovery, stateSaved.Add(stateEvery))) {
			t.saveState()
			return nil
		}
	}
}

// nextWake returns wake: no drive is due before it.
func (t *tenantRunner) nextWake() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wake
}

// earliest returns the earliest of ts.
func earliest(ts ...time.Time) time.Time {
	e := ts[0]
	for _, t := range ts[1:] {
		if t.Before(e) {
			e = t
		}
	}
	return e
}

// sleep waits until at, or until wake moves earlier, but at least tick: a wake in the past
// means due drives wait for a free slot, and they are looked for again after tick, not in a
// busy loop. While a drive waits on a full queue, a delivery (the dispatcher's signal on
// in.drained) makes it due at once, as it does a one-drive instance's round. It returns false
// when ctx ended first.
func (t *tenantRunner) sleep(ctx context.Context, at time.Time) bool {
	timer := time.NewTimer(max(at.Sub(t.in.a.now()), t.tick))
	defer timer.Stop()
	var drained <-chan struct{} // nil, never ready, unless a drive waits for room
	if t.pausedWaiting() {
		drained = t.in.drained
	}
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-t.sooner:
	case <-drained:
		t.resumePaused(t.in.a.now())
	}
	return true
}

// pausedWaiting reports whether a drive paused on a full queue waits for its next poll.
func (t *tenantRunner) pausedWaiting() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstPausedLocked(t.in.a.now()) != nil
}

// firstPausedLocked returns the drive paused on a full queue that has waited longest and is not
// due by now (nil: none). t.mu is held.
func (t *tenantRunner) firstPausedLocked(now time.Time) *drivePoll {
	var first *drivePoll
	for _, p := range t.polls {
		if p.paused && !p.running && p.next.After(now) && (first == nil || p.next.Before(first.next)) {
			first = p
		}
	}
	return first
}

// resumePaused makes the drive that has waited longest on a full queue due at now, after a
// delivery made room. One drive per delivery: a delivery frees about one message's room, and
// the drives resumed together would mostly pause again at once.
func (t *tenantRunner) resumePaused(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.firstPausedLocked(now); p != nil {
		p.next = now
		t.wake = earliest(t.wake, now) // the run loop, woken by the delivery, looks again
	}
}

// stateEvery is how often the instance's state (last poll, last success, failing drives) is
// written while it runs: one write for all drives, not one per drive poll.
const stateEvery = time.Minute

// saveState writes the latest poll and successful poll of any drive, and a summary of the
// failing drives, as the instance's state (what status shows as lastPoll, lastSuccessfulPoll
// and lastPollError).
func (t *tenantRunner) saveState() {
	t.mu.Lock()
	var last, ok time.Time
	failing := 0
	example := ""
	for id, p := range t.polls {
		if p.last.After(last) {
			last = p.last
		}
		if p.ok.After(ok) {
			ok = p.ok
		}
		if p.err != "" {
			failing++
			if example == "" || id < example {
				example = id
			}
		}
	}
	t.mu.Unlock()
	if last.IsZero() {
		return
	}
	err := t.in.a.db.UpdateState(t.in.cfg.Name, func(s *store.State) error {
		s.LastPoll = last
		if !ok.IsZero() {
			s.LastSuccess = ok
		}
		s.LastPollError = ""
		if failing > 0 {
			s.LastPollError = fmt.Sprintf("failing drives: %d, e.g. %s (see GET /v1/instances/%s/drives)", failing, example, t.in.cfg.Name)
		}
		return nil
	})
	if err != nil {
		t.in.log.Warn("saving the instance state failed", "err", err)
	}
}

// due marks and returns at most limit drives whose poll is due at now and that are not being
// polled, the most overdue first. A drive seen for the first time is due at once.
func (t *tenantRunner) due(now time.Time, limit int) []tenant.Drive {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []tenant.Drive
	if limit <= 0 {
		return nil
	}
	// Each drive's record is looked up once, not in every comparison of the sort (a lower-cased
	// id and a map lookup each time).
	type candidate struct {
		d tenant.Drive
		p *drivePoll
	}
	polled := t.reg.Polled()
	cs := make([]candidate, len(polled))
	for i, d := range polled {
		cs[i] = candidate{d, t.pollLocked(d.DriveID)}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].p.next.Before(cs[j].p.next) })
	for _, c := range cs {
		if len(out) == limit {
			break
		}
		if !c.p.running && !now.Before(c.p.next) {
			c.p.running = true
			out = append(out, c.d)
		}
	}
	return out
}

func (t *tenantRunner) pollLocked(id string) *drivePoll {
	k := strings.ToLower(id)
	p := t.polls[k]
	if p == nil {
		p = &drivePoll{}
		t.polls[k] = p
	}
	return p
}

// dueBy reports whether a drive may be due at now.
func (t *tenantRunner) dueBy(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !now.Before(t.wake)
}

// planWake sets wake to the earliest planned poll of a drive not being polled (a round that
// ends moves it earlier if need be) and returns it.
func (t *tenantRunner) planWake() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := time.Time{}
	first := true
	for _, p := range t.polls {
		if !p.running && (first || p.next.Before(next)) {
			next, first = p.next, false
		}
	}
	if first {
		next = t.in.a.now().Add(24 * time.Hour) // nothing waits: a round's end or a discovery wakes it
	}
	t.wake = next
	return next
}

// pollDrive runs one delta round of drive d within a concurrency slot of the budget and plans
// its next poll at its offset in the interval. The caller has marked the drive running.
func (t *tenantRunner) pollDrive(ctx context.Context, d tenant.Drive, resync bool) (delta.Result, error) {
	in := t.in
	var res delta.Result
	err := func() error {
		release, err := t.budget.Acquire(ctx)
		if err != nil {
			return err
		}
		defer release()
		ddb := in.store.Drive(d.DriveID)
		if resync {
			if err := delta.Resync(ddb); err != nil {
				return fmt.Errorf("start resync: %w", err)
			}
		}
		initial := delta.Baseline
		if in.cfg.Poll.Initial == config.InitialBackfill {
			initial = delta.Backfill
		}
		drive := &callback.Drive{ID: d.DriveID, Name: d.DriveName, Owner: d.Owner}
		r := &delta.Round{
			Fetch:    in.client.Page,
			Emit:     func(tx delta.Tx, events []delta.Event) error { return in.emitMeta(tx, events, in.driveMeta(drive)) },
			InScope:  in.cfg.Drive.Scope.Match,
			Initial:  initial,
			MaxQueue: in.cfg.Poll.MaxQueue,
			DriveID:  d.DriveID,
			Now:      in.a.now,
			Logger:   in.log.With("drive_id", d.DriveID, "owner", d.Owner),
			Limits:   in.tenantRoundLimits(),
		}
		res, err = r.Run(ctx, ddb, in.client.DeltaURL(d.DriveID))
		return err
	}()
	now := in.a.now()
	outcome := "ok"
	switch {
	case err != nil && ctx.Err() != nil:
		outcome = "cancelled"
	case err != nil:
		outcome = "error"
		in.log.Warn("drive poll failed; it resumes from its last saved page", "drive_id", d.DriveID, "owner", d.Owner, "err", err)
	case res.Paused:
		outcome = "paused"
	}
	in.a.metrics.polls.WithLabelValues(in.cfg.Name, outcome).Inc()
	if res.Events > 0 {
		in.loop.Notify()
	}
	t.mu.Lock()
	if !t.reg.Has(d.DriveID) {
		// Dropped while this round ran: drop the state the round wrote.
		delete(t.polls, strings.ToLower(d.DriveID))
		t.mu.Unlock()
		if derr := in.a.db.Update(in.cfg.Name, func(tx *store.Tx) error { return tx.DropDrive(d.DriveID) }); derr != nil {
			in.log.Warn("dropping a drive's state failed", "drive_id", d.DriveID, "err", derr)
		}
		return res, err
	}
	p := t.pollLocked(d.DriveID)
	p.running, p.last, p.paused = false, now, res.Paused
	p.err = ""
	if err != nil && outcome != "cancelled" && !throttled(err) {
		p.err = err.Error()
	}
	p.next = in.cfg.Poll.Schedule.NextSpread(d.DriveID, now)
	switch {
	case res.Paused:
		// A delivery makes it due sooner (sleep); a minute at the latest, as a one-drive
		// instance waits.
		p.next = now.Add(time.Minute)
	case err != nil && outcome != "cancelled":
		// A failed round keeps its progress: try again sooner than the schedule, backing off
		// up to 5 minutes, as a one-drive instance does.
		p.retry = min(max(2*p.retry, 15*time.Second), 5*time.Minute)
		if r := now.Add(p.retry); r.Before(p.next) {
			p.next = r
		}
	case err == nil:
		p.retry, p.ok = 0, now
	}
	t.wakeSooner(p.next)
	t.mu.Unlock()
	return res, err
}

// throttled reports a failure that is Graph throttling, which does not make a drive failing.
func throttled(err error) bool {
	var he *connector.HTTPError
	return errors.As(err, &he) && (he.Status == 429 || he.Status == 503)
}

// pollAll polls every drive of the instance now (after a first discovery if none was made),
// waits for all, and names the drives that failed.
func (t *tenantRunner) pollAll(ctx context.Context, resync bool) (PollResult, error) {
	if err := t.ensureLoaded(); err != nil {
		return PollResult{}, err
	}
	t.mu.Lock()
	never := t.discovered.IsZero()
	t.mu.Unlock()
	if never {
		if err := t.discover(ctx); err != nil {
			return PollResult{Instance: t.in.cfg.Name}, err
		}
	}
	t.mu.Lock()
	var drives []tenant.Drive
	for _, d := range t.reg.Polled() {
		if p := t.pollLocked(d.DriveID); !p.running {
			p.running = true
			drives = append(drives, d)
		}
	}
	t.mu.Unlock()
	type outcome struct {
		d   tenant.Drive
		res delta.Result
		err error
	}
	results := make([]outcome, len(drives))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(t.budget.Concurrency(), len(drives)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res, err := t.pollDrive(ctx, drives[i], resync)
				results[i] = outcome{drives[i], res, err}
			}
		}()
	}
	for i := range drives {
		next <- i
	}
	close(next)
	wg.Wait()
	t.saveState()
	pr := PollResult{Instance: t.in.cfg.Name}
	var failed []string
	for _, o := range results {
		pr.Items += o.res.Items
		pr.Events += o.res.Events
		pr.Pages += o.res.Pages
		pr.Resynced = pr.Resynced || o.res.Resynced
		pr.Paused = pr.Paused || o.res.Paused
		if o.err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s): %v", o.d.Owner, o.d.DriveID, o.err))
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return pr, fmt.Errorf("%d of %d drives failed: %s", len(failed), len(drives), strings.Join(failed, "; "))
	}
	return pr, ctx.Err()
}

// DriveStatus is one drive of a tenant-wide instance, as GET /v1/instances/{name}/drives
// lists it.
type DriveStatus struct {
	DriveID      string     `json:"driveId"`
	DriveName    string     `json:"driveName"`
	Owner        string     `json:"owner"`
	State        string     `json:"state"`
	LastPoll     *time.Time `json:"lastPoll,omitempty"`
	QueuedEvents int64      `json:"queuedEvents"`
	LastError    string     `json:"lastError,omitempty"`
}

// drives returns every known drive with its state, sorted by drive id. QueuedEvents is the
// number of the drive's events waiting in the instance's queue, counted over the first
// maxQueuedScan queued messages.
func (t *tenantRunner) drives() ([]DriveStatus, error) {
	if err := t.ensureLoaded(); err != nil {
		return nil, err
	}
	queued, err := t.queuedByDrive()
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reg == nil {
		return []DriveStatus{}, nil
	}
	out := []DriveStatus{}
	for _, d := range t.reg.Drives() {
		ds := DriveStatus{DriveID: d.DriveID, DriveName: d.DriveName, Owner: d.Owner, State: d.State,
			QueuedEvents: queued[strings.ToLower(d.DriveID)]}
		p := t.polls[strings.ToLower(d.DriveID)]
		if p != nil {
			ds.LastPoll, ds.LastError = timePtr(p.last), p.err
		}
		if d.State == tenant.StateActive {
			ds.State = p.state()
		}
		out = append(out, ds)
	}
	return out, nil
}

// state is an active drive's state by its poll record (nil: never polled).
func (p *drivePoll) state() string {
	switch {
	case p == nil:
		return DriveIdle
	case p.running:
		return DrivePolling
	case p.paused:
		return DrivePaused
	case p.err != "":
		return DriveError
	}
	return DriveIdle
}

// counts returns the drives being polled and those whose last poll failed.
func (t *tenantRunner) counts() (drives, failing int) {
	if err := t.ensureLoaded(); err != nil {
		return 0, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reg == nil {
		return 0, 0
	}
	for _, d := range t.reg.Polled() {
		drives++
		if p := t.polls[strings.ToLower(d.DriveID)]; p != nil && p.err != "" {
			failing++
		}
	}
	return drives, failing
}

// maxQueuedScan bounds how many queued messages queuedByDrive reads.
const maxQueuedScan = 10000

// queuedByDrive reads the head of the instance's queue (at most maxQueuedScan messages) and
// counts the events of each drive.
func (t *tenantRunner) queuedByDrive() (map[string]int64, error) {
	msgs, err := t.in.a.db.Peek(t.in.cfg.Name, maxQueuedScan)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, m := range msgs {
		var body struct {
			Message struct {
				Events []struct {
					DriveID string `json:"driveId"`
				} `json:"events"`
			} `json:"message"`
		}
		if json.Unmarshal(m.Body, &body) != nil {
			continue
		}
		for _, e := range body.Message.Events {
			out[strings.ToLower(e.DriveID)]++
		}
	}
	return out, nil
}

// initTenant prepares the runner of a tenant-wide instance and returns the request budget the
// instance's Graph client takes its turns from: the tenant-wide runner's, or for one drive a
// budget of its own when requests_per_second is set (nil otherwise).
func (in *instance) initTenant() *connector.Budget {
	ic := in.cfg
	bo := connector.BudgetOptions{RequestsPerSecond: ic.Poll.RequestsPerSecond, Concurrency: ic.Poll.Concurrency, Now: in.a.now}
	tc := ic.Drive.Tenant
	if tc == nil {
		if ic.Poll.RequestsPerSecond <= 0 {
			return nil
		}
		return connector.NewBudget(bo)
	}
	fl := in.a.currentConfig().Fleet
	in.tenant = newTenantRunner(in, tenantSettings{
		Discover: connector.DiscoverOptions{Users: tc.Users, Sites: tc.Sites, UserGlobs: tc.UserGlobs, SiteGlobs: tc.SiteGlobs,
			Concurrency: ic.Poll.Concurrency},
		Rediscover: tc.Rediscover,
		Fleet:      fleet.Membership{Shards: max(fl.Shards, 1), Shard: fl.Shard},
		Handover:   fl.Handover,
		Budget:     bo,
	})
	// A second tenant-wide instance finds the collector registered: it covers all of them.
	_ = in.a.metrics.reg.Register(drivesCollector{a: in.a})
	return in.tenant.budget
}

// drivesDesc is onedrive_agent_drives{instance,state}: per instance, not per drive, so the
// number of series stays bounded however large the tenant.
var drivesDesc = prometheus.NewDesc("onedrive_agent_drives",
	"Drives of a tenant-wide instance, by state (active, handover, gone).", []string{"instance", "state"}, nil)

// drivesCollector exports drivesDesc at scrape time.
type drivesCollector struct{ a *Agent }

// Describe implements prometheus.Collector.
func (c drivesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- drivesDesc }

// Collect implements prometheus.Collector.
func (c drivesCollector) Collect(ch chan<- prometheus.Metric) {
	for _, name := range c.a.order {
		t := c.a.instances[name].tenant
		if t == nil {
			continue
		}
		for state, n := range t.stateCounts() {
			ch <- prometheus.MustNewConstMetric(drivesDesc, prometheus.GaugeValue, float64(n), name, state)
		}
	}
}

// stateCounts returns the number of drives in each registry state.
func (t *tenantRunner) stateCounts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reg == nil {
		return map[string]int{tenant.StateActive: 0, tenant.StateHandover: 0, tenant.StateGone: 0}
	}
	return t.reg.Counts()
}

// driveMeta is the messages' metadata for the events of one drive.
func (in *instance) driveMeta(d *callback.Drive) callback.Meta {
	m := in.meta()
	m.Drive = d
	return m
}

// DriveLister lists the drives of a tenant-wide instance (GET /v1/instances/{name}/drives).
type DriveLister interface {
	Drives(ctx context.Context, instance string) ([]DriveStatus, error)
}

var _ DriveLister = (*Agent)(nil)

// ErrNotTenantWide is returned by Drives for an instance that watches one drive.
var ErrNotTenantWide = errors.New("not a tenant-wide instance")

// Drives implements DriveLister.
func (a *Agent) Drives(ctx context.Context, name string) ([]DriveStatus, error) {
	in, err := a.instance(name)
	if err != nil {
		return nil, err
	}
	if in.tenant == nil {
		return nil, fmt.Errorf("instance %s: %w (its drive is %q)", name, ErrNotTenantWide, in.cfg.Drive.Spec)
	}
	return in.tenant.drives()
}
