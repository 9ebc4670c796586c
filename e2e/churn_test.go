package e2e

import (
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestChurn is scenario 1: random changes with polls in between. The
// events of every poll must equal the ones derived from snapshots of the
// drive taken right before each poll, and the replay of all events must
// give the final tree.
func TestChurn(t *testing.T) {
	e := NewEnv(t, Setup{Populate: P.ChurnPopulate, Seed: 1, Instance: InstanceConfig{MaxEvents: 7}})
	e.StartBaselined()
	r := runChurn(t, e, NewMutator(e.Graph, 11), P.ChurnPolls, P.ChurnFor, P.ChurnBatch)
	e.WaitDrained(2 * time.Minute)
	s := e.Verify(0)
	r.compare(t, s.Events)
	e.CheckQuiet()
	if code := e.Agent.Stop(); code != 0 {
		t.Errorf("agent exit status %d after SIGTERM, want 0", code)
	}
	t.Logf("FIGURE %s: %d changes, %d polls, %d events, %d idle polls each one Graph request",
		t.Name(), r.changes, len(r.counts), len(s.Events), r.idle)
}

// churnRun records what a churn expects per poll.
type churnRun struct {
	counts  []int    // events each poll reported
	wants   [][]Want // events each poll must have produced
	changes int
	idle    int
}

// runChurn alternates batches of random changes with polls (through the
// admin API, and every fifth through `onedrive-agent poll`), polls times or,
// with dur > 0, until dur has passed. Every seventh poll follows no change
// and must cost exactly one Graph request.
func runChurn(t *testing.T, e *Env, m *Mutator, polls int, dur time.Duration, batch int) *churnRun {
	t.Helper()
	r := &churnRun{}
	prev := e.Base
	end := time.Now().Add(dur)
	for i := 0; ; i++ {
		if (dur > 0 && time.Now().After(end)) || (dur == 0 && i >= polls) {
			break
		}
		idle := i%7 == 6
		if !idle {
			m.Batch(1+m.rng.IntN(batch), prev)
		}
		cur := e.Graph.Tree()
		want := Expected(prev, cur)
		before := e.Graph.Count(graphtest.ClassGraph, 0)
		var n int
		if i%5 == 4 {
			n = e.PollCLI(e.Names[0])
		} else {
			res := e.PollOK(e.Names[0])
			if res.Paused || res.Resynced {
				t.Fatalf("poll %d: paused %v resynced %v", i, res.Paused, res.Resynced)
			}
			n = res.Events
		}
		if n != len(want) {
			t.Errorf("poll %d: %d events, the drive's changes give %d", i, n, len(want))
		}
		if idle {
			r.idle++
			if got := e.Graph.Count(graphtest.ClassGraph, 0) - before; got != 1 {
				t.Errorf("poll %d of an unchanged drive made %d Graph requests, want 1", i, got)
			}
		}
		r.counts = append(r.counts, n)
		r.wants = append(r.wants, want)
		prev = cur
		if P.Long && i%3 == 0 {
			time.Sleep(time.Duration(m.rng.IntN(300)) * time.Millisecond) // let delivery interleave
		}
	}
	r.changes = m.Changes
	return r
}

// compare splits the delivered events by poll and compares each poll's
// events with the expected ones, in order.
func (r *churnRun) compare(t *testing.T, events []Event) {
	t.Helper()
	total := 0
	for _, n := range r.counts {
		total += n
	}
	if total != len(events) {
		t.Errorf("polls reported %d events, the receiver got %d distinct ones", total, len(events))
	}
	off, bad := 0, 0
	for i, n := range r.counts {
		end := min(off+n, len(events))
		if d := CompareEvents(events[off:end], r.wants[i]); len(d) > 0 {
			bad++
			if bad <= 3 {
				t.Errorf("poll %d: events differ from the drive's changes:\n  %s", i, join(d))
			}
		}
		off = end
	}
	if bad > 3 {
		t.Errorf("... %d polls differ in all", bad)
	}
}

func join(lines []string) string {
	s := ""
	for i, l := range lines {
		if i > 0 {
			s += "\n  "
		}
		s += l
	}
	return s
}
