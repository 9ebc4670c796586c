package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/agent/instore"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// instance runs one configured drive: its poller and its dispatcher.
type instance struct {
	a      *Agent
	cfg    config.Instance
	info   store.Instance
	store  *instore.Handle
	client *connector.Client
	loop   *deliver.Loop
	sender deliver.Sender
	sink   string // webhook, kafka or nats
	log    *slog.Logger

	// roundMu serializes rounds: the schedule and poll/resync requests
	// never run two rounds of one instance at once.
	roundMu sync.Mutex

	mu       sync.Mutex
	state    string
	nextPoll time.Time
	// drained is signalled by the dispatcher while a round waits for room
	// in a full queue.
	drained chan struct{}
	// live is the progress of the round running now.
	live liveRound
	// loginNag limits the "sign-in needed" lines to one and reminders.
	loginNag reminder
	// tenant runs a tenant-wide instance's drives (nil for one drive).
	tenant *tenantRunner

	// graphHTTP carries Graph requests and the push link ([network] proxy and CA).
	graphHTTP *http.Client
	// kick asks runPushPoller for a debounced poll.
	kick chan struct{}
	push pushStatus
}

func newInstance(a *Agent, ic config.Instance, graphHTTP *http.Client, throttle *connector.Throttle) (*instance, error) {
	info, err := a.db.EnsureInstance(ic.Name)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	in := &instance{
		a: a, cfg: ic, info: info,
		log:       a.log.With("instance", ic.Name),
		state:     StateIdle,
		drained:   make(chan struct{}, 1),
		graphHTTP: graphHTTP,
		loginNag:  reminder{period: loginReminderEvery},
	}
	in.initPush()
	if !ic.Enabled {
		in.state = StateDisabled
	}
	in.store = instore.New(a.db, ic.Name, in.committed)
	budget := in.initTenant()
	// A command that needs no secret may load a configuration whose sign-in
	// secret it cannot resolve (config.LoadDeferSecrets): such an instance
	// has no Graph client, and Poll, Resync and Run refuse it.
	if ic.SecretErr("auth") == nil {
		if in.client, err = newGraphClient(in, ic, graphHTTP, throttle, budget); err != nil {
			return nil, err
		}
	}
	cbHTTP, err := callbackHTTPClient(graphHTTP, proxyString(a.currentConfig()), ic)
	if err != nil {
		return nil, err
	}
	sender, sinkName, err := in.newSender(cbHTTP)
	if err != nil {
		return nil, err
	}
	in.sender = sender
	in.loop = deliver.New(deliver.Config{
		Instance:       ic.Name,
		Sink:           sinkName,
		RetryInitial:   ic.Callback.RetryInitial,
		RetryMax:       ic.Callback.RetryMax,
		Observer:       in.observeDelivery,
		DeliveredLevel: a.currentConfig().Log.Deliveries,
	}, in.store, sender, in.log)
	in.sink = sinkName
	return in, nil
}

// newGraphClient builds the instance's Graph client, whose token lives in
// the database.
func newGraphClient(in *instance, ic config.Instance, graphHTTP *http.Client, throttle *connector.Throttle, budget *connector.Budget) (*connector.Client, error) {
	c, err := connector.NewClient(connector.ClientOptions{
		Budget:     budget,
		Auth:       authConfig(ic.Auth),
		Store:      in.store,
		HTTPClient: graphHTTP,
		Throttle:   throttle,
		Version:    in.a.version,
		Observe:    in.observeGraph,
		Logger:     in.log,
	})
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	return c, nil
}

func authConfig(c config.Auth) connector.AuthConfig {
	return connector.AuthConfig{
		Flow: c.Flow, Tenant: c.Tenant, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: c.RedirectURL, Scopes: c.Scopes, Cloud: c.Cloud, LoginURL: c.LoginURL, GraphURL: c.GraphURL,
		ClientCertificateFile: c.ClientCertificateFile,
	}
}

func (in *instance) setState(s string) {
	in.mu.Lock()
	in.state = s
	in.mu.Unlock()
}

func (in *instance) observeGraph(ri connector.RequestInfo) {
	m := in.a.metrics
	m.graph.WithLabelValues(in.cfg.Name, fmt.Sprint(ri.Status)).Inc()
	if ri.Throttled {
		m.throttles.WithLabelValues(in.cfg.Name).Inc()
	}
}

// observeDelivery counts every delivery attempt and wakes a round waiting
// for room in a full queue.
func (in *instance) observeDelivery(a deliver.Attempt) {
	m, name, sink := in.a.metrics, in.cfg.Name, a.Sink
	switch a.Outcome {
	case deliver.Delivered:
		m.deliveries.WithLabelValues(name, sink, "delivered").Inc()
		m.deliverySeconds.WithLabelValues(name).Observe(a.Took.Seconds())
		select {
		case in.drained <- struct{}{}:
		default:
		}
		if dates, err := EventDates(a.Body); err == nil {
			for _, d := range dates {
				m.ObserveEventLatency(name, d, a.At)
			}
		}
	case deliver.Reject:
		m.deliveries.WithLabelValues(name, sink, "dead").Inc()
	case deliver.Split:
		m.deliveries.WithLabelValues(name, sink, "split").Inc()
	default:
		m.deliveries.WithLabelValues(name, sink, "retry").Inc()
	}
	if in.a.activity != nil {
		recordAttempt(in.a.activity, name)(a)
	}
	if in.a.observe != nil {
		in.a.observe(a)
	}
}

// committed adds the events of a committed round transaction to the events
// metric and wakes the delivery loop: the chunk's messages are durable, so
// they go out while the round goes on instead of after its last transaction.
func (in *instance) committed(events map[string]int) {
	for typ, n := range events {
		in.a.metrics.events.WithLabelValues(in.cfg.Name, typ).Add(float64(n))
	}
	if in.loop != nil {
		in.loop.Notify()
	}
}

func (in *instance) runDispatcher(ctx context.Context) error {
	defer closeSender(in.sender)
	for {
		err := in.loop.Run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// The dispatcher only returns early on a store failure (a full or
		// broken disk); wait and start again rather than stop the agent.
		in.log.Error("delivery stopped; restarting in 30s", "err", err)
		if !sleepCtx(ctx, 30*time.Second) {
			return nil
		}
	}
}

// runPoller polls on the instance's schedule until ctx is cancelled, and
// returns nil then: a failing instance never stops the others. At start it
// polls at once when the instance never polled or missed a planned poll.
func (in *instance) runPoller(ctx context.Context) error {
	if in.tenant != nil {
		return in.tenant.run(ctx)
	}
	sched := in.cfg.Poll.Schedule
	// A failure here is this instance's alone: log it and poll at once,
	// which reports the problem through the normal path.
	st, err := in.a.db.State(in.cfg.Name)
	if err != nil {
		in.log.Error("reading the instance state failed", "err", err)
	}
	now := in.a.now()
	var next time.Time
	if err != nil || st.LastSuccess.IsZero() || sched.Due(st.LastSuccess, now) {
		next = now
	} else {
		next = sched.Next(now)
	}
	retry := time.Duration(0)
	for {
		in.mu.Lock()
		in.nextPoll = next
		in.mu.Unlock()
		if !in.sleepUntil(ctx, next) {
			return nil
		}
		res, err := in.poll(ctx, false, true)
		if ctx.Err() != nil {
			return nil
		}
		now := in.a.now()
		next = sched.Next(now)
		switch {
		case err == nil && res.Paused:
			// Wait for the dispatcher to make room, then go on at once.
			in.waitDrained(ctx)
			next = in.a.now()
			retry = 0
		case err == nil:
			retry = 0
		case errors.Is(err, connector.ErrNeedsLogin):
			retry = 0 // the schedule retries; `login` also triggers a poll
		default:
			// A failed round keeps its progress: try again sooner than the
			// schedule, backing off up to the interval.
			retry = min(max(2*retry, 15*time.Second), 5*time.Minute)
			if t := now.Add(retry); t.Before(next) {
				next = t
			}
		}
	}
}

func (in *instance) waitDrained(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-in.drained:
	case <-t.C:
	}
}

// sleepUntil sleeps until t; false when ctx ended first. A zero t (a
// schedule that never fires again) sleeps until ctx ends.
func (in *instance) sleepUntil(ctx context.Context, t time.Time) bool {
	if t.IsZero() {
		<-ctx.Done()
		return false
	}
	return sleepCtx(ctx, t.Sub(in.a.now()))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pollNow runs a round at once, outside the schedule and active hours.
func (in *instance) pollNow(ctx context.Context, resync bool) (PollResult, error) {
	if !in.cfg.Enabled {
		return PollResult{}, fmt.Errorf("instance %s is disabled (enabled = false)", in.cfg.Name)
	}
	if in.tenant != nil {
		return in.tenant.pollAll(ctx, resync)
	}
	res, err := in.poll(ctx, resync, false)
	return PollResult{
		Instance: in.cfg.Name, Items: res.Items, Events: res.Events, Pages: res.Pages,
		Resynced: res.Resynced, Paused: res.Paused,
	}, err
}

// reloadToken makes the Graph client read the token from the store again,
// after `onedrive-agent login` saved a new one.
func (in *instance) reloadToken() {
	if in.client != nil {
		in.client.ReloadToken()
	}
	in.retryPush()
}
