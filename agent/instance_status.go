package agent

import (
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
)

// status reads the instance's figures from the store and adds what only the
// running agent knows (its state and next poll).
func (in *instance) status(running bool) (InstanceStatus, error) {
	name := in.cfg.Name
	st, err := in.a.db.State(name)
	if err != nil {
		return InstanceStatus{}, fmt.Errorf("instance %s: %w", name, err)
	}
	q, err := in.a.db.Stats(name)
	if err != nil {
		return InstanceStatus{}, fmt.Errorf("instance %s: %w", name, err)
	}
	is := InstanceStatus{
		Name: name, ID: in.info.ID, Enabled: in.cfg.Enabled, DriveID: st.DriveID,
		LastPoll: timePtr(st.LastPoll), LastSuccess: timePtr(st.LastSuccess), LastPollError: st.LastPollError,
		QueuedEvents: q.QueuedEvents, QueuedMessages: q.QueuedMessages, OldestQueued: timePtr(q.Oldest),
		DeadMessages: q.DeadMessages, DeadEvents: q.DeadEvents, LastDeliveryError: st.LastDeliveryError,
		Resyncs: st.Resyncs,
	}
	err = in.db.View(func(tx delta.Tx) error {
		p, ok, err := delta.InProgress(tx)
		if ok {
			is.Round = &Round{Mode: p.Mode, Phase: p.Phase, Pages: p.Pages, Items: p.Items, Events: p.Events, Started: timePtr(p.Started)}
		}
		return err
	})
	if err != nil {
		return InstanceStatus{}, fmt.Errorf("instance %s: %w", name, err)
	}
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
		is.Hint = fmt.Sprintf("%d dead letters: inspect with `onedrive-agent dead list %s`, then replay or purge", q.DeadMessages, name)
	}
	return is, nil
}
