package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// An instance with push = "auto" and a signed-in user keeps Graph's socket.io notification
// link open (connector.Push). A notification, or a completed (re)connect, opens a debounce
// window; when it closes the instance polls once. Notifications that arrive during that poll
// open one more window. The schedule keeps running as the safety net, so a lost notification
// delays a change until the next scheduled poll at worst.

// pushStatus is what status shows of an instance's push link.
type pushStatus struct {
	mu            sync.Mutex
	state         string
	reason        string
	notifications uint64
	last          time.Time
	link          *connector.Push // nil until runPush started
}

// retryPush makes a push link waiting on a refused or missing sign-in try again now.
func (in *instance) retryPush() {
	in.push.mu.Lock()
	link := in.push.link
	in.push.mu.Unlock()
	if link != nil {
		link.Retry()
	}
}

// appOnlyReason is why client_credentials instances poll only.
const appOnlyReason = "app-only sign-in (client_credentials): Graph offers change notifications to signed-in users only; polling"

// pushWanted reports whether the instance runs a push link: push = "auto" and a delegated
// sign-in.
func (in *instance) pushWanted() bool {
	return in.cfg.Poll.Push == config.PushAuto && in.cfg.Auth.Flow != config.FlowClientCredentials
}

// initPush sets the push state an instance starts with.
func (in *instance) initPush() {
	in.kick = make(chan struct{}, 1)
	in.push.state = connector.PushOff
	if in.cfg.Poll.Push == config.PushAuto && in.cfg.Auth.Flow == config.FlowClientCredentials {
		in.push.state, in.push.reason = connector.PushUnsupported, appOnlyReason
	}
}

// runPush keeps the push link up until ctx ends; it returns nil.
func (in *instance) runPush(ctx context.Context) error {
	p, err := connector.NewPush(connector.PushOptions{
		Subscribe:  in.subscribe,
		HTTPClient: in.graphHTTP,
		Version:    in.a.version,
		Logger:     in.log,
		Observer: connector.PushObserver{
			State:        in.pushState,
			Connected:    in.pushConnected,
			Notification: in.pushNotified,
		},
	})
	if err != nil {
		in.log.Error("push disabled", "err", err)
		return nil
	}
	in.push.mu.Lock()
	in.push.link = p
	in.push.mu.Unlock()
	err = p.Run(ctx)
	in.pushState(connector.PushOff, nil)
	return err
}

// subscribe asks Graph for a notification URL of the instance's drive. The drive id comes
// from the store; before the first poll resolved it (or after the drive setting changed) it
// is resolved here.
func (in *instance) subscribe(ctx context.Context) (connector.Subscription, error) {
	st, err := in.a.db.State(in.cfg.Name)
	if err != nil {
		return connector.Subscription{}, err
	}
	id := st.DriveID
	if id == "" || (st.Scope != "" && st.Scope != in.cfg.Scope()) {
		if id, err = in.client.ResolveDrive(ctx, in.cfg.Drive.Spec); err != nil {
			return connector.Subscription{}, err
		}
	}
	return in.client.Subscribe(ctx, id)
}

func (in *instance) pushState(state string, err error) {
	in.push.mu.Lock()
	in.push.state = state
	switch {
	case err != nil:
		in.push.reason = err.Error()
	case state == connector.PushConnected || state == connector.PushOff:
		in.push.reason = ""
	}
	in.push.mu.Unlock()
	if state != connector.PushConnected {
		in.a.metrics.pushConnected.WithLabelValues(in.cfg.Name).Set(0)
	}
}

func (in *instance) pushConnected(reconnect bool) {
	in.a.metrics.pushConnected.WithLabelValues(in.cfg.Name).Set(1)
	if reconnect {
		in.a.metrics.pushReconnects.WithLabelValues(in.cfg.Name).Inc()
	}
	in.log.Debug("push link connected", "reconnect", reconnect)
	in.kickPoll() // a change made while disconnected is not left for the schedule
}

func (in *instance) pushNotified() {
	now := in.a.now()
	in.push.mu.Lock()
	in.push.notifications++
	in.push.last = now
	in.push.mu.Unlock()
	in.a.metrics.pushNotifications.WithLabelValues(in.cfg.Name).Inc()
	in.kickPoll()
}

// kickPoll asks for a debounced poll; kicks before the window closes make one poll.
func (in *instance) kickPoll() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// runPushPoller turns kicks into polls: the first kick opens a window of poll.debounce, the
// poll runs when it closes, and a kick during the poll opens the next window. Active hours,
// a full queue, a full disk and a needed sign-in hold push-triggered polls back as they hold
// scheduled ones; Graph's throttling pauses them in the connector like any request.
func (in *instance) runPushPoller(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-in.kick:
		}
		if !sleepCtx(ctx, in.cfg.Poll.Debounce) {
			return nil
		}
		select {
		case <-in.kick: // notifications inside the window are this poll's
		default:
		}
		if why := in.pushHold(); why != "" {
			in.log.Debug("notification not polled", "reason", why)
			continue
		}
		if _, err := in.poll(ctx, false, true); err != nil && ctx.Err() == nil && !errors.Is(err, connector.ErrNeedsLogin) {
			in.log.Debug("push-triggered poll failed; the schedule retries", "err", err)
		}
	}
}

// pushHold returns why a push-triggered poll must not run now, "" when it may.
func (in *instance) pushHold() string {
	if !in.cfg.Poll.Schedule.Active(in.a.now()) {
		return "outside active_hours"
	}
	in.mu.Lock()
	state := in.state
	in.mu.Unlock()
	switch state {
	case StateQueueFull, StateDiskFull, StateNeedsLogin:
		return state
	}
	return ""
}

// pushSnapshot returns the push fields of the status.
func (in *instance) pushSnapshot(running bool) (state, reason string, n uint64, last time.Time) {
	in.push.mu.Lock()
	defer in.push.mu.Unlock()
	state, reason = in.push.state, in.push.reason
	if !running && state != connector.PushUnsupported {
		state, reason = connector.PushOff, ""
	}
	return state, reason, in.push.notifications, in.push.last
}
