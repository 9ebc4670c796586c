package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/onedrive-agent/onedrive-agent/agent/callback"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// poll runs one delta round of the instance: resolve the drive, re-baseline
// when the configured drive or folder changed since the last run, then fetch
// and apply the round, whose events are queued in the same transactions.
func (in *instance) poll(ctx context.Context, resync, scheduled bool) (delta.Result, error) {
	in.roundMu.Lock()
	defer in.roundMu.Unlock()
	in.setState(StatePolling)
	started := in.a.now()
	in.live.begin(started)
	defer in.live.end()

	res, err := in.round(ctx, resync)

	outcome, state := "ok", StateIdle
	switch {
	case err != nil && ctx.Err() != nil:
		outcome, state = "cancelled", StateIdle
	case errors.Is(err, connector.ErrNeedsLogin):
		outcome, state = "needs_login", StateNeedsLogin
	case err != nil && store.IsDiskFull(err):
		outcome, state = "disk_full", StateDiskFull
	case err != nil:
		outcome, state = "error", StateError
	case res.Paused:
		outcome, state = "paused", StateQueueFull
	}
	in.setState(state)
	if outcome != "needs_login" && outcome != "cancelled" {
		in.loginNag.clear()
	}
	in.a.metrics.polls.WithLabelValues(in.cfg.Name, outcome).Inc()
	if res.Resynced {
		in.a.metrics.resyncs.WithLabelValues(in.cfg.Name).Inc()
	}
	if res.Events > 0 {
		in.loop.Notify()
	}

	log := in.log.With("items", res.Items, "events", res.Events, "pages", res.Pages, "took", in.a.now().Sub(started).Round(1e6))
	switch outcome {
	case "ok":
		if res.Items > 0 || !scheduled {
			log.Info("poll done")
		} else {
			log.Debug("poll done")
		}
	case "paused":
		log.Warn("queue full: polling paused until the receiver takes events", "max_queue", in.cfg.Poll.MaxQueue)
	case "needs_login":
		// One error, then a reminder every loginReminderEvery: the schedule
		// keeps polling, and an error per poll would drown the log.
		now := in.a.now()
		switch first, remind := in.loginNag.hit(now); {
		case first:
			log.Error("sign-in needed: run `onedrive-agent login "+in.cfg.Name+"`; reminders follow every "+loginReminderEvery.String(), "err", err)
		case remind:
			log.Warn("still not signed in: run `onedrive-agent login "+in.cfg.Name+"`", "for", in.loginNag.duration(now))
		default:
			log.Debug("not signed in", "err", err)
		}
	case "disk_full":
		log.Error("disk full: polling paused, delivery goes on", "err", err)
	case "cancelled":
	default:
		log.Error("poll failed; the round resumes from its last saved page", "err", err)
	}

	if uerr := in.a.db.UpdateState(in.cfg.Name, func(s *store.State) error {
		s.LastPoll = started
		s.NeedsLogin = outcome == "needs_login"
		if res.Resynced {
			s.Resyncs++
		}
		switch {
		case err != nil && outcome != "cancelled":
			s.LastPollError = err.Error()
		case err == nil && res.Done:
			s.LastSuccess, s.LastPollError = started, ""
			s.Baselined, s.Scope = true, in.cfg.Scope()
		}
		return nil
	}); uerr != nil && err == nil {
		err = uerr
	}
	return res, err
}

// round prepares and runs the delta round.
func (in *instance) round(ctx context.Context, resync bool) (delta.Result, error) {
	st, err := in.a.db.State(in.cfg.Name)
	if err != nil {
		return delta.Result{}, err
	}
	if st.Scope != "" && st.Scope != in.cfg.Scope() {
		if err := in.rebaseline(st.Scope); err != nil {
			return delta.Result{}, err
		}
		st.Scope, st.DriveID, st.Baselined = in.cfg.Scope(), "", false
	}
	if st.DriveID == "" {
		id, err := in.client.ResolveDrive(ctx, in.cfg.Drive.Spec)
		if err != nil {
			return delta.Result{}, err // the connector names the drive spec
		}
		if err := in.a.db.UpdateState(in.cfg.Name, func(s *store.State) error {
			s.DriveID = id
			return nil
		}); err != nil {
			return delta.Result{}, err
		}
		st.DriveID = id
	}
	if resync {
		if err := delta.Resync(in.store); err != nil {
			return delta.Result{}, fmt.Errorf("start resync: %w", err)
		}
		in.log.Info("resync requested: re-enumerating the drive and reporting only differences")
	}
	// The configured initial mode applies to an instance's very first
	// enumeration; a re-baseline after a change of drive or folder is
	// always silent, so it cannot flood the receiver.
	initial := delta.Baseline
	if in.cfg.Poll.Initial == config.InitialBackfill && st.Scope == "" {
		initial = delta.Backfill
	}
	r := &delta.Round{
		Fetch:    in.live.fetch(in.client.Page),
		Emit:     in.emit,
		InScope:  in.cfg.Drive.Scope.Match,
		Initial:  initial,
		MaxQueue: in.cfg.Poll.MaxQueue,
		DriveID:  st.DriveID,
		Now:      in.a.now,
		Logger:   in.log,
		Limits:   in.roundLimits(),
	}
	full, err := in.fullEnumeration()
	if err != nil {
		return delta.Result{}, err
	}
	if full {
		// Boost the collector only once the enumeration proves large: a
		// small drive's first round should not raise the idle footprint.
		fetch, seen, boosted := r.Fetch, 0, false
		r.Fetch = func(ctx context.Context, link string) (connector.Page, error) {
			p, err := fetch(ctx, link)
			if seen += len(p.Items); !boosted && seen >= boostAfterItems {
				in.a.gc.acquire()
				boosted = true
			}
			return p, err
		}
		defer func() {
			if boosted {
				in.a.gc.release()
			}
		}()
	}
	return r.Run(ctx, in.store, in.client.DeltaURL(st.DriveID))
}

// rebaseline forgets the index and the cursor after the configured drive or
// folder changed, so the next round indexes the new scope silently.
func (in *instance) rebaseline(old string) error {
	in.log.Warn("drive or folder changed since the last run: re-indexing silently, no events for existing items",
		"was", old, "now", in.cfg.Scope())
	err := in.a.db.Update(in.cfg.Name, func(tx *store.Tx) error {
		for _, f := range []func() error{tx.ClearIndex, tx.ClearStaged, tx.ClearPending,
			func() error { return tx.SetRoundState(nil) }, func() error { return tx.SetCursor("") }} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("re-baseline: %w", err)
	}
	return in.a.db.UpdateState(in.cfg.Name, func(s *store.State) error {
		s.Scope, s.DriveID, s.Baselined = in.cfg.Scope(), "", false
		return nil
	})
}

// queueTx is what emitting needs of the round's transaction: sequence
// numbers for the ids, the queue, and the count of what it queued
// (*instore.Tx).
type queueTx interface {
	callback.SeqTx
	Enqueue(msgs ...store.Message) error
	Count(events []delta.Event)
}

// emit turns a slice of the round's events into queued messages inside the
// round's transaction.
func (in *instance) emit(tx delta.Tx, events []delta.Event) error {
	return in.emitMeta(tx, events, in.meta())
}

// emitMeta is emit with the messages' metadata given.
func (in *instance) emitMeta(tx delta.Tx, events []delta.Event, meta callback.Meta) error {
	qtx, ok := tx.(queueTx)
	if !ok {
		return fmt.Errorf("emit: transaction %T cannot queue messages", tx)
	}
	msgs, err := callback.Build(qtx, meta, events, in.a.now())
	if err != nil {
		return err
	}
	if err := qtx.Enqueue(msgs...); err != nil {
		return err
	}
	callback.Recycle(msgs)
	qtx.Count(events)
	return nil
}

// roundLimits are the limits of the instance's rounds: Emit gets its events
// in slices of a whole number of messages (about 256 events), and a
// transaction takes a whole number of slices (about 5,000 events), so that
// messages carry max_events events (with slices of 256 and max_events = 100,
// one message in three carried 56).
func (in *instance) roundLimits() delta.Limits {
	n := max(in.cfg.Callback.MaxEvents, 1)
	batch := n * max(256/n, 1)
	return delta.Limits{EmitBatch: batch, EmitChunk: batch * max(5000/batch, 1)}
}

// tenantRoundLimits are roundLimits for the drives of a tenant-wide
// instance, which poll several at once under a shared request budget: the
// budget paces their pages, so each fetches two pages ahead, not eight.
func (in *instance) tenantRoundLimits() delta.Limits {
	l := in.roundLimits()
	l.FetchAhead = 2
	return l
}

func (in *instance) meta() callback.Meta {
	return callback.Meta{
		DBID: in.a.db.ID(), InstanceID: in.info.ID, Name: in.cfg.Name, Tags: in.cfg.Tags,
		MaxEvents: in.cfg.Callback.MaxEvents,
	}
}

// boostAfterItems is how many items a full enumeration lists before the
// garbage collector is tuned for it (agent/gcboost.go).
const boostAfterItems = 10000

// fullEnumeration reports whether the next round lists the whole drive: no
// cursor yet, or a resync started or asked for.
func (in *instance) fullEnumeration() (full bool, err error) {
	err = in.store.View(func(tx delta.Tx) error {
		cursor, err := tx.Cursor()
		if err != nil || cursor == "" {
			full = err == nil
			return err
		}
		p, ok, err := delta.InProgress(tx)
		full = ok && (p.Resync || p.Mode != "incremental")
		return err
	})
	return full, err
}
