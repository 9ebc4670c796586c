package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeController records what the admin API asked of it.
type fakeController struct {
	mu    sync.Mutex
	calls []string
	known map[string]bool
}

func (f *fakeController) record(call, name string, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %v", call, name, ids))
	if !f.known[name] {
		return fmt.Errorf("%w %q", ErrUnknownInstance, name)
	}
	return nil
}

func (f *fakeController) Status(context.Context) (Status, error) {
	return Status{Version: "test", Instances: []InstanceStatus{{Name: "finance", State: StateIdle}}}, nil
}

func (f *fakeController) Poll(_ context.Context, name string) (PollResult, error) {
	return PollResult{Instance: name, Items: 3, Events: 2, Pages: 1}, f.record("poll", name, nil)
}

func (f *fakeController) Resync(_ context.Context, name string) (PollResult, error) {
	return PollResult{Instance: name, Resynced: true}, f.record("resync", name, nil)
}

func (f *fakeController) Dead(_ context.Context, name string) ([]DeadLetter, error) {
	return nil, f.record("dead", name, nil)
}

func (f *fakeController) Replay(_ context.Context, name string, ids []string) (int, error) {
	return len(ids), f.record("replay", name, ids)
}

func (f *fakeController) Purge(_ context.Context, name string, ids []string) (int, error) {
	return len(ids), f.record("purge", name, ids)
}

func (f *fakeController) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

const testToken = "0123456789abcdef"

func newFakeAdmin(t *testing.T) (*httptest.Server, *fakeController) {
	t.Helper()
	fc := &fakeController{known: map[string]bool{"finance": true}}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "# metrics") })
	srv := httptest.NewServer(AdminHandler(fc, metrics, testToken, nil))
	t.Cleanup(srv.Close)
	return srv, fc
}

func doReq(t *testing.T, method, u, auth string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAdminHandler_Auth: every route that changes state or shows message
// bodies needs the bearer token; a missing, malformed or wrong one gets 401
// and never reaches the controller.
func TestAdminHandler_Auth(t *testing.T) {
	srv, fc := newFakeAdmin(t)
	routes := []struct{ method, path string }{
		{"POST", "/v1/instances/finance/poll"},
		{"POST", "/v1/instances/finance/resync"},
		{"GET", "/v1/instances/finance/dead"},
		{"POST", "/v1/instances/finance/dead/replay"},
		{"DELETE", "/v1/instances/finance/dead"},
	}
	bad := []struct{ name, auth string }{
		{"no header", ""},
		{"wrong token", "Bearer " + testToken + "x"},
		{"token prefix", "Bearer " + testToken[:8]},
		{"empty token", "Bearer "},
		{"other scheme", "Basic " + testToken},
		{"no scheme", testToken},
		{"lower-case scheme", "bearer " + testToken},
	}
	for _, r := range routes {
		for _, b := range bad {
			t.Run(r.method+" "+r.path+"/"+b.name, func(t *testing.T) {
				code, h, body := doReq(t, r.method, srv.URL+r.path, b.auth)
				if code != http.StatusUnauthorized {
					t.Errorf("status %d, want 401; body %s", code, body)
				}
				if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", h.Get("WWW-Authenticate"))
				}
				if strings.Contains(body, testToken) {
					t.Errorf("the 401 body shows the token: %s", body)
				}
			})
		}
		t.Run(r.method+" "+r.path+"/good token", func(t *testing.T) {
			code, _, body := doReq(t, r.method, srv.URL+r.path, "Bearer "+testToken)
			if code != http.StatusOK {
				t.Errorf("status %d, want 200; body %s", code, body)
			}
		})
	}
	// Only the five requests with the good token reached the controller.
	if got := fc.Calls(); len(got) != len(routes) {
		t.Errorf("controller calls = %q, want %d (one per route with the good token)", got, len(routes))
	}
}

func TestAdminHandler_OpenRoutes(t *testing.T) {
	srv, _ := newFakeAdmin(t)
	code, _, body := doReq(t, "GET", srv.URL+"/healthz", "")
	if code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("GET /healthz: %d %q, want 200 ok", code, body)
	}
	code, _, body = doReq(t, "GET", srv.URL+"/metrics", "")
	if code != http.StatusOK || !strings.Contains(body, "# metrics") {
		t.Errorf("GET /metrics: %d %q, want the metrics handler", code, body)
	}
	code, h, body := doReq(t, "GET", srv.URL+"/v1/status", "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /v1/status: %d %s %q", code, h.Get("Content-Type"), body)
	}
	var s Status
	if err := json.Unmarshal([]byte(body), &s); err != nil || s.Version != "test" || len(s.Instances) != 1 {
		t.Errorf("GET /v1/status: %+v, %v", s, err)
	}
}

func TestAdminHandler_Routes(t *testing.T) {
	srv, fc := newFakeAdmin(t)
	auth := "Bearer " + testToken
	tests := []struct {
		method, path string
		code         int
		call         string // what the controller got; "" = not called
		body         string // a part of the answer
	}{
		{"POST", "/v1/instances/finance/poll", 200, "poll finance []", `"events": 2`},
		{"POST", "/v1/instances/finance/resync", 200, "resync finance []", `"resynced": true`},
		{"GET", "/v1/instances/finance/dead", 200, "dead finance []", `[]`},
		{"POST", "/v1/instances/finance/dead/replay?id=a&id=b", 200, "replay finance [a b]", `"replayed": 2`},
		{"DELETE", "/v1/instances/finance/dead?id=c", 200, "purge finance [c]", `"purged": 1`},
		{"DELETE", "/v1/instances/finance/dead", 200, "purge finance []", `"purged": 0`},
		// An unknown instance is 404 with a JSON error naming it.
		{"POST", "/v1/instances/nope/poll", 404, "poll nope []", `unknown instance \"nope\"`},
		{"GET", "/v1/instances/nope/dead", 404, "dead nope []", `"error"`},
		{"DELETE", "/v1/instances/nope/dead", 404, "purge nope []", `"error"`},
		// Wrong methods and routes.
		{"GET", "/v1/instances/finance/poll", 405, "", ""},
		{"POST", "/healthz", 405, "", ""},
		{"GET", "/v1/nothing", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			before := len(fc.Calls())
			code, _, body := doReq(t, tt.method, srv.URL+tt.path, auth)
			if code != tt.code {
				t.Errorf("status %d, want %d; body %s", code, tt.code, body)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body %s does not contain %s", body, tt.body)
			}
			calls := fc.Calls()[before:]
			switch {
			case tt.call == "" && len(calls) > 0:
				t.Errorf("controller called: %q", calls)
			case tt.call != "" && (len(calls) != 1 || calls[0] != tt.call):
				t.Errorf("controller calls %q, want [%s]", calls, tt.call)
			}
		})
	}
}

func TestEnsureAdminToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	tok, err := EnsureAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < 32 {
		t.Errorf("token %d characters, want at least 32", len(tok))
	}
	fi, err := os.Stat(filepath.Join(dir, AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("data_dir created with mode %v (%v), want 0700", di.Mode().Perm(), err)
	}
	for i := range 3 {
		again, err := EnsureAdminToken(dir)
		if err != nil || again != tok {
			t.Fatalf("call %d: token %q, %v; want the first one %q", i+2, again, err, tok)
		}
	}
	read, err := ReadAdminToken(dir)
	if err != nil || read != tok {
		t.Errorf("ReadAdminToken = %q, %v; want %q", read, err, tok)
	}
	if _, err := os.Stat(filepath.Join(dir, AdminTokenFile+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary token file left behind: %v", err)
	}
	// Two data dirs get different tokens.
	other, err := EnsureAdminToken(t.TempDir())
	if err != nil || other == tok {
		t.Errorf("second data_dir token %q, %v; want a different one", other, err)
	}
}

func TestEnsureAdminToken_EmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, AdminTokenFile)
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := EnsureAdminToken(dir)
	if err != nil || tok == "" {
		t.Fatalf("EnsureAdminToken over an empty file = %q, %v; want a new token", tok, err)
	}
	if read, _ := ReadAdminToken(dir); read != tok {
		t.Errorf("file holds %q, want %q", read, tok)
	}
}

func TestReadAdminToken_Missing(t *testing.T) {
	_, err := ReadAdminToken(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "admin token") {
		t.Errorf("ReadAdminToken of an empty dir: %v, want an error naming the admin token", err)
	}
}

// TestAdminClient_Errors: the client maps 404 to ErrUnknownInstance and
// other failures to the server's message; Ping fails fast on a dead port.
func TestAdminClient_Errors(t *testing.T) {
	srv, _ := newFakeAdmin(t)
	ctx := context.Background()
	c := &AdminClient{BaseURL: srv.URL, Token: testToken}
	if err := c.Ping(ctx, 5e9); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if _, err := c.Poll(ctx, "nope"); err == nil || !isUnknown(err) {
		t.Errorf("Poll(nope) = %v, want ErrUnknownInstance", err)
	}
	bad := &AdminClient{BaseURL: srv.URL, Token: "wrong"}
	if _, err := bad.Poll(ctx, "finance"); err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Errorf("Poll with a wrong token = %v, want the 401 message", err)
	}
	if n, err := c.Replay(ctx, "finance", []string{"x", "y"}); err != nil || n != 2 {
		t.Errorf("Replay = %d, %v; want 2 (ids passed through)", n, err)
	}
	dead := &AdminClient{BaseURL: "http://" + closedAddr(t)}
	if err := dead.Ping(ctx, 5e9); !errors.Is(err, ErrNoAgent) {
		t.Errorf("Ping of a closed port = %v, want ErrNoAgent", err)
	}
}

func isUnknown(err error) bool { return errors.Is(err, ErrUnknownInstance) }

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(srv.URL)
	srv.Close()
	return u.Host
}
