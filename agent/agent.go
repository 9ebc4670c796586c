package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Options configure an Agent.
type Options struct {
	Config  *config.Config
	DB      *store.DB
	Logger  *slog.Logger
	Version string
	// Commit is the commit the binary was built from ("" means unknown).
	Commit string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AdminListener, if set, is used instead of listening on
	// Config.Admin.Listen (tests pass a listener on a free port).
	AdminListener net.Listener
	// ObserveDelivery, if set, is called on every delivery attempt of every
	// instance (after the metrics are counted), from that instance's
	// delivery goroutine; it must not block.
	ObserveDelivery deliver.Observer
}

// Agent is the runtime: one poller and one dispatcher per enabled instance,
// and the admin API. (The store compacts its file itself once a large
// backlog has drained.) It implements
// Controller, so the admin API and the command line act on it directly.
type Agent struct {
	observe deliver.Observer // Options.ObserveDelivery
	cfg     *config.Config
	db      *store.DB
	log     *slog.Logger
	version string
	now     func() time.Time
	metrics *Metrics
	adminLn net.Listener
	// activity keeps the recent deliveries and the last hour of each
	// instance for the operator console.
	activity *activity.Recorder

	gc        *gcBoost
	graphHTTP *http.Client
	throttle  *connector.Throttle

	// mu guards the fields below; instances and order change on Reload.
	mu        sync.Mutex
	instances map[string]*instance
	order     []string
	running   bool
	started   time.Time
	// runCtx is Run's context while it runs; runners holds each running
	// instance's poller and dispatcher.
	runCtx  context.Context
	runners map[string]*runner
	// reloadMu serializes Reload.
	reloadMu sync.Mutex
}

var _ Controller = (*Agent)(nil)

// New prepares the agent: it registers every configured instance in the
// store (assigning its numeric id once) and builds its Graph client and
// dispatcher. It does no network I/O.
func New(opts Options) (*Agent, error) {
	if opts.Config == nil || opts.DB == nil {
		return nil, errors.New("agent: config and database are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg: opts.Config, db: opts.DB, log: log, version: opts.Version, now: opts.Now,
		adminLn: opts.AdminListener, instances: map[string]*instance{}, observe: opts.ObserveDelivery,
		runners: map[string]*runner{},
		gc:      newGCBoost(400, 96<<20),
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.activity = activity.New(activity.Options{Now: a.now})
	if a.version == "" {
		a.version = "dev"
	}
	a.metrics = NewMetrics(a.snapshots)
	a.metrics.SetBuildInfo(a.version, opts.Commit)

	var err error
	if a.graphHTTP, err = connector.NewHTTPClient(connector.HTTPOptions{Proxy: proxyString(opts.Config), CAFile: opts.Config.Network.CAFile}); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	a.throttle = connector.NewThrottle(connector.ThrottleOptions{Now: a.now})
	for _, ic := range opts.Config.Instances {
		in, err := newInstance(a, ic, a.graphHTTP, a.throttle)
		if err != nil {
			return nil, err
		}
		a.instances[ic.Name] = in
		a.metrics.AddInstance(ic.Name, in.sink)
		a.order = append(a.order, ic.Name)
	}
	return a, nil
}

func proxyString(c *config.Config) string {
	if c.Network.Proxy == nil {
		return ""
	}
	return c.Network.Proxy.String()
}

// Metrics returns the agent's metrics.
func (a *Agent) Metrics() *Metrics { return a.metrics }

// Activity returns the recorder of recent deliveries and queue samples the
// operator console draws from. Delivery code reports each attempt to it
// with Record.
func (a *Agent) Activity() *activity.Recorder { return a.activity }

// queueSampleEvery is how often the queue depth of every instance is
// sampled for the console's chart.
const queueSampleEvery = 15 * time.Second

// sampleQueues records each instance's queue depth in the activity
// recorder until ctx ends.
func (a *Agent) sampleQueues(ctx context.Context) error {
	t := time.NewTicker(queueSampleEvery)
	defer t.Stop()
	for {
		for _, in := range a.list() {
			if st, err := a.db.Stats(in.cfg.Name); err == nil {
				a.activity.SampleQueue(in.cfg.Name, int(st.QueuedEvents), st.Oldest)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Run runs every enabled instance and the admin API until ctx is cancelled,
// then finishes what is in flight and returns nil. One instance's failure
// never stops the others: its worker logs, waits and starts again.
func (a *Agent) Run(ctx context.Context) error {
	for _, ic := range a.currentConfig().Instances {
		if err := ic.SecretErr(); ic.Enabled && err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	a.mu.Lock()
	a.running, a.started, a.runCtx = true, a.now(), ctx
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running, a.runCtx = false, nil
		a.mu.Unlock()
	}()

	if err := a.startAdmin(ctx, g); err != nil {
		return err
	}
	g.Go(func() error { return a.sampleQueues(ctx) })
	enabled := 0
	a.mu.Lock()
	for _, name := range a.order {
		in := a.instances[name]
		if !in.cfg.Enabled {
			a.log.Info("instance disabled", "instance", name)
			continue
		}
		enabled++
		a.startLocked(ctx, in)
	}
	a.mu.Unlock()
	a.log.Info("agent running", "version", a.version, "instances", enabled, "database", a.db.Path(), "pid", os.Getpid())
	<-ctx.Done()
	err := g.Wait()
	a.stopAll()
	a.log.Info("agent stopped")
	return err
}

func (a *Agent) startAdmin(ctx context.Context, g *errgroup.Group) error {
	cfg := a.currentConfig()
	ln := a.adminLn
	if ln == nil {
		if cfg.Admin.Listen == "" {
			return nil
		}
		var err error
		if ln, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
			return fmt.Errorf("admin API: listen on %s: %w (change [admin].listen or stop what uses the port)", cfg.Admin.Listen, err)
		}
	}
	alog := a.log.With("component", "admin")
	tokens, err := newAdminTokenFile(cfg.DataDir, alog)
	if err != nil {
		ln.Close()
		return err
	}
	handler := NewAdminHandler(AdminOptions{
		Controller: a, Metrics: a.metrics.Handler(), Token: tokens.get, Logger: alog,
		Listen: []string{cfg.Admin.Listen, ln.Addr().String()}, Hosts: cfg.Admin.Hosts,
		Activity: a.activity, Targets: a.callbackURL, Context: ctx,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(alog.Handler(), slog.LevelDebug),
	}
	// Commands find this address in the lock file; they send the token
	// only to the listener named there, after it proved it knows it.
	if err := a.db.SetLockNote(LockNote(ln.Addr().String())); err != nil {
		ln.Close()
		return fmt.Errorf("admin API: %w", err)
	}
	limited := newLimitListener(ln, adminMaxConns)
	g.Go(func() error {
		err := srv.Serve(limited)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("admin API: %w", err)
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = a.db.SetLockNote("")
		return nil
	})
	a.log.Info("admin API listening", "addr", ln.Addr().String())
	return nil
}

// callbackURL returns the callback URL of the instance name in the
// configuration in force ("" for an unknown instance).
func (a *Agent) callbackURL(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in := a.instances[name]; in != nil {
		return in.cfg.Callback.URL
	}
	return ""
}

func (a *Agent) instance(name string) (*instance, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (the config has %v)", ErrUnknownInstance, name, a.order)
	}
	return in, nil
}

// list returns the instances in configuration order.
func (a *Agent) list() []*instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*instance, 0, len(a.order))
	for _, name := range a.order {
		out = append(out, a.instances[name])
	}
	return out
}

// Status implements Controller.
func (a *Agent) Status(ctx context.Context) (Status, error) {
	s := a.statusHead()
	for _, in := range a.list() {
		is, err := in.status(s.Running)
		if err != nil {
			return s, err
		}
		s.Instances = append(s.Instances, is)
	}
	return s, nil
}

// statusHead is the part of Status that is not per instance.
func (a *Agent) statusHead() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{Version: a.version, Running: a.running, Database: a.db.Path()}
	if a.running {
		s.PID = os.Getpid()
		s.Started = timePtr(a.started)
	}
	return s
}

// StatusOf is Status with only the named instance, read without the
// others; the error wraps ErrUnknownInstance when there is none.
func (a *Agent) StatusOf(ctx context.Context, name string) (Status, error) {
	in, err := a.instance(name)
	if err != nil {
		return Status{}, err
	}
	s := a.statusHead()
	is, err := in.status(s.Running)
	if err != nil {
		return s, err
	}
	s.Instances = []InstanceStatus{is}
	return s, nil
}

// Poll implements Controller: it runs a round now, ignoring active hours,
// and waits for it to end. While the agent runs, the round runs in the
// agent's own context: when ctx ends first (the caller stopped waiting: an
// interrupted `onedrive-agent poll`, a dropped admin API connection) Poll
// returns ErrStoppedWaiting and the round goes on.
func (a *Agent) Poll(ctx context.Context, name string) (PollResult, error) {
	return a.requestRound(ctx, name, false)
}

// Resync implements Controller, like Poll.
func (a *Agent) Resync(ctx context.Context, name string) (PollResult, error) {
	return a.requestRound(ctx, name, true)
}

// ErrStoppedWaiting is returned by Poll and Resync when the caller stopped
// waiting for a round that goes on in the running agent.
var ErrStoppedWaiting = errors.New("stopped waiting; the round goes on in the agent (`onedrive-agent status` shows it)")

func (a *Agent) requestRound(ctx context.Context, name string, resync bool) (PollResult, error) {
	in, err := a.instance(name)
	if err != nil {
		return PollResult{}, err
	}
	if err := in.cfg.SecretErr("auth"); err != nil {
		return PollResult{}, err
	}
	rctx, done := a.roundContext(ctx, name)
	type result struct {
		res PollResult
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer done()
		res, err := in.pollNow(rctx, resync)
		ch <- result{res, err}
	}()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-ctx.Done():
		if rctx == ctx {
			r := <-ch // no agent runs: the round ends with ctx
			return r.res, r.err
		}
		in.log.Info("the caller stopped waiting; the requested round goes on", "resync", resync)
		return PollResult{}, ErrStoppedWaiting
	}
}

// Dead implements Controller.
func (a *Agent) Dead(ctx context.Context, name string) ([]DeadLetter, error) {
	if _, err := a.instance(name); err != nil {
		return nil, err
	}
	dls, err := a.db.Dead(name)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(dls))
	for _, d := range dls {
		out = append(out, DeadLetter{
			ID: d.ID, Events: d.Events, Reason: d.Reason, Died: d.Died, Created: d.Created,
			Attempts: d.Attempts, LastError: d.LastError, Body: d.Body,
		})
	}
	return out, nil
}

// Replay implements Controller.
func (a *Agent) Replay(ctx context.Context, name string, ids []string) (int, error) {
	in, err := a.instance(name)
	if err != nil {
		return 0, err
	}
	n, err := a.db.Replay(name, ids...)
	if err == nil && n > 0 {
		in.loop.Notify()
		a.log.Info("dead letters replayed", "instance", name, "messages", n)
	}
	return n, err
}

// Purge implements Controller.
func (a *Agent) Purge(ctx context.Context, name string, ids []string) (int, error) {
	if _, err := a.instance(name); err != nil {
		return 0, err
	}
	n, err := a.db.Purge(name, ids...)
	if err == nil && n > 0 {
		a.log.Info("dead letters purged", "instance", name, "messages", n)
	}
	return n, err
}

func (a *Agent) snapshots() []QueueSnapshot {
	now := a.now()
	a.mu.Lock()
	names := append([]string(nil), a.order...)
	a.mu.Unlock()
	out := make([]QueueSnapshot, 0, len(names))
	sort.Strings(names)
	for _, name := range names {
		st, err := a.db.Stats(name)
		if err != nil {
			continue
		}
		s := QueueSnapshot{Instance: name, QueuedEvents: st.QueuedEvents, QueuedMsgs: st.QueuedMessages,
			DeadEvents: st.DeadEvents, DeadMsgs: st.DeadMessages}
		if !st.Oldest.IsZero() {
			s.OldestAge = now.Sub(st.Oldest)
		}
		if state, err := a.db.State(name); err == nil {
			s.LastSuccess = state.LastSuccess
		}
		out = append(out, s)
	}
	return out
}

// SaveToken implements TokenSaver: it stores a new sign-in, clears the
// "needs login" state and, when the agent runs, polls the instance.
func (a *Agent) SaveToken(ctx context.Context, name string, t Token) error {
	in, err := a.instance(name)
	if err != nil {
		return err
	}
	if err := a.db.SaveToken(name, store.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}); err != nil {
		return err
	}
	if err := a.db.UpdateState(name, func(s *store.State) error { s.NeedsLogin = false; return nil }); err != nil {
		return err
	}
	in.reloadToken()
	a.log.Info("signed in", "instance", name)
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if running && in.cfg.Enabled {
		go func() {
			if _, err := in.pollNow(context.WithoutCancel(ctx), false); err != nil {
				in.log.Warn("poll after sign-in failed", "err", err)
			}
		}()
	}
	return nil
}
