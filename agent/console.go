package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/agent/console"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
)

// consoleBackend shows a Controller to the operator console.
type consoleBackend struct {
	c       Controller
	targets func(instance string) string // the callback URL; nil: none
}

var (
	_ console.Backend        = consoleBackend{}
	_ console.DriveLister    = consoleBackend{}
	_ console.InstanceReader = consoleBackend{}
)

// statusOfer is a Controller that reads one instance without the others
// (*Agent).
type statusOfer interface {
	StatusOf(ctx context.Context, name string) (Status, error)
}

func notFound(err error) error {
	if errors.Is(err, ErrUnknownInstance) {
		return fmt.Errorf("%w: %w", console.ErrNotFound, err)
	}
	return err
}

// Overview implements console.Backend.
func (b consoleBackend) Overview(ctx context.Context) (console.Overview, error) {
	s, err := b.c.Status(ctx)
	if err != nil {
		return console.Overview{}, err
	}
	return b.overview(s), nil
}

// OverviewOf implements console.InstanceReader: through StatusOf when the
// Controller has it, else from the whole status.
func (b consoleBackend) OverviewOf(ctx context.Context, name string) (console.Overview, error) {
	if so, ok := b.c.(statusOfer); ok {
		s, err := so.StatusOf(ctx, name)
		if err != nil {
			return console.Overview{}, notFound(err)
		}
		return b.overview(s), nil
	}
	s, err := b.c.Status(ctx)
	if err != nil {
		return console.Overview{}, err
	}
	for _, in := range s.Instances {
		if in.Name == name {
			s.Instances = []InstanceStatus{in}
			return b.overview(s), nil
		}
	}
	return console.Overview{}, fmt.Errorf("%w: instance %q", console.ErrNotFound, name)
}

// overview turns a status into the console's overview.
func (b consoleBackend) overview(s Status) console.Overview {
	ov := console.Overview{Version: s.Version, Running: s.Running, Started: deref(s.Started),
		Instances: make([]console.Instance, 0, len(s.Instances))}
	for _, in := range s.Instances {
		ci := console.Instance{
			Name: in.Name, Enabled: in.Enabled, State: in.State, Hint: in.Hint, DriveID: in.DriveID,
			LastPoll: deref(in.LastPoll), LastSuccess: deref(in.LastSuccess), NextPoll: deref(in.NextPoll),
			LastPollError: in.LastPollError, QueuedEvents: in.QueuedEvents, QueuedMessages: in.QueuedMessages,
			Oldest: deref(in.OldestQueued), DeadMessages: in.DeadMessages, DeadEvents: in.DeadEvents,
			LastDeliveryError: in.LastDeliveryError,
		}
		if in.Drives != nil {
			ci.TenantWide, ci.Drives = true, *in.Drives
			if in.DrivesFailing != nil {
				ci.DrivesFailing = *in.DrivesFailing
			}
		}
		if in.Push != "off" {
			ci.Push, ci.PushError = in.Push, in.PushError
		}
		if b.targets != nil {
			if u := b.targets(in.Name); u != "" {
				ci.Target = console.RedactURL(u)
			}
		}
		if r := in.Round; r != nil {
			ci.Round = fmt.Sprintf("%s round in progress: %s phase, %d items in %d pages, %d events", r.Mode, r.Phase, r.Items, r.Pages, r.Events)
		}
		ov.Instances = append(ov.Instances, ci)
	}
	return ov
}

// DeadLetters implements console.Backend.
func (b consoleBackend) DeadLetters(ctx context.Context, name string) ([]console.DeadLetter, error) {
	dls, err := b.c.Dead(ctx, name)
	if err != nil {
		return nil, notFound(err)
	}
	out := make([]console.DeadLetter, 0, len(dls))
	for _, d := range dls {
		out = append(out, console.DeadLetter{ID: d.ID, Events: d.Events, Reason: d.Reason, Died: d.Died,
			Created: d.Created, Attempts: d.Attempts, LastError: d.LastError})
	}
	return out, nil
}

// Drives implements console.DriveLister when the controller lists drives.
func (b consoleBackend) Drives(ctx context.Context, name string) ([]console.Drive, error) {
	dl, ok := b.c.(DriveLister)
	if !ok {
		return nil, errors.New("this agent does not list drives")
	}
	ds, err := dl.Drives(ctx, name)
	if err != nil {
		return nil, notFound(err)
	}
	out := make([]console.Drive, 0, len(ds))
	for _, d := range ds {
		out = append(out, console.Drive{ID: d.DriveID, Name: d.DriveName, Owner: d.Owner, State: d.State,
			LastPoll: deref(d.LastPoll), QueuedEvents: d.QueuedEvents, LastError: d.LastError})
	}
	return out, nil
}

// Poll implements console.Backend.
func (b consoleBackend) Poll(ctx context.Context, name string) (string, error) {
	res, err := b.c.Poll(ctx, name)
	return roundText(res), notFound(err)
}

// Resync implements console.Backend.
func (b consoleBackend) Resync(ctx context.Context, name string) (string, error) {
	res, err := b.c.Resync(ctx, name)
	return roundText(res), notFound(err)
}

// Replay implements console.Backend.
func (b consoleBackend) Replay(ctx context.Context, name string, ids []string) (int, error) {
	n, err := b.c.Replay(ctx, name, ids)
	return n, notFound(err)
}

// Purge implements console.Backend.
func (b consoleBackend) Purge(ctx context.Context, name string, ids []string) (int, error) {
	n, err := b.c.Purge(ctx, name, ids)
	return n, notFound(err)
}

func roundText(r PollResult) string {
	s := fmt.Sprintf("%s from %s in %s", plural(r.Events, "event"), plural(r.Items, "item"), plural(r.Pages, "page"))
	if r.Resynced {
		s += ", drive resynced"
	}
	if r.Paused {
		s += "; paused: the queue is full"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// recordAttempt turns a delivery attempt into the console's activity.
func recordAttempt(rec *activity.Recorder, name string) func(deliver.Attempt) {
	return func(a deliver.Attempt) {
		d := activity.Delivery{ID: a.Message, Events: a.Events, Status: a.Code, Took: a.Took, Error: a.Err}
		switch a.Outcome {
		case deliver.Delivered:
			d.Outcome = activity.Delivered
		case deliver.Reject:
			d.Outcome = activity.Dead
		case deliver.Split:
			d.Outcome = activity.Split
		default:
			d.Outcome = activity.Retry
		}
		rec.Record(name, d)
	}
}
