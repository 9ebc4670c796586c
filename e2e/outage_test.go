package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOutage is scenario 2: the first instance's receiver refuses
// connections for a long stretch while changes keep coming and both
// instances keep polling; the second instance (same drive, its own
// receiver) must not be held up. When the receiver returns, everything
// arrives in order and the backlog drains; the drain rate and the longest
// outage are logged.
func TestOutage(t *testing.T) {
	e := NewEnv(t, Setup{Populate: 200, Seed: 2, Instances: 2,
		Instance: InstanceConfig{Interval: "10s", RetryInitial: "100ms", RetryMax: "1s"}})
	e.StartBaselined()
	m := NewMutator(e.Graph, 22)
	down, other := e.Recvs[0], e.Recvs[1]

	down.Down()
	start := time.Now()
	const step = 500 * time.Millisecond
	perStep := max(1, P.OutageBacklog/int(P.OutageFor/step))
	seed, created := int64(100), 0
	// Until the outage has lasted long enough and the backlog is built (a
	// loaded machine takes longer per step); never beyond three times as long.
	for (time.Since(start) < P.OutageFor || created < P.OutageBacklog) && time.Since(start) < 3*P.OutageFor {
		seed++
		e.Graph.Populate(perStep, seed)
		created += perStep
		m.Batch(20, e.Graph.Tree())
		for _, name := range e.Names {
			e.PollOK(name)
		}
		time.Sleep(time.Until(start.Add(time.Duration(seed-100) * step)))
	}
	st, err := e.Agent.Status()
	if err != nil {
		t.Fatal(err)
	}
	backlog := st.Instances[0].QueuedEvents
	if backlog < int64(P.OutageBacklog)/2 {
		t.Errorf("backlog of %d events during the outage, want at least %d", backlog, P.OutageBacklog/2)
	}
	if e := st.Instances[0].LastDeliveryError; !strings.Contains(e, "refused") {
		t.Errorf("status of the instance whose receiver is down: last delivery error %q, want it to say the connection was refused", e)
	}
	if q := st.Instances[1].QueuedEvents; q > int64(perStep)*4 {
		t.Errorf("the other instance has %d events queued: held up by the outage of the first", q)
	}
	during := 0
	for _, d := range other.Kept() {
		if d.At.After(start) && d.At.Before(start.Add(P.OutageFor)) {
			during++
		}
	}
	if during == 0 {
		t.Errorf("the other instance delivered nothing during the first one's outage")
	}

	up := time.Now()
	down.Up(t)
	e.WaitDrained(10 * time.Minute)
	drained := time.Since(up)
	var first, last time.Time
	events := 0
	for _, d := range down.Kept() {
		if d.At.Before(up) {
			continue
		}
		if first.IsZero() {
			first = d.At
		}
		last = d.At
		var b Body
		if json.Unmarshal(d.Body, &b) == nil {
			events += len(b.Message.Events)
		}
	}

	for _, name := range e.Names {
		e.PollOK(name)
	}
	e.WaitDrained(time.Minute)
	e.Verify(0)
	e.Verify(1)
	e.CheckQuiet()
	if code := e.Agent.Stop(); code != 0 {
		t.Errorf("agent exit status %d after SIGTERM, want 0", code)
	}
	rate := float64(events) / max(last.Sub(first).Seconds(), 1e-3)
	t.Logf("FIGURE %s: longest outage %v, backlog %d events, drained in %v after the receiver returned (first delivery after %v), drain rate %.0f events/s, other instance delivered %d messages during the outage",
		t.Name(), slices.Max(down.Outages()).Round(time.Millisecond), backlog, drained.Round(time.Millisecond),
		first.Sub(up).Round(time.Millisecond), rate, during)
}
