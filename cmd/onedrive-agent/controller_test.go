package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// lockedSetup writes a config whose admin API is on a free loopback port,
// and holds its database open (locked) for the test.
func lockedSetup(t *testing.T, listen bool) (cfgPath, dataDir, addr string, db *store.DB) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	if listen {
		addr = freeAddr(t)
	}
	content, _ := replaceLine(t, "listen", fmt.Sprintf("listen = %q", addr))
	content, _ = replaceLineIn(t, content, "data_dir", fmt.Sprintf("data_dir = %q", dataDir))
	cfgPath = filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(cfgPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dataDir, dbFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return cfgPath, dataDir, addr, db
}

func replaceLineIn(t *testing.T, content, prefix, with string) (string, int) {
	t.Helper()
	lines := strings.Split(content, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = with
			return strings.Join(lines, "\n"), i + 1
		}
	}
	t.Fatalf("no line starting with %q", prefix)
	return "", 0
}

// fakeAgent is a Controller that answers Status with a fixed status.
type fakeAgent struct {
	agent.Controller
	status agent.Status
}

func (f fakeAgent) Status(context.Context) (agent.Status, error) { return f.status, nil }

func (f fakeAgent) Dead(context.Context, string) ([]agent.DeadLetter, error) { return nil, nil }

// serveAgent serves the real admin API (with fake's answers and the admin
// token of dataDir) on ln until the test ends.
func serveAgent(t *testing.T, ln net.Listener, dataDir string, fake agent.Status) {
	t.Helper()
	tok, err := agent.EnsureAdminToken(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: agent.AdminHandler(fakeAgent{status: fake}, nil, tok, nil)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

// TestController_AgentStarting: a command that finds the database locked
// while the agent's admin API is not up yet (the agent is starting, its
// lock file names no address) waits for the address instead of failing.
func TestController_AgentStarting(t *testing.T) {
	t.Parallel()
	cfgPath, dataDir, addr, db := lockedSetup(t, true)
	fake := agent.Status{Version: "starting-agent", Running: true, PID: 4242}
	go func() {
		time.Sleep(300 * time.Millisecond) // after the command's first look at the lock
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		serveAgent(t, ln, dataDir, fake)
		if err := db.SetLockNote(agent.LockNote(ln.Addr().String())); err != nil {
			t.Error(err)
		}
	}()

	start := time.Now()
	code, out, errOut := runMain(t, "status", "-c", cfgPath, "--json")
	if code != exitOK {
		t.Fatalf("status: exit %d after %v, stderr:\n%s", code, time.Since(start), errOut)
	}
	if !strings.Contains(out, `"starting-agent"`) {
		t.Errorf("status did not come from the admin API:\n%s", out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("status took %v, want < 5s", took)
	}
}

// TestController_Locked: with the database held by a process that names
// no admin API, commands fail within 5 s (exit 1) naming the database, the
// holder's pid and what to do.
func TestController_Locked(t *testing.T) {
	t.Parallel()
	for _, listen := range []bool{true, false} {
		t.Run(fmt.Sprintf("admin listen %v", listen), func(t *testing.T) {
			t.Parallel()
			cfgPath, _, _, db := lockedSetup(t, listen)
			start := time.Now()
			code, _, errOut := runMain(t, "status", "-c", cfgPath)
			took := time.Since(start)
			if code != exitFailure || took > 5*time.Second {
				t.Errorf("status: exit %d after %v, want 1 within 5s", code, took)
			}
			want := fmt.Sprintf("database %s is in use by another onedrive-agent (pid %d)", db.Path(), os.Getpid())
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr:\n%s\nwant %q", errOut, want)
			}
			hint := "set [admin].listen"
			if listen {
				hint = "names no admin API"
			}
			if !strings.Contains(errOut, hint) {
				t.Errorf("stderr:\n%s\nwant %q", errOut, hint)
			}
		})
	}
}

// impostor is a local program holding a port: it records every byte sent
// to it and either answers like an agent that does not know the token, or
// relays the connection to the real agent at relayTo.
type impostor struct {
	ln      net.Listener
	relayTo string
	mu      sync.Mutex
	got     bytes.Buffer
	conns   int
}

func startImpostor(t *testing.T, addr, relayTo string) *impostor {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	im := &impostor{ln: ln, relayTo: relayTo}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			im.mu.Lock()
			im.conns++
			im.mu.Unlock()
			go im.serve(c)
		}
	}()
	return im
}

func (im *impostor) Write(p []byte) (int, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.got.Write(p)
}

func (im *impostor) serve(c net.Conn) {
	defer c.Close()
	if im.relayTo != "" {
		up, err := net.Dial("tcp", im.relayTo)
		if err != nil {
			return
		}
		defer up.Close()
		go func() { _, _ = io.Copy(c, up) }()
		_, _ = io.Copy(io.MultiWriter(up, im), c)
		return
	}
	br := bufio.NewReader(io.TeeReader(c, im))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		body := `{"proof":"` + strings.Repeat("00", 32) + `"}`
		if req.URL.Path == "/healthz" {
			body = "ok"
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
}

func (im *impostor) seen() (string, int) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.got.String(), im.conns
}

// TestController_ImpostorNeverGetsToken: a local user holding the admin
// port never receives the admin token: not while the agent is down (the
// command opens the database and does not contact the port at all), not
// when the lock file names its address (it cannot answer the challenge),
// and not when it relays the challenge to the real agent (the proof is
// bound to the connection the real agent sees).
func TestController_ImpostorNeverGetsToken(t *testing.T) {
	t.Parallel()
	t.Run("agent down", func(t *testing.T) {
		t.Parallel()
		cfgPath, dataDir, addr, db := lockedSetup(t, true)
		db.Close()
		tok, err := agent.EnsureAdminToken(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		im := startImpostor(t, addr, "")
		for _, args := range [][]string{{"status"}, {"dead", "list"}, {"dead", "purge"}} {
			code, _, errOut := runMain(t, append(args, "-c", cfgPath)...)
			if code != exitOK {
				t.Errorf("%v: exit %d: %s", args, code, errOut)
			}
		}
		if got, conns := im.seen(); conns != 0 || strings.Contains(got, tok) {
			t.Errorf("the impostor on %s got %d connections (token sent: %v)", addr, conns, strings.Contains(got, tok))
		}
	})
	t.Run("lock names the impostor", func(t *testing.T) {
		t.Parallel()
		cfgPath, dataDir, addr, db := lockedSetup(t, true)
		tok, err := agent.EnsureAdminToken(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		im := startImpostor(t, addr, "")
		if err := db.SetLockNote(agent.LockNote(addr)); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runMain(t, "dead", "purge", "-c", cfgPath)
		if code != exitFailure || !strings.Contains(errOut, "not the agent that holds the database") {
			t.Errorf("dead purge: exit %d, stderr:\n%s\nwant exit 1 naming the impostor", code, errOut)
		}
		got, conns := im.seen()
		if conns == 0 {
			t.Fatal("the impostor was never asked: the test proves nothing")
		}
		if strings.Contains(got, tok) {
			t.Errorf("the impostor received the admin token:\n%s", got)
		}
	})
	t.Run("impostor relays to the agent", func(t *testing.T) {
		t.Parallel()
		cfgPath, dataDir, addr, db := lockedSetup(t, true)
		real, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serveAgent(t, real, dataDir, agent.Status{Version: "real-agent"})
		tok, _ := agent.ReadAdminToken(dataDir)
		im := startImpostor(t, addr, real.Addr().String())
		if err := db.SetLockNote(agent.LockNote(addr)); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runMain(t, "dead", "purge", "-c", cfgPath)
		if code != exitFailure || !strings.Contains(errOut, "not the agent that holds the database") {
			t.Errorf("dead purge: exit %d, stderr:\n%s", code, errOut)
		}
		got, conns := im.seen()
		if conns == 0 || !strings.Contains(got, "/v1/challenge") {
			t.Fatalf("the relay saw no challenge (%d connections): the test proves nothing", conns)
		}
		if strings.Contains(got, tok) {
			t.Errorf("the relaying impostor received the admin token:\n%s", got)
		}
	})
}

func TestSamePort(t *testing.T) {
	tests := []struct {
		listen, addr string
		want         bool
	}{
		{"127.0.0.1:8720", "127.0.0.1:8720", true},
		{"localhost:8720", "127.0.0.1:8720", true},
		{":8720", "[::]:8720", true},
		{"127.0.0.1:0", "127.0.0.1:41234", true},
		{"127.0.0.1:8721", "127.0.0.1:8720", false},
		{"", "127.0.0.1:8720", false},
		{"127.0.0.1:8720", "garbage", false},
	}
	for _, tt := range tests {
		if got := samePort(tt.listen, tt.addr); got != tt.want {
			t.Errorf("samePort(%q, %q) = %v, want %v", tt.listen, tt.addr, got, tt.want)
		}
	}
}

func TestAdminBaseURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"127.0.0.1:8720", "http://127.0.0.1:8720"},
		{"localhost:8720", "http://localhost:8720"},
		{"[::1]:8720", "http://[::1]:8720"},
		{"10.1.2.3:8720", "http://10.1.2.3:8720"},
		{":8720", "http://127.0.0.1:8720"},
		{"0.0.0.0:8720", "http://127.0.0.1:8720"},
		{"[::]:8720", "http://[::1]:8720"},
		{"admin.example:9000", "http://admin.example:9000"},
	}
	for _, tt := range tests {
		if got := adminBaseURL(tt.listen); got != tt.want {
			t.Errorf("adminBaseURL(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}
