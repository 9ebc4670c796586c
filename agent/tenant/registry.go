// Package tenant keeps the drive list of a tenant-wide instance: which discovered drives this
// agent polls, which it polls only until another shard has taken them over, and which are gone
// and kept for a while in case they come back. It holds one small record per drive and does
// no I/O; the runtime feeds it discoveries and persists Drives.
package tenant

import (
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/fleet"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// States of a drive in the registry.
const (
	// StateActive: discovered, owned by this agent's shard, polled.
	StateActive = "active"
	// StateHandover: discovered but owned by another shard since Since; still polled until
	// Until, so that nothing is lost while the new owner baselines it.
	StateHandover = "handover"
	// StateGone: no longer discovered; not polled; its state is kept until Until.
	StateGone = "gone"
)

// Kinds of Change.
const (
	Added    = "added"    // a new drive to poll: it starts with the instance's initial mode
	Returned = "returned" // a gone or handed-over drive is this agent's again: it resumes
	Moved    = "moved"    // the drive now belongs to another shard: handover starts
	Gone     = "gone"     // the drive was not discovered: polling stops, state kept
	Dropped  = "dropped"  // keep time or handover over: the caller deletes the drive's state
)

// Drive is the registry's record of one drive.
type Drive struct {
	connector.TenantDrive
	State string
	Since time.Time // when the drive entered State
	Until time.Time // StateHandover: end of the handover; StateGone: when it is dropped
}

// Change is one transition, already logged.
type Change struct {
	Kind  string
	Drive Drive
}

// Options configures a Registry.
type Options struct {
	Fleet fleet.Membership // Shards 0 is read as 1
	// Rediscover is the discovery period; a gone drive is kept for 4 × Rediscover.
	Rediscover time.Duration
	// Handover is how long a drive that moved to another shard is still polled.
	Handover time.Duration
	Logger   *slog.Logger
}

// Registry is the drive list of one instance. It is not safe for concurrent use.
type Registry struct {
	opts   Options
	drives map[string]*Drive // by lower-case drive id
}

// New returns a registry holding saved (as returned by Drives), e.g. read back at start.
func New(opts Options, saved []Drive) *Registry {
	if opts.Fleet.Shards < 1 {
		opts.Fleet = fleet.Membership{Shards: 1}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{opts: opts, drives: make(map[string]*Drive, len(saved))}
	for _, d := range saved {
		r.drives[strings.ToLower(d.DriveID)] = &d
	}
	return r
}

// Apply merges a successful discovery made at now and returns the transitions, each logged
// once. A drive this agent's shard owns becomes (or stays) active; one another shard owns is
// either not tracked (never polled here) or, if it was active here, handed over; a tracked
// drive missing from found is gone. Call it only with a complete discovery: a failed one must
// not make drives look gone.
func (r *Registry) Apply(found []connector.TenantDrive, now time.Time) []Change {
	var out []Change
	seen := make(map[string]bool, len(found))
	for _, f := range found {
		k := strings.ToLower(f.DriveID)
		if seen[k] {
			continue
		}
		seen[k] = true
		owned := r.opts.Fleet.Owns(f.DriveID)
		d := r.drives[k]
		switch {
		case d == nil && owned:
			d = &Drive{TenantDrive: f, State: StateActive, Since: now}
			r.drives[k] = d
			out = append(out, r.change(Added, d))
		case d == nil:
			// Another shard's drive: nothing to do here.
		case owned && d.State != StateActive:
			d.TenantDrive, d.State, d.Since, d.Until = f, StateActive, now, time.Time{}
			out = append(out, r.change(Returned, d))
		case owned:
			d.TenantDrive = f // names and owners change (renamed library, new UPN)
		case d.State == StateActive:
			d.TenantDrive, d.State, d.Since, d.Until = f, StateHandover, now, now.Add(r.opts.Handover)
			out = append(out, r.change(Moved, d))
		case d.State == StateGone:
			// Gone from here and another shard's now: it has nothing to hand over.
			delete(r.drives, k)
			out = append(out, r.change(Dropped, d))
		}
	}
	keys := make([]string, 0, len(r.drives))
	for k := range r.drives {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := r.drives[k]; !seen[k] && d.State != StateGone {
			d.State, d.Since, d.Until = StateGone, now, now.Add(4*r.opts.Rediscover)
			out = append(out, r.change(Gone, d))
		}
	}
	return out
}

// Expire drops the gone drives whose keep time and the handed-over drives whose handover has
// passed at now, and returns them (logged); the caller deletes their state.
func (r *Registry) Expire(now time.Time) []Change {
	var out []Change
	for _, d := range r.Drives() {
		if d.State != StateActive && !now.Before(d.Until) {
			delete(r.drives, strings.ToLower(d.DriveID))
			out = append(out, r.change(Dropped, &d))
		}
	}
	return out
}

// Has reports whether the registry tracks driveID (in any state).
func (r *Registry) Has(driveID string) bool {
	_, ok := r.drives[strings.ToLower(driveID)]
	return ok
}

// Polled returns the drives to poll, active and handed over, sorted by drive id.
func (r *Registry) Polled() []Drive {
	var out []Drive
	for _, d := range r.Drives() {
		if d.State != StateGone {
			out = append(out, d)
		}
	}
	return out
}

// Drives returns every tracked drive, sorted by drive id: what to persist and to show.
func (r *Registry) Drives() []Drive {
	out := make([]Drive, 0, len(r.drives))
	for _, d := range r.drives {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].DriveID) < strings.ToLower(out[j].DriveID) })
	return out
}

// Counts returns the number of drives in each state, for a bounded gauge.
func (r *Registry) Counts() map[string]int {
	c := map[string]int{StateActive: 0, StateHandover: 0, StateGone: 0}
	for _, d := range r.drives {
		c[d.State]++
	}
	return c
}

var changeMessages = map[string]string{
	Added:    "drive discovered: polling it",
	Returned: "drive is this agent's again: polling it from where it was",
	Moved:    "drive moved to another shard: polling it until the handover ends",
	Gone:     "drive no longer discovered: polling stopped, its state is kept",
	Dropped:  "drive dropped with its state",
}

func (r *Registry) change(kind string, d *Drive) Change {
	args := []any{"drive_id", d.DriveID, "drive_name", d.DriveName, "owner", d.Owner}
	switch kind {
	case Moved:
		args = append(args, "shard", fleet.Owner(d.DriveID, r.opts.Fleet.Shards), "until", d.Until)
	case Gone:
		args = append(args, "kept_until", d.Until)
	}
	r.opts.Logger.Info(changeMessages[kind], args...)
	return Change{Kind: kind, Drive: *d}
}
