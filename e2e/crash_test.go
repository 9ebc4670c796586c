package e2e

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestCrash is scenario 3: the agent is killed with SIGKILL at random
// moments while the drive changes all the time (now and then by thousands
// of items at once, so rounds are staged and applied in chunks), polls come
// from the schedule and from the admin API, Graph answers now and then with
// 410 (also mid-round), 401, 5xx, 429/503 with Retry-After, hang-ups and
// truncated pages, and the receiver flaps between accepting, 5xx, hanging
// past the timeout, 429 with Retry-After and lost responses. After the last restart nothing may be missing, the order per
// instance holds, and every duplicate repeats the same ids and bytes.
func TestCrash(t *testing.T) {
	e := NewEnv(t, Setup{Populate: P.CrashPopulate, Seed: 3, Instance: InstanceConfig{
		Interval: "10s", Timeout: "1s", RetryInitial: "50ms", RetryMax: "1s"}})
	e.StartBaselined()
	rng := rand.New(rand.NewPCG(3, 33))

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var changes atomic.Int64
	wg.Add(4)
	go func() { // the user
		defer wg.Done()
		m := NewMutator(e.Graph, 33)
		files, folders := Split(e.Graph.Tree())
		for i := 1; ctx.Err() == nil; i++ {
			switch {
			case i%P.CrashBurstEvery == 0:
				e.Graph.Populate(P.CrashBurst, int64(1000+i))
			case i%500 == 0:
				files, folders = Split(e.Graph.Tree()) // picks may be stale: Step copes
			default:
				m.Step(files, folders)
			}
			sleepCtx(ctx, 3*time.Millisecond)
		}
		changes.Store(int64(m.Changes))
	}()
	go func() { // the receiver
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 333))
		modes := []Behaviour{Accept, Accept, Accept, Accept, {Status: 500}, {Status: 503},
			{Hang: true}, {Status: 429, RetryAfter: time.Second}, {LoseResponse: true}}
		for ctx.Err() == nil {
			e.Recv.Set(modes[r.IntN(len(modes))])
			sleepCtx(ctx, time.Duration(100+r.IntN(600))*time.Millisecond)
		}
		e.Recv.Set(Accept)
	}()
	go func() { // Microsoft on a bad day
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 33333))
		faults := []func(){
			func() { e.Graph.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Status: 410, NextLinkOnly: true}) },
			e.Graph.ExpireAccessTokens,
			func() { e.Graph.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: 500}) },
			func() {
				e.Graph.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: 429, RetryAfter: time.Second})
			},
			func() {
				e.Graph.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: 503, RetryAfter: time.Second})
			},
			func() { e.Graph.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Hangup: true}) },
			func() { e.Graph.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Truncate: true}) },
		}
		for i := 0; ctx.Err() == nil; i++ {
			sleepCtx(ctx, time.Duration(1000+r.IntN(2000))*time.Millisecond)
			if i%10 == 9 {
				e.Graph.ExpireTokens() // the next round is a full resync
			} else {
				faults[r.IntN(len(faults))]()
			}
		}
		e.Graph.ClearFaults()
	}()
	go func() { // an operator asking for polls
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 3333))
		for ctx.Err() == nil {
			e.Agent.Poll(e.Names[0]) // fails while the agent is down: fine
			sleepCtx(ctx, time.Duration(50+r.IntN(400))*time.Millisecond)
		}
	}()

	var longest time.Duration
	for e.Agent.Kills < P.CrashKills {
		if !e.Agent.Running() {
			e.Agent.Start()
		}
		up := time.Duration(rng.Int64N(int64(P.CrashMaxUp)))
		time.Sleep(up)
		e.Agent.Kill()
		e.Recv.NewEpoch()
		longest = max(longest, up)
	}
	cancel()
	wg.Wait()

	e.Agent.Start()
	// Rounds and deliveries resume; poll until a round finds nothing new
	// left behind by the crashes, then let the queue drain.
	for i := 0; ; i++ {
		res := e.PollOK(e.Names[0])
		if res.Events == 0 && !res.Paused {
			break
		}
		if i == 20 {
			t.Fatalf("polls still find events after 20 rounds of a drive that does not change")
		}
	}
	e.WaitDrained(5 * time.Minute)
	s := e.Verify(0)
	e.CheckQuiet()
	if code := e.Agent.Stop(); code != 0 {
		t.Errorf("agent exit status %d after SIGTERM, want 0", code)
	}
	log := e.Recv.Log()
	g := e.Graph
	t.Logf("FIGURE %s: %d changes, %d SIGKILLs (longest run %v), %d starts, %d callback requests (%d kept), %d distinct events, %d duplicate events, duplicate rate %.4f; Graph answered %d delta requests with %d 410, %d 401, %d 429/503, %d 500",
		t.Name(), changes.Load(), e.Agent.Kills, longest.Round(time.Millisecond), e.Agent.Starts, len(log), s.Requests, len(s.Events), s.Duplicates, s.DuplicateRate(),
		g.Count(graphtest.ClassDelta, 0), g.Count(graphtest.ClassDelta, 410), g.Count(graphtest.ClassGraph, 401),
		g.Count(graphtest.ClassGraph, 429)+g.Count(graphtest.ClassGraph, 503), g.Count(graphtest.ClassGraph, 500))
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
