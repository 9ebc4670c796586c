package agent

import (
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/agent/instore"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// status reads the instance's figures from the store and adds what only the
// running agent knows (its state and next poll).
func (in *instance) status(running bool) (InstanceStatus, error) {
	name := in.cfg.Name
	// One read transaction for the state, the queue and the round.
	var (
		st    store.State
		q     store.Stats
		round *Round
	)
	err := in.store.View(func(tx delta.Tx) error {
		stx := tx.(*instore.Tx)
		var err error
		if st, err = stx.State(); err != nil {
			return err
		}
		if q, err = stx.Stats(); err != nil {
			return err
		}
		p, ok, err := delta.InProgress(tx)
		if ok {
			round = &Round{Mode: p.Mode, Phase: p.Phase, Pages: p.Pages, Items: p.Items, Events: p.Events, Started: timePtr(p.Started)}
		}
		return err
	})
	if err != nil {
		return InstanceStatus{}, fmt.Errorf("instance %s: %w", name, err)
	}
	is := InstanceStatus{
		Name: name, ID: in.info.ID, Enabled: in.cfg.Enabled, DriveID: st.DriveID,
		LastPoll: timePtr(st.LastPoll), LastSuccess: timePtr(st.LastSuccess), LastPollError: st.LastPollError,
		QueuedEvents: q.QueuedEvents, QueuedMessages: q.QueuedMessages, OldestQueued: timePtr(q.Oldest),
		DeadMessages: q.DeadMessages, DeadEvents: q.DeadEvents, LastDeliveryError: st.LastDeliveryError,
		Resyncs: st.Resyncs, Round: round,
	}
	is.Sink = in.sink
	is.Delivery = in.deliveryStatus(running, q.QueuedMessages)
	is.Round = in.live.merge(is.Round)
	var last time.Time
	is.Push, is.PushError, is.PushNotifications, last = in.pushSnapshot(running && in.cfg.Enabled)
	is.LastNotification = timePtr(last)
	if in.tenant != nil {
		n, failing := in.tenant.counts()
		is.Drives, is.DrivesFailing = &n, &failing
	}
	in.mu.Lock()
	is.State = in.state
	if is.State == StateIdle && running && is.Delivery.State != deliver.StateIdle {
		is.State = is.Delivery.State
	}
	if running && in.cfg.Enabled {
		is.NextPoll = timePtr(in.nextPoll)
	}
	in.mu.Unlock()
	if !running && in.cfg.Enabled {
		is.State = StateStopped
	}
	if st.NeedsLogin {
		is.State = StateNeedsLogin
	}
	switch {
	case st.NeedsLogin:
		is.Hint = "sign-in needed: run `onedrive-agent login " + name + "`"
	case q.DeadMessages > 0:
		is.Hint = fmt.Sprintf("%s: inspect with `onedrive-agent dead list %s`, then replay or purge", deadLetters(q.DeadMessages), name)
	}
	return is, nil
}

// deliveryStatus returns the delivery loop's state while the agent runs;
// otherwise what the message at the head of the queue holds.
func (in *instance) deliveryStatus(running bool, queued int64) *Delivery {
	if running {
		st := in.loop.Status()
		d := &Delivery{State: st.State, Attempts: st.Attempts, NextAttempt: timePtr(st.NextAttempt),
			FailingSince: timePtr(st.FailingSince), LastError: st.LastError, LastDelivered: timePtr(st.LastDelivered)}
		if d.State == deliver.StateIdle && queued > 0 {
			d.State = deliver.StateDelivering
		}
		return d
	}
	d := &Delivery{State: deliver.StateIdle}
	if head, err := in.store.Peek(1); err == nil && len(head) == 1 {
		d.State = deliver.StateDelivering
		if m := head[0]; m.Attempts > 0 {
			d.State, d.Attempts, d.LastError = deliver.StateRetrying, m.Attempts, m.LastError
			d.NextAttempt = timePtr(m.NextAttempt)
		}
	}
	return d
}

// deadLetters says how many dead letters there are, in words.
func deadLetters(n int64) string {
	if n == 1 {
		return "1 dead letter"
	}
	return fmt.Sprintf("%d dead letters", n)
}
