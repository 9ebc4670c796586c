package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// loginTOML is a device-code instance against drive, with the admin API on
// admin ("" = off).
func loginTOML(t *testing.T, drive *graphtest.Server, admin string) string {
	return writeConfig(t, fmt.Sprintf(`data_dir = %q
[admin]
listen = %q
[[instance]]
name = "docs"
[instance.auth]
flow = "device"
client_id = "login-test"
login_url = %q
graph_url = %q
[instance.callback]
url = "http://127.0.0.1:1/unused"
`, t.TempDir(), admin, drive.LoginURL(), drive.GraphURL()))
}

func mainOut(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = Main(ctx, args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// TestLogin_DeviceCode signs in with the device code flow, then polls in
// separate command runs while the single-use refresh token rotates: each
// run must find the token the previous one saved.
func TestLogin_DeviceCode(t *testing.T) {
	drive := graphtest.NewServer(graphtest.Options{AutoApproveDevice: true, DeviceCodeInterval: -1, SingleUseRefreshTokens: true})
	defer drive.Close()
	drive.AddClient("login-test", "", true)
	drive.CreateFile(drive.Root(), "a.txt", []byte("a"))
	cfg := loginTOML(t, drive, "")
	ctx := context.Background()

	if _, _, err := mainOut(ctx, "poll", "-c", cfg, "docs"); err == nil || !strings.Contains(err.Error(), "login") {
		t.Fatalf("poll before login: err = %v, want one that says to log in", err)
	}
	out, errOut, err := mainOut(ctx, "login", "-c", cfg, "docs")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "docs: signed in") || !strings.Contains(errOut, "/devicelogin") {
		t.Fatalf("login printed %q / %q", out, errOut)
	}
	for i := 0; i < 3; i++ {
		drive.ExpireAccessTokens() // forces a refresh, which rotates the refresh token
		if out, _, err := mainOut(ctx, "poll", "-c", cfg, "docs"); err != nil {
			t.Fatalf("poll %d after login: %v", i, err)
		} else if !strings.Contains(out, "docs:") {
			t.Fatalf("poll %d printed %q", i, out)
		}
	}
	if n := drive.Count(graphtest.ClassToken, 400); n != 0 {
		t.Fatalf("%d token requests were refused: a rotated refresh token was lost", n)
	}
}

// TestLogin_RunningAgent hands a new sign-in (login --code) to a running
// agent through the admin API after its refresh token was revoked.
func TestLogin_RunningAgent(t *testing.T) {
	drive := graphtest.NewServer(graphtest.Options{AutoApproveDevice: true, DeviceCodeInterval: -1})
	defer drive.Close()
	drive.AddClient("login-test", "", true)
	cfg := loginTOML(t, drive, freeAddr(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An authorization code obtained elsewhere (Open Connectors'
	// providerData.code) signs in without waiting for a device poll.
	code := func() string {
		return drive.IssueAuthCode("login-test", "http://localhost:53682/", "offline_access Files.Read", "", "")
	}
	if _, errOut, err := mainOut(ctx, "login", "-c", cfg, "docs", "--code", code()); err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"run", "-c", cfg}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	waitStatus(t, ctx, cfg, `"state": "idle"`)

	drive.RevokeRefreshTokens()
	drive.ExpireAccessTokens()
	if _, _, err := mainOut(ctx, "poll", "-c", cfg, "docs"); err == nil {
		t.Fatal("poll with a revoked refresh token succeeded")
	}
	waitStatus(t, ctx, cfg, `"state": "needs_login"`)
	if _, errOut, err := mainOut(ctx, "login", "-c", cfg, "docs", "--code", code()); err != nil {
		t.Fatalf("login while the agent runs: %v\n%s", err, errOut)
	}
	if out, _, err := mainOut(ctx, "poll", "-c", cfg, "docs"); err != nil {
		t.Fatalf("poll after the new login: %v (%s)", err, out)
	}
	waitStatus(t, ctx, cfg, `"state": "idle"`)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// waitStatus waits until `status --json` (through the running agent)
// contains want.
func waitStatus(t *testing.T, ctx context.Context, cfg, want string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, _, _ = mainOut(ctx, "status", "--json", "-c", cfg)
		if strings.Contains(out, want) && strings.Contains(out, `"running": true`) {
			return
		}
	}
	t.Fatalf("status never showed %s:\n%s", want, out)
}

// TestCheckOnline_DelegatedRefreshKeepsToken: check --online refreshes a
// delegated sign-in whose access token expired; Microsoft rotates the
// single-use refresh token, and the check saves the new one (or, while the
// agent runs, lets the agent refresh), so polls go on working.
func TestCheckOnline_DelegatedRefreshKeepsToken(t *testing.T) {
	drive := graphtest.NewServer(graphtest.Options{AutoApproveDevice: true, DeviceCodeInterval: -1, SingleUseRefreshTokens: true})
	defer drive.Close()
	drive.AddClient("login-test", "", true)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer recv.Close()
	cfg := loginTOML(t, drive, freeAddr(t))
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "http://127.0.0.1:1/unused", recv.URL, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, errOut, err := mainOut(ctx, "login", "-c", cfg, "docs"); err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	check := func(when string) {
		t.Helper()
		drive.ExpireAccessTokens() // the check must refresh
		out, errOut, err := mainOut(ctx, "check", "--online", "-c", cfg)
		if err != nil || !strings.Contains(out, "stored sign-in accepted") {
			t.Fatalf("check --online %s: %v\n%s%s", when, err, out, errOut)
		}
	}
	check("with no agent running")
	drive.ExpireAccessTokens()
	if _, _, err := mainOut(ctx, "poll", "-c", cfg, "docs"); err != nil {
		t.Fatalf("poll after the check: %v (the check lost the rotated refresh token)", err)
	}

	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"run", "-c", cfg}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	waitStatus(t, ctx, cfg, `"state": "idle"`)
	check("through the running agent")
	drive.ExpireAccessTokens()
	if _, _, err := mainOut(ctx, "poll", "-c", cfg, "docs"); err != nil {
		t.Fatalf("poll through the agent after the check: %v", err)
	}
	if n := drive.Count(graphtest.ClassToken, 400); n != 0 {
		t.Errorf("%d token requests were refused: a rotated refresh token was lost", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
