package agent

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// runner is one running instance: its poller, its dispatcher and, when it
// takes push notifications, its push workers, stopped together.
type runner struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (r *runner) stop() {
	r.cancel()
	r.wg.Wait()
}

// startLocked starts in's poller and dispatcher under ctx; a.mu is held.
func (a *Agent) startLocked(ctx context.Context, in *instance) {
	rctx, cancel := context.WithCancel(ctx)
	r := &runner{ctx: rctx, cancel: cancel}
	workers := []func(context.Context) error{in.runPoller, in.runDispatcher}
	if in.pushWanted() {
		workers = append(workers, in.runPush, in.runPushPoller)
	}
	for _, w := range workers {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); _ = w(rctx) }()
	}
	a.runners[in.cfg.Name] = r
}

// stopAll stops every running instance and waits for them.
func (a *Agent) stopAll() {
	a.mu.Lock()
	rs := a.runners
	a.runners = map[string]*runner{}
	a.mu.Unlock()
	for _, r := range rs {
		r.stop()
	}
}

// roundContext is the context a round asked for by poll or resync runs in:
// the instance's own lifetime while the agent runs, so that the round goes
// on when the caller stops waiting (an interrupted `onedrive-agent poll`)
// and ends when the agent stops or the instance is reloaded, which waits
// for it. Without a running agent it is ctx. done must be called when the
// round has ended.
func (a *Agent) roundContext(ctx context.Context, name string) (_ context.Context, done func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.runners[name]; ok {
		r.wg.Add(1)
		return r.ctx, r.wg.Done
	}
	return ctx, func() {}
}

// ErrRestartNeeded marks a Reload that applied everything but settings
// only a restart changes; the error names them.
var ErrRestartNeeded = errors.New("restart needed")

// Reload applies a new configuration to the running agent: instances added
// are registered and started, instances removed are stopped (their data
// stays in the database), instances whose configuration changed are
// stopped and started again with it; their state (cursor, index, queue,
// sign-in) is kept. A change of [network] restarts every instance, one of
// [fleet] every tenant-wide instance. data_dir, [admin].listen,
// [admin].hosts and [log].format keep their running values: Reload then
// returns an error wrapping ErrRestartNeeded that names them, after applying
// the rest.
// cfg must be a validated configuration with every secret resolved.
func (a *Agent) Reload(cfg *config.Config) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	for _, ic := range cfg.Instances {
		if err := ic.SecretErr(); ic.Enabled && err != nil {
			return err
		}
	}
	old := a.currentConfig()
	var restart []string
	if cfg.DataDir != old.DataDir {
		restart = append(restart, fmt.Sprintf("data_dir (%s → %s)", old.DataDir, cfg.DataDir))
	}
	if cfg.Admin.Listen != old.Admin.Listen {
		restart = append(restart, fmt.Sprintf("[admin].listen (%q → %q)", old.Admin.Listen, cfg.Admin.Listen))
	}
	if !reflect.DeepEqual(cfg.Admin.Hosts, old.Admin.Hosts) {
		restart = append(restart, fmt.Sprintf("[admin].hosts (%q → %q)", old.Admin.Hosts, cfg.Admin.Hosts))
	}
	if cfg.Log.Format != old.Log.Format {
		restart = append(restart, fmt.Sprintf("[log].format (%s → %s)", old.Log.Format, cfg.Log.Format))
	}
	next := *cfg
	next.DataDir, next.Admin, next.Log.Format = old.DataDir, old.Admin, old.Log.Format

	networkChanged := !reflect.DeepEqual(cfg.Network, old.Network)
	fleetChanged := !reflect.DeepEqual(cfg.Fleet, old.Fleet)
	graphHTTP := a.graphHTTP
	if networkChanged {
		var err error
		if graphHTTP, err = connector.NewHTTPClient(connector.HTTPOptions{Proxy: proxyString(cfg), CAFile: cfg.Network.CAFile}); err != nil {
			return fmt.Errorf("network: %w", err)
		}
	}

	// Build the new and changed instances before touching the running ones,
	// so a failure leaves the agent as it was (newInstance reads a.cfg).
	a.mu.Lock()
	current := a.instances
	a.cfg = &next
	a.mu.Unlock()
	fail := func(err error) error {
		a.mu.Lock()
		a.cfg = old
		a.mu.Unlock()
		return err
	}
	type change struct {
		name     string
		old, new *instance
	}
	var changes []change
	built := map[string]*instance{}
	var order []string
	for _, ic := range cfg.Instances {
		order = append(order, ic.Name)
		prev, ok := current[ic.Name]
		if ok && !networkChanged && !(fleetChanged && ic.Drive.Tenant != nil) && sameInstance(prev.cfg, ic) {
			built[ic.Name] = prev
			continue
		}
		in, err := newInstance(a, ic, graphHTTP, a.throttle)
		if err != nil {
			return fail(err)
		}
		built[ic.Name] = in
		changes = append(changes, change{ic.Name, prev, in})
	}
	for name, prev := range current {
		if _, ok := built[name]; !ok {
			changes = append(changes, change{name, prev, nil})
		}
	}

	// Stop what goes away or changes, then start the new.
	for _, c := range changes {
		a.mu.Lock()
		r := a.runners[c.name]
		delete(a.runners, c.name)
		a.mu.Unlock()
		if r != nil {
			r.stop()
		}
	}
	a.mu.Lock()
	a.graphHTTP = graphHTTP
	a.instances, a.order = built, order
	running := a.runCtx
	for _, c := range changes {
		switch {
		case c.new == nil:
			a.activity.Forget(c.name) // its deliveries leave the console's charts and totals
			a.log.Info("instance removed by reload; its data stays in the database", "instance", c.name)
			continue
		case c.old == nil:
			a.metrics.AddInstance(c.name, c.new.sink)
			a.log.Info("instance added by reload", "instance", c.name)
		default:
			a.metrics.AddInstance(c.name, c.new.sink) // the sink may have changed
			a.log.Info("instance changed by reload; restarted with its state kept", "instance", c.name)
		}
		if running != nil && c.new.cfg.Enabled {
			a.startLocked(running, c.new)
		}
	}
	a.mu.Unlock()
	a.log.Info("configuration reloaded", "file", cfg.File, "instances", len(order), "changed", len(changes))
	if len(restart) > 0 {
		return fmt.Errorf("%w for %v: they keep their running values until the agent restarts", ErrRestartNeeded, restart)
	}
	return nil
}

func (a *Agent) currentConfig() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// sameInstance reports whether two configurations of an instance run the
// same way. The schedule is compared through the fields it is built from.
func sameInstance(x, y config.Instance) bool {
	zone := func(p *config.Poll) string {
		if p.Location == nil {
			return ""
		}
		return p.Location.String()
	}
	if zone(&x.Poll) != zone(&y.Poll) {
		return false
	}
	x.Poll.Schedule, y.Poll.Schedule = nil, nil
	x.Poll.Location, y.Poll.Location = nil, nil
	return reflect.DeepEqual(x, y)
}
