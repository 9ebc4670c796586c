package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestGraphMisbehaving is scenario 4: Microsoft on its bad days. Every
// subtest ends with the full proof (Verify): nothing lost, no flood, no
// request inside a Retry-After window.
func TestGraphMisbehaving(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"throttling", testThrottling}, // first: mostly waiting, it overlaps the others
		{"orderings", testOrderings},
		{"410", test410},
		{"expired access tokens", testExpiredAccessTokens},
		{"rotating refresh token", testRefreshRotation},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

// testOrderings runs churn against delta feeds in hostile shapes; every
// poll's events must still equal the drive's changes.
func testOrderings(t *testing.T) {
	variants := []struct {
		name string
		opts graphtest.Options
	}{
		{"child-first, duplicates, empty pages", graphtest.Options{Order: graphtest.ChildFirst, DuplicateEvery: 3, EmptyPageEvery: 1}},
		{"shuffled, deletions 7 per page, function links, parent paths", graphtest.Options{Order: graphtest.Shuffled, Seed: 5,
			DeletePageSize: 7, LinkStyle: graphtest.FunctionLinks, ParentPath: true, CTagInDelta: true, DeletedDescendants: true}},
		{"personal drive, shuffled, no ancestors, duplicates", graphtest.Options{Personal: true, Order: graphtest.Shuffled, Seed: 6,
			ExcludeAncestors: true, DuplicateEvery: 2, EmptyPageEvery: 2}},
	}
	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			e := NewEnv(t, Setup{Graph: v.opts, Populate: 250, Seed: int64(10 + i)})
			e.StartBaselined()
			r := runChurn(t, e, NewMutator(e.Graph, uint64(100+i)), P.OrderPolls, 0, 40)
			e.WaitDrained(time.Minute)
			r.compare(t, e.Verify(0).Events)
			e.CheckQuiet()
		})
	}
}

// stepper drives a scripted test: each step makes changes, runs an optional
// fault, and polls; the events of every poll must equal the changes.
type stepper struct {
	t    *testing.T
	e    *Env
	m    *Mutator
	prev map[string]graphtest.Entry
	run  churnRun
}

func newStepper(t *testing.T, e *Env, seed uint64) *stepper {
	return &stepper{t: t, e: e, m: NewMutator(e.Graph, seed), prev: e.Base}
}

// step makes changes, runs fault (may be nil), polls and checks the count.
func (s *stepper) step(changes int, fault func()) PollResult {
	s.t.Helper()
	s.m.Batch(changes, s.prev)
	cur := s.e.Graph.Tree()
	want := Expected(s.prev, cur)
	if fault != nil {
		fault()
	}
	res := s.e.PollOK(s.e.Names[0])
	if res.Events != len(want) {
		s.t.Errorf("poll: %d events, the drive's changes give %d (no loss, no flood)", res.Events, len(want))
	}
	s.run.counts = append(s.run.counts, res.Events)
	s.run.wants = append(s.run.wants, want)
	s.prev = cur
	return res
}

// finish drains, verifies, and compares every poll's events.
func (s *stepper) finish() {
	s.t.Helper()
	s.e.WaitDrained(time.Minute)
	s.run.compare(s.t, s.e.Verify(0).Events)
	s.e.CheckQuiet()
}

// test410: an expired cursor (410 at the start of a round) followed by a
// second 410 in the middle of the resync's enumeration, then a 410 in the
// middle of an incremental round, then an operator's resync: each time only
// the real differences are reported.
func test410(t *testing.T) {
	e := NewEnv(t, Setup{Graph: graphtest.Options{EmptyPageEvery: 1}, Populate: 1200, Seed: 4})
	e.StartBaselined()
	s := newStepper(t, e, 44)
	gone := graphtest.Fault{Status: http.StatusGone, NextLinkOnly: true}
	reps := 1
	if P.Long {
		reps = 5
	}
	for r := 0; r < reps; r++ {
		if res := s.step(60, func() {
			e.Graph.ExpireTokens()
			e.Graph.InjectFault(graphtest.ClassDelta, 1, gone)
		}); !res.Resynced {
			t.Errorf("poll after ExpireTokens: resynced = false")
		}
		// 700 new items in one change: the incremental round spans pages,
		// and the 410 answers the request for its second page.
		e.Graph.Populate(700, int64(40+r))
		if res := s.step(60, func() { e.Graph.InjectFault(graphtest.ClassDelta, 1, gone) }); !res.Resynced {
			t.Errorf("poll with a 410 mid-round: resynced = false")
		}
		s.step(0, func() {
			r := RunCLI(t, "resync", "-c", e.CfgPath, e.Names[0])
			if r.Code != 0 || !strings.Contains(r.Stdout, " 0 events queued") {
				t.Errorf("resync of an indexed drive: exit %d, stdout %q, stderr %q; want 0 events", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
	s.step(30, nil)
	if n := e.Graph.Count(graphtest.ClassDelta, http.StatusGone); n < 3 {
		t.Errorf("Graph answered 410 %d times, want at least 3", n)
	}
	st, err := e.Agent.Status()
	if err != nil || st.Instances[0].Resyncs < 3 {
		t.Errorf("status after three resyncs: %+v, %v", st, err)
	}
	s.finish()
}

// testThrottling: 429 and 503 with Retry-After (the agent must wait every
// second of it), without it (it must back off by itself), with an empty
// body, and on the token endpoint.
func testThrottling(t *testing.T) {
	e := NewEnv(t, Setup{Populate: 150, Seed: 5})
	e.StartBaselined()
	s := newStepper(t, e, 55)
	inject := func(n int, f graphtest.Fault) func() {
		return func() { e.Graph.InjectFault(graphtest.ClassGraph, n, f) }
	}
	s.step(20, inject(2, graphtest.Fault{Status: 429, RetryAfter: time.Second}))
	s.step(20, inject(1, graphtest.Fault{Status: 503, RetryAfter: 2 * time.Second}))
	s.step(20, inject(1, graphtest.Fault{Status: 503, RetryAfter: time.Second, EmptyBody: true}))
	for i := 0; i < P.ThrottleNoRA; i++ {
		status := []int{503, 429}[i%2]
		start := len(e.Graph.Requests())
		s.step(20, inject(1, graphtest.Fault{Status: status}))
		checkBackoff(t, e.Graph.Requests()[start:], 2*time.Second)
	}
	s.step(20, func() {
		e.Graph.ExpireAccessTokens()
		e.Graph.InjectFault(graphtest.ClassToken, 1, graphtest.Fault{Status: 503, RetryAfter: time.Second})
	})
	if P.Long {
		// A storm: a budget of 12 resource units a minute for 20 polls.
		e.Graph.Configure(func(o *graphtest.Options) { o.RUPerMinute = 12 })
		for i := 0; i < 20; i++ {
			s.step(10, nil)
		}
		e.Graph.Configure(func(o *graphtest.Options) { o.RUPerMinute = 0 })
	}
	if n := e.Graph.Count(graphtest.ClassGraph, 429) + e.Graph.Count(graphtest.ClassGraph, 503); n < 4+P.ThrottleNoRA {
		t.Errorf("only %d throttled answers were given", n)
	}
	s.finish()
}

// checkBackoff checks that after a throttled answer without Retry-After
// the next Graph request waited at least min.
func checkBackoff(t *testing.T, log []graphtest.Request, min time.Duration) {
	t.Helper()
	for i, r := range log {
		if (r.Status != 429 && r.Status != 503) || r.RetryAfter > 0 || r.Class == graphtest.ClassToken {
			continue
		}
		for _, n := range log[i+1:] {
			if graphtest.ClassGraph == n.Class || n.Class == graphtest.ClassDelta || n.Class == graphtest.ClassDrive {
				if gap := n.Time.Sub(r.Done); gap < min {
					t.Errorf("after a %d without Retry-After the next Graph request came %v later, want a backoff of at least %v", r.Status, gap, min)
				}
				return
			}
		}
	}
	t.Errorf("no throttled answer without Retry-After in the log")
}

// testExpiredAccessTokens: every access token expires between polls; each
// poll refreshes once (client credentials) and goes on.
func testExpiredAccessTokens(t *testing.T) {
	e := NewEnv(t, Setup{Populate: 100, Seed: 6})
	e.StartBaselined()
	s := newStepper(t, e, 66)
	tokens := e.Graph.Count(graphtest.ClassToken, 200)
	for i := 0; i < 3; i++ {
		s.step(15, e.Graph.ExpireAccessTokens)
	}
	if got := e.Graph.Count(graphtest.ClassGraph, 401); got != 3 {
		t.Errorf("Graph answered 401 %d times for 3 expiries, want 3 (one per expiry)", got)
	}
	if got := e.Graph.Count(graphtest.ClassToken, 200) - tokens; got != 3 {
		t.Errorf("%d new tokens for 3 expiries, want 3", got)
	}
	s.finish()
}

// testRefreshRotation: a delegated sign-in (`login --code` with a code from
// the fake's /authorize), refresh tokens valid once only. Each round expires
// the access token, so the agent redeems its refresh token and gets a new
// one, then polls, and is killed with SIGKILL right after: it must have
// saved the new refresh token before using it, or the next start cannot
// sign in.
func testRefreshRotation(t *testing.T) {
	const redirect = "http://localhost:53682/"
	e := NewEnv(t, Setup{Graph: graphtest.Options{SingleUseRefreshTokens: true}, Populate: 100, Seed: 7,
		Instance: InstanceConfig{Flow: "code", Tenant: "common", RedirectURL: redirect, Drive: "me"}})
	code := authorizeCode(t, e.Graph, clientID, redirect)
	if r := RunCLI(t, "login", "-c", e.CfgPath, e.Names[0], "--code", code); r.Code != 0 {
		t.Fatalf("login --code: exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
	}
	e.StartBaselined()
	s := newStepper(t, e, 77)
	for i := 0; i < P.RotationRounds; i++ {
		s.step(15, e.Graph.ExpireAccessTokens)
		if i%3 == 2 {
			if code := e.Agent.Stop(); code != 0 {
				t.Errorf("exit status %d after SIGTERM", code)
			}
		} else {
			e.Agent.Kill()
		}
		e.Agent.Start()
	}
	s.step(15, nil)
	if n := e.Graph.Count(graphtest.ClassToken, 400); n != 0 {
		t.Errorf("the token endpoint refused %d requests (a refresh token used twice?)", n)
	}
	st, _ := e.Agent.Status()
	if len(st.Instances) == 1 && st.Instances[0].State == "needs_login" {
		t.Errorf("the instance needs a new sign-in after %d rotations", P.RotationRounds)
	}
	s.finish()
}

// authorizeCode signs in at the fake's /authorize as a browser would and
// returns the authorization code from the redirect.
func authorizeCode(t *testing.T, g *graphtest.Server, client, redirect string) string {
	t.Helper()
	q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"Files.Read offline_access"}, "state": {"e2e"}}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(g.LoginURL() + "/common/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}
