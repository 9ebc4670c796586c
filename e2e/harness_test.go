package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// Test credentials registered with the fake identity platform.
const (
	clientID     = "11111111-2222-3333-4444-555555555555"
	clientSecret = "e2e-secret"
	signatureKey = "e2e-signature-key"
)

// Setup describes a test environment.
type Setup struct {
	Graph    graphtest.Options
	Populate int   // items created before the agent starts (the baseline)
	Seed     int64 // for Populate
	// Instance holds per-instance settings; Name, auth, drive and callback
	// URL are filled in. A zero Instance gets a Manual schedule and short
	// retries.
	Instance InstanceConfig
	// Instances, when > 1, configures that many instances on the same
	// drive, each with its own receiver (Env.Recvs).
	Instances int
}

// Env is one fake Graph, one or more receivers and one agent process.
type Env struct {
	t       testing.TB
	Graph   *graphtest.Server
	Recv    *Receiver   // the first instance's receiver
	Recvs   []*Receiver // one per instance
	Names   []string    // instance names
	Cfg     AgentConfig
	CfgPath string
	Agent   *Agent
	// Base is the drive as the baseline indexed it (set by StartBaselined).
	Base map[string]graphtest.Entry
}

// NewEnv starts the fake Graph and the receivers and writes agent.toml.
func NewEnv(t testing.TB, s Setup) *Env {
	t.Helper()
	dir := t.TempDir()
	g := graphtest.NewServer(s.Graph)
	t.Cleanup(g.Close)
	g.AddClient(clientID, clientSecret, false)
	if s.Populate > 0 {
		g.Populate(s.Populate, s.Seed)
	}
	e := &Env{t: t, Graph: g, CfgPath: filepath.Join(dir, "agent.toml")}
	e.Cfg = AgentConfig{DataDir: filepath.Join(dir, "data"), AdminAddr: freeAddr(t)}
	n := max(1, s.Instances)
	for i := 0; i < n; i++ {
		r := NewReceiver(t)
		e.Recvs = append(e.Recvs, r)
		in := s.Instance
		in.Name = "e2e"
		if n > 1 {
			in.Name = fmt.Sprintf("e2e-%d", i+1)
		}
		if in.ClientID == "" {
			in.ClientID, in.ClientSecret = clientID, clientSecret
		}
		in.LoginURL, in.GraphURL = g.LoginURL(), g.GraphURL()
		if in.Drive == "" {
			in.Drive = g.DriveID()
		}
		in.CallbackURL, in.SignatureKey = r.URL(), signatureKey
		if in.Interval == "" && in.Schedule == "" {
			in.Schedule = Manual
		}
		in.Timeout = or(in.Timeout, "2s")
		in.RetryInitial = or(in.RetryInitial, "50ms")
		in.RetryMax = or(in.RetryMax, "500ms")
		e.Cfg.Instances = append(e.Cfg.Instances, in)
		e.Names = append(e.Names, in.Name)
	}
	e.Recv = e.Recvs[0]
	e.Cfg.Write(t, e.CfgPath)
	e.Agent = NewAgent(t, e.CfgPath, e.Cfg)
	return e
}

// maxEvents is the max_events of instance k (10 when not configured).
func (e *Env) maxEvents(k int) int {
	if n := e.Cfg.Instances[k].MaxEvents; n > 0 {
		return n
	}
	return 10
}

// StartBaselined snapshots the drive, starts the agent and waits until
// every instance has finished its first (silent) round. The drive must not
// change until it returns.
func (e *Env) StartBaselined() {
	e.t.Helper()
	e.Base = e.Graph.Tree()
	e.Agent.Start()
	e.waitFor("the baseline", 60*time.Second, func(s Status) bool {
		for _, in := range s.Instances {
			if in.LastSuccess == nil {
				return false
			}
		}
		return len(s.Instances) > 0
	})
}

// waitFor polls the status until ok or the timeout; it fails the test on timeout.
func (e *Env) waitFor(what string, timeout time.Duration, ok func(Status) bool) Status {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var s Status
	var err error
	for time.Now().Before(deadline) {
		if s, err = e.Agent.Status(); err == nil && ok(s) {
			return s
		}
		time.Sleep(25 * time.Millisecond)
	}
	e.t.Fatalf("waiting for %s: timed out after %v (last status %+v, error %v)", what, timeout, s, err)
	return s
}

// WaitDrained waits until no instance has queued messages.
func (e *Env) WaitDrained(timeout time.Duration) {
	e.t.Helper()
	e.waitFor("the queue to drain", timeout, func(s Status) bool {
		for _, in := range s.Instances {
			if in.QueuedMessages != 0 || in.QueuedEvents != 0 {
				return false
			}
		}
		return true
	})
}

// PollOK polls an instance through the admin API and fails the test on error.
func (e *Env) PollOK(name string) PollResult {
	e.t.Helper()
	res, err := e.Agent.Poll(name)
	if err != nil {
		e.t.Fatalf("poll %s: %v", name, err)
	}
	return res
}

var pollLine = regexp.MustCompile(`(\d+) events queued`)

// PollCLI polls with `onedrive-agent poll -c FILE NAME` and returns the
// number of events the command reports.
func (e *Env) PollCLI(name string) int {
	e.t.Helper()
	r := RunCLI(e.t, "poll", "-c", e.CfgPath, name)
	m := pollLine.FindStringSubmatch(r.Stdout)
	if r.Code != 0 || m == nil {
		e.t.Fatalf("onedrive-agent poll %s: exit %d\nstdout: %s\nstderr: %s", name, r.Code, r.Stdout, r.Stderr)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Verify proves that nothing was lost for instance k: it analyzes every
// request its receiver got (ids, order, duplicates, message format),
// replays the distinct events onto Base and compares the result with the
// drive now, checks that Graph saw no request inside a Retry-After window,
// and logs the figures. The queue must be drained first.
func (e *Env) Verify(k int) Stream {
	e.t.Helper()
	t := e.t
	s := Analyze(e.Recvs[k].Log(), e.maxEvents(k), e.Cfg.Instances[k].SignatureKey)
	for _, p := range s.Problems {
		t.Errorf("%s: %s", e.Names[k], p)
	}
	if len(s.Missing) > 0 {
		t.Errorf("%s: %d sequence numbers never delivered (lost messages or events), first %v", e.Names[k], len(s.Missing), s.Missing[:min(10, len(s.Missing))])
	}
	m := NewMirror(e.Base)
	m.ApplyAll(s.Events)
	for _, a := range m.Anomalies {
		t.Errorf("%s: replay: %s", e.Names[k], a)
	}
	diff := m.Diff(e.Graph.Tree())
	for i, d := range diff {
		if i == 20 {
			t.Errorf("... and %d more differences", len(diff)-20)
			break
		}
		t.Errorf("%s: replayed tree differs from the drive: %s", e.Names[k], d)
	}
	if v := graphViolations(e.Graph.Requests(), e.Agent.KillTimes); len(v) > 0 {
		t.Errorf("%d Graph requests inside a Retry-After window, first: %+v", len(v), v[0])
	}
	if len(e.Agent.KillTimes) == 0 && len(e.Graph.RetryAfterViolations()) > 0 {
		t.Errorf("graphtest counts Graph requests inside a Retry-After window: %+v", e.Graph.RetryAfterViolations()[0])
	}
	if v := e.Recvs[k].RetryAfterViolations(); len(v) > 0 {
		t.Errorf("%d callbacks inside the receiver's Retry-After window, first: %s", len(v), v[0])
	}
	if s.Duplicates > 0 && len(e.Agent.KillTimes) == 0 {
		// Without a kill, a duplicate must follow a lost response (here: a
		// callback timeout on a loaded machine). Show the evidence.
		t.Logf("%s: %d duplicate events without a kill:\n%s", e.Names[k], s.Duplicates, e.resends(k))
	}
	t.Logf("FIGURE %s %s: loss=%d (missing seqs %d, tree differences %d, replay anomalies %d) events=%d messages=%d requests=%d duplicates=%d duplicate_rate=%.4f items=%d stale_old_paths=%d",
		t.Name(), e.Names[k], len(s.Missing)+len(diff), len(s.Missing), len(diff), len(m.Anomalies),
		len(s.Events), s.Messages, s.Requests, s.Duplicates, s.DuplicateRate(), m.Len(), m.StaleOldPaths)
	return s
}

// CheckQuiet fails the test when an instance has dead letters or a queue.
func (e *Env) CheckQuiet() {
	e.t.Helper()
	s, err := e.Agent.Status()
	if err != nil {
		e.t.Fatalf("status: %v", err)
	}
	for _, in := range s.Instances {
		if in.DeadMessages != 0 || in.QueuedMessages != 0 {
			e.t.Errorf("%s: %d dead letters, %d queued messages at the end", in.Name, in.DeadMessages, in.QueuedMessages)
		}
	}
}

// graphViolations is graphtest's RetryAfterViolations that excuses a new
// process: a request is a violation when it came inside the Retry-After
// window of a throttled answer to the same client and no SIGKILL happened
// between that answer and the request (the agent keeps throttling state in
// memory; a killed process cannot pass it on).
func graphViolations(log []graphtest.Request, kills []time.Time) []graphtest.Request {
	graph := func(c graphtest.Class) bool { return c == graphtest.ClassDelta || c == graphtest.ClassDrive }
	var out []graphtest.Request
	for j, th := range log {
		if !graph(th.Class) || th.RetryAfter <= 0 || (th.Status != 429 && th.Status != 503) {
			continue
		}
		end := th.Time.Add(th.RetryAfter)
		for k, r := range log {
			if k == j || !graph(r.Class) || r.Client != th.Client || r.Time.Before(th.Done) || !r.Time.Before(end) {
				continue
			}
			killed := false
			for _, kt := range kills {
				if kt.After(th.Done) && kt.Before(r.Time) {
					killed = true
				}
			}
			if !killed {
				out = append(out, r)
			}
		}
	}
	return out
}

// resends describes the messages instance k's receiver kept more than once
// (arrival times of every attempt) and the agent's log lines about failed
// deliveries.
func (e *Env) resends(k int) string {
	var b strings.Builder
	attempts := map[string][]Delivery{}
	var order []string
	for _, d := range e.Recvs[k].Log() {
		if len(attempts[d.MessageID]) == 0 {
			order = append(order, d.MessageID)
		}
		attempts[d.MessageID] = append(attempts[d.MessageID], d)
	}
	for _, id := range order {
		kept := 0
		for _, d := range attempts[id] {
			if d.Kept {
				kept++
			}
		}
		if kept < 2 {
			continue
		}
		fmt.Fprintf(&b, "  message %s:", id)
		for _, d := range attempts[id] {
			fmt.Fprintf(&b, " %s (status %d, kept %v)", d.At.Format("15:04:05.000"), d.Status, d.Kept)
		}
		b.WriteByte('\n')
	}
	logText, _ := os.ReadFile(e.Agent.logPath)
	for _, l := range strings.Split(string(logText), "\n") {
		if strings.Contains(l, "deliver") || strings.Contains(l, "callback") {
			fmt.Fprintf(&b, "  agent: %s\n", l)
		}
	}
	return b.String()
}
