package agent

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAgent_AdminTrust runs the agent with its own admin listener: it names
// the listener in the database's lock file while it serves, answers the
// challenge that NewAdminClient demands, takes a rotated admin.token for
// the next request (the old one stops working), and removes the note when
// it stops.
func TestAgent_AdminTrust(t *testing.T) {
	e := newTestEnv(t)
	ln := listenLocal(t)
	addr := ln.Addr().String()
	a, err := New(Options{Config: e.cfg, DB: e.db, Version: "1.2.3", AdminListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := runAgent(t, a)
	lockFile := e.db.Path() + ".lock"
	waitFor(t, 5*time.Second, "the admin address in the lock file", func() bool {
		b, _ := os.ReadFile(lockFile)
		return strings.Contains(string(b), "\n"+LockNote(addr)+"\n")
	})

	c := NewAdminClient("http://"+addr, e.token)
	if _, err := c.Dead(ctx, "finance"); err != nil {
		t.Fatalf("Dead through the verified client: %v", err)
	}
	wrong := NewAdminClient("http://"+addr, strings.Repeat("0", 64))
	if _, err := wrong.Dead(ctx, "finance"); !errors.Is(err, ErrNotTheAgent) {
		t.Errorf("a client with another token: %v, want ErrNotTheAgent (the agent cannot prove a token it does not have)", err)
	}

	newTok, err := RotateAdminToken(e.cfg.DataDir)
	if err != nil || newTok == e.token {
		t.Fatalf("RotateAdminToken = %q, %v", newTok, err)
	}
	old := &AdminClient{BaseURL: "http://" + addr, Token: e.token}
	if _, err := old.Dead(ctx, "finance"); err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Errorf("the old token after rotation: %v, want refused", err)
	}
	if _, err := NewAdminClient("http://"+addr, newTok).Dead(ctx, "finance"); err != nil {
		t.Errorf("the new token after rotation: %v", err)
	}

	stop()
	if b, _ := os.ReadFile(lockFile); strings.Contains(string(b), "admin=") {
		t.Errorf("lock file after the admin API stopped: %q", b)
	}
}

// TestLimitListener: no more than n connections are served at once; the
// next is accepted when one closes; Close ends a waiting Accept.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(inner, 2)
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var got []net.Conn
	for range 2 {
		select {
		case c := <-accepted:
			got = append(got, c)
		case <-time.After(2 * time.Second):
			t.Fatal("the first two connections were not accepted")
		}
	}
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two are open")
	case <-time.After(100 * time.Millisecond):
	}
	got[0].Close()
	got[0].Close() // a second Close frees nothing more
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
	got[1].Close()
	l.Close()
	select {
	case _, ok := <-accepted:
		if ok {
			t.Error("accepted after Close")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}

// TestAdminServer_Limits: the admin server has its timeouts set, serves no
// more than adminMaxConns connections at once, and refuses oversized
// headers.
func TestAdminServer_Limits(t *testing.T) {
	if adminReadHeaderTimeout <= 0 || adminReadTimeout <= 0 || adminWriteTimeout <= 0 || adminIdleTimeout <= 0 ||
		adminMaxConns <= 0 || adminMaxHeaderBytes <= 0 {
		t.Fatal("an admin server limit is unset")
	}
	e := newTestEnv(t)
	ln := listenLocal(t)
	a, err := New(Options{Config: e.cfg, DB: e.db, AdminListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	_, stop := runAgent(t, a)
	defer stop()
	// More connections than the cap, each idle: the admin API still
	// answers once they are closed; a header larger than the cap is refused.
	var idle []net.Conn
	for range adminMaxConns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	probe := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := probe.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("served a connection beyond the cap")
	}
	for _, c := range idle {
		c.Close()
	}
	probe.Timeout = 5 * time.Second
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", adminMaxHeaderBytes+8192))
	if resp, err := probe.Do(req); err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %v %v, want 431", resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := probe.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after the idle connections closed: %v %v", resp, err)
	}
	resp.Body.Close()
}
