package graphtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServer_Gone(t *testing.T) {
	s := NewServer(Options{PageSize: 2})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	_, link, _ := deltaRound(t, s.DeltaURL()+"?$select=id,name,parentReference", tok)

	s.ExpireTokens()
	resp, b := get(t, link, tok)
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("expired token: status %d: %s", resp.StatusCode, b)
	}
	if e := decodeGraphErr(t, b); e.Error.Code != "resyncRequired" {
		t.Errorf("410 code = %q", e.Error.Code)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, s.URL) || strings.Contains(loc, "token=") {
		t.Fatalf("Location %q is not a fresh enumeration", loc)
	}
	items, link, _ := deltaRound(t, loc, tok)
	if len(items) != len(s.Tree()) {
		t.Errorf("Location enumeration: %d items, drive has %d", len(items), len(s.Tree()))
	}

	// Mid-round 410 on a nextLink only; the round start passes.
	s.Modify(m["a1"], []byte("x"))
	s.Modify(m["b1"], []byte("x"))
	s.InjectFault(ClassDelta, 1, Fault{Status: http.StatusGone, NextLinkOnly: true})
	p := fetchPage(t, link, tok)
	if p.Next == "" {
		t.Fatal("round start should pass and have a nextLink")
	}
	if resp, _ := get(t, p.Next, tok); resp.StatusCode != http.StatusGone || resp.Header.Get("Location") == "" {
		t.Errorf("mid-round fault: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Token age in versions.
	s.Configure(func(o *Options) { o.TokenMaxVersions = 1 })
	_, link, _ = deltaRound(t, s.DeltaURL(), tok)
	s.Touch(m["a1"])
	s.Touch(m["a1"])
	if resp, _ := get(t, link, tok); resp.StatusCode != http.StatusGone {
		t.Errorf("token 2 versions old with TokenMaxVersions=1: status %d", resp.StatusCode)
	}
}

func TestServer_TokenMaxAge(t *testing.T) {
	clk := newClock()
	s := NewServer(Options{Now: clk.Now, TokenMaxAge: time.Hour, AccessTokenLifetime: 10 * time.Hour})
	defer s.Close()
	tok := s.IssueToken()
	_, link, _ := deltaRound(t, s.DeltaURL(), tok)
	clk.Advance(59 * time.Minute)
	_, link, _ = deltaRound(t, link, tok)
	clk.Advance(61 * time.Minute)
	if resp, _ := get(t, link, tok); resp.StatusCode != http.StatusGone {
		t.Errorf("token older than TokenMaxAge: status %d", resp.StatusCode)
	}
}

func TestServer_Throttling(t *testing.T) {
	clk := newClock()
	s := NewServer(Options{Now: clk.Now})
	defer s.Close()
	tok := s.IssueToken()

	s.FailNextWith(http.StatusTooManyRequests, 3*time.Second, "")
	resp, b := get(t, s.DeltaURL(), tok)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("429: status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e := decodeGraphErr(t, b)
	if e.Error.Code != "activityLimitReached" || e.Error.InnerError["code"] != "throttledRequest" ||
		e.Error.InnerError["request-id"] == "" || resp.Header.Get("request-id") == "" {
		t.Errorf("429 body/headers: %s %v", b, resp.Header)
	}
	clk.Advance(time.Second)
	get(t, s.DeltaURL(), tok) // too early
	clk.Advance(2 * time.Second)
	get(t, s.DeltaURL(), tok) // on time
	if v := s.RetryAfterViolations(); len(v) != 1 {
		t.Errorf("violations = %+v, want the one early request", v)
	}

	s.InjectFault(ClassGraph, 1, Fault{Status: 503, EmptyBody: true})
	s.InjectFault(ClassDelta, 1, Fault{Status: 429})
	s.InjectFault(ClassDrive, 1, Fault{Status: 504})
	if resp, b := get(t, s.DeltaURL(), tok); resp.StatusCode != 503 || len(b) != 0 {
		t.Errorf("empty 503: %d %q", resp.StatusCode, b)
	}
	if resp, _ := get(t, s.DeltaURL(), tok); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
		t.Errorf("429 without Retry-After: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := get(t, s.GraphURL()+"/me/drive", tok); resp.StatusCode != 504 {
		t.Errorf("504 on drive: %d", resp.StatusCode)
	}
	if n := s.Count(ClassGraph, 429); n != 2 {
		t.Errorf("Count(graph, 429) = %d, want 2", n)
	}
}

func TestServer_LoopFault(t *testing.T) {
	s := NewServer(Options{PageSize: 2})
	defer s.Close()
	smallTree(s)
	tok := s.IssueToken()
	first := fetchPage(t, s.DeltaURL(), tok)
	s.InjectFault(ClassDelta, 2, Fault{Loop: true, NextLinkOnly: true})
	for k := 0; k < 2; k++ {
		p := fetchPage(t, first.Next, tok)
		if p.Next != first.Next {
			t.Fatalf("loop fault %d: nextLink %q, want the requested %q", k, p.Next, first.Next)
		}
	}
	if p := fetchPage(t, first.Next, tok); p.Next == first.Next {
		t.Error("loop fault outlived its count")
	}
}

func TestServer_ResourceUnits(t *testing.T) {
	clk := newClock()
	s := NewServer(Options{Now: clk.Now, RUPerMinute: 5})
	defer s.Close()
	tok := s.IssueToken()
	_, link, _ := deltaRound(t, s.DeltaURL(), tok) // 2 RU
	for k := 0; k < 3; k++ {
		fetchPage(t, link, tok) // 1 RU each: 5 in all
	}
	resp, _ := get(t, link, tok)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Limit") != "5" {
		t.Fatalf("over budget: %d %v", resp.StatusCode, resp.Header)
	}
	clk.Advance(61 * time.Second)
	fetchPage(t, link, tok)
}

func TestServer_AccessTokens(t *testing.T) {
	clk := newClock()
	s := NewServer(Options{Now: clk.Now, AccessTokenLifetime: time.Minute})
	defer s.Close()
	for name, tok := range map[string]string{"missing": "", "unknown": "garbage"} {
		resp, b := get(t, s.DeltaURL(), tok)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s token: %d %v", name, resp.StatusCode, resp.Header)
		}
		if e := decodeGraphErr(t, b); e.Error.Code != "InvalidAuthenticationToken" {
			t.Errorf("%s token: code %q", name, e.Error.Code)
		}
	}
	tok := s.IssueToken()
	fetchPage(t, s.DeltaURL(), tok)
	clk.Advance(time.Minute)
	if resp, _ := get(t, s.DeltaURL(), tok); resp.StatusCode != 401 {
		t.Errorf("token past its lifetime: %d", resp.StatusCode)
	}
	tok = s.IssueToken()
	s.ExpireAccessTokens()
	if resp, _ := get(t, s.DeltaURL(), tok); resp.StatusCode != 401 {
		t.Errorf("after ExpireAccessTokens: %d", resp.StatusCode)
	}
	fetchPage(t, s.DeltaURL(), s.IssueToken())
}

func TestServer_TransportFaults(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	smallTree(s)
	tok := s.IssueToken()
	do := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, s.DeltaURL(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp, err
	}
	s.InjectFault(ClassDelta, 1, Fault{Hangup: true})
	if _, err := do(); err == nil {
		t.Error("Hangup: request succeeded")
	}
	s.InjectFault(ClassDelta, 1, Fault{Truncate: true})
	if _, err := do(); err == nil {
		t.Error("Truncate: body read completely")
	}
	s.InjectFault(ClassDelta, 1, Fault{Delay: 50 * time.Millisecond})
	start := time.Now()
	if resp, err := do(); err != nil || resp.StatusCode != 200 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("Delay: %v after %v", err, time.Since(start))
	}
	if resp, err := do(); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the faults: %v", err)
	}
	reqs := s.Requests()
	if len(reqs) != 4 || reqs[0].Status != 0 {
		t.Errorf("log: %+v", reqs)
	}
}
