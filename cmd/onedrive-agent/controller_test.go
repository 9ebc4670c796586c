package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
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

// TestController_AgentStarting: a command that finds the database locked
// while the agent's admin API is not up yet (the agent is starting) asks
// the admin API again instead of failing.
func TestController_AgentStarting(t *testing.T) {
	t.Parallel()
	cfgPath, dataDir, addr, _ := lockedSetup(t, true)
	if _, err := agent.EnsureAdminToken(dataDir); err != nil {
		t.Fatal(err)
	}
	fake := agent.Status{Version: "starting-agent", Running: true, PID: 4242}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			fmt.Fprintln(w, "ok")
		case "/v1/status":
			_ = json.NewEncoder(w).Encode(fake)
		default:
			http.NotFound(w, r)
		}
	})}
	go func() {
		time.Sleep(300 * time.Millisecond) // after the command's first ping
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() { srv.Shutdown(context.Background()) })

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

// TestController_Locked: with the database held and no admin API answering,
// commands fail within 5 s (exit 1) naming the database, the holder's pid
// and what to do.
func TestController_Locked(t *testing.T) {
	t.Parallel()
	for _, listen := range []bool{true, false} {
		t.Run(fmt.Sprintf("admin listen %v", listen), func(t *testing.T) {
			t.Parallel()
			cfgPath, _, addr, db := lockedSetup(t, listen)
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
				hint = "admin API at " + addr + " does not answer"
			}
			if !strings.Contains(errOut, hint) {
				t.Errorf("stderr:\n%s\nwant %q", errOut, hint)
			}
		})
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
