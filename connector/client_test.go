package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestClient returns a Client on the fake with a stored token and fast retries.
func newTestClient(t *testing.T, f *fakeMS, store *memStore, mod func(*ClientOptions)) *Client {
	t.Helper()
	opts := ClientOptions{
		Auth:            f.auth(FlowDevice),
		Store:           store,
		Version:         "9.9.9",
		RetryInitial:    5 * time.Millisecond,
		RetryMaxElapsed: 200 * time.Millisecond,
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func servePage(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;charset=utf-8")
		fmt.Fprint(w, body)
	}
}

func TestClient_PageRefreshesAndPersistsRotatedToken(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	store := &memStore{tok: &Token{RefreshToken: seed.RefreshToken, AccessToken: "stale", Expiry: time.Now().Add(-time.Minute)}}
	// Every Graph request must carry the token most recently saved: saved before used.
	var mu sync.Mutex
	var unsavedUse []string
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if cur := store.current(); cur.AccessToken != bearer {
			mu.Lock()
			unsavedUse = append(unsavedUse, bearer)
			mu.Unlock()
		}
		servePage(deltaPage("a", "b"))(w, r)
	}
	c := newTestClient(t, f, store, nil)
	p, err := c.Page(context.Background(), c.DeltaURL("d1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 {
		t.Fatalf("items = %d", len(p.Items))
	}
	if len(store.saves) != 1 || store.saves[0].RefreshToken == seed.RefreshToken || store.saves[0].RefreshToken == "" {
		t.Fatalf("saves = %+v, want one save with a rotated refresh token", store.saves)
	}
	// A second page uses the cached token: no new refresh.
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); err != nil {
		t.Fatal(err)
	}
	if len(store.saves) != 1 {
		t.Errorf("saves = %d after a cached use", len(store.saves))
	}

	// "Restart": a new Client reads the saved token. Access tokens expire on the server, so
	// the new Client must refresh with the rotated refresh token, never the old one.
	f.expireAccess()
	c2 := newTestClient(t, f, store, nil)
	if _, err := c2.Page(context.Background(), c2.DeltaURL("d1")); err != nil {
		t.Fatal(err)
	}
	if len(store.saves) != 2 || store.saves[1].RefreshToken == store.saves[0].RefreshToken {
		t.Fatalf("saves = %+v, want a second rotation", store.saves)
	}
	if len(f.reused) != 0 {
		t.Errorf("redeemed refresh tokens were presented again: %v", f.reused)
	}
	if len(unsavedUse) != 0 {
		t.Errorf("Graph saw tokens not yet saved: %v", unsavedUse)
	}
	if f.used[0] != seed.RefreshToken || f.used[1] != store.saves[0].RefreshToken {
		t.Errorf("refresh tokens used = %v", f.used)
	}
}

func TestClient_PageSaveFailureKeepsRotatedToken(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	store := &memStore{tok: &Token{RefreshToken: seed.RefreshToken}, failErr: errors.New("disk full")}
	f.graph = servePage(deltaPage("a"))
	c := newTestClient(t, f, store, nil)
	_, err := c.Page(context.Background(), c.DeltaURL("d1"))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.graphRequests()); n != 0 {
		t.Fatalf("Graph got %d requests with an unsaved token", n)
	}
	// The store recovers: the token refreshed before is saved and used, without a second
	// refresh (the single-use refresh token was already redeemed).
	store.mu.Lock()
	store.failErr = nil
	store.mu.Unlock()
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); err != nil {
		t.Fatal(err)
	}
	if len(f.used) != 1 || len(store.saves) != 1 {
		t.Errorf("refreshes = %v, saves = %d", f.used, len(store.saves))
	}
}

func TestClient_PageNeedsLogin(t *testing.T) {
	t.Run("invalid_grant", func(t *testing.T) {
		f := newFakeMS(t)
		f.tokenError = func(form url.Values) (int, string) {
			return 400, `{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: x","error_codes":[700082]}`
		}
		store := &memStore{tok: &Token{RefreshToken: "old-refresh-token-value"}}
		c := newTestClient(t, f, store, nil)
		_, err := c.Page(context.Background(), c.DeltaURL("d1"))
		if !errors.Is(err, ErrNeedsLogin) || !strings.Contains(err.Error(), "AADSTS700082") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "old-refresh-token-value") {
			t.Errorf("error leaks the refresh token: %v", err)
		}
		if len(f.grants) != 1 {
			t.Errorf("token requests = %d, want 1 (invalid_grant is final)", len(f.grants))
		}
	})
	t.Run("no token", func(t *testing.T) {
		f := newFakeMS(t)
		c := newTestClient(t, f, &memStore{}, nil)
		if _, err := c.Page(context.Background(), c.DeltaURL("d1")); !errors.Is(err, ErrNeedsLogin) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no store", func(t *testing.T) {
		f := newFakeMS(t)
		if _, err := NewClient(ClientOptions{Auth: f.auth(FlowDevice)}); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClient_PageUnauthorizedRefreshesOnce(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	store := &memStore{tok: &seed} // looks valid for an hour
	f.graph = servePage(deltaPage("a"))
	f.expireAccess() // but Graph no longer accepts it
	c := newTestClient(t, f, store, nil)
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); err != nil {
		t.Fatal(err)
	}
	reqs := f.graphRequests()
	if len(reqs) != 2 || reqs[0].Bearer != seed.AccessToken || reqs[1].Bearer == seed.AccessToken {
		t.Fatalf("requests = %+v", reqs)
	}
	if len(f.used) != 1 {
		t.Errorf("refreshes = %d, want 1", len(f.used))
	}

	// Graph keeps answering 401: one refresh, one retry, then the 401 comes back.
	f.mu.Lock()
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": "Access token validation failure."}})
	}
	f.mu.Unlock()
	_, err := c.Page(context.Background(), c.DeltaURL("d1"))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 401 || he.Code != "InvalidAuthenticationToken" {
		t.Fatalf("err = %v", err)
	}
	if len(f.used) != 2 || len(f.graphRequests()) != 4 {
		t.Errorf("refreshes = %d, requests = %d; want 2 and 4", len(f.used), len(f.graphRequests()))
	}
}

func TestClient_PageGone(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	loc := f.srv.URL + "/v1.0/drives/b!x/root/delta?token=fresh"
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", loc)
		writeJSON(w, 410, map[string]any{"error": map[string]any{"code": "resyncRequired", "message": "Resync required.",
			"innerError": map[string]any{"code": "resyncChangesApplyDifferences"}}})
	}
	c := newTestClient(t, f, &memStore{tok: &seed}, nil)
	p, err := c.Page(context.Background(), c.DeltaURL("d1"))
	var re *ResyncError
	if !errors.Is(err, ErrResyncRequired) || !errors.As(err, &re) || re.Location != loc || re.Code != "resyncRequired" || p.Items != nil {
		t.Fatalf("err = %v, page = %+v", err, p)
	}
	if n := len(f.graphRequests()); n != 1 {
		t.Errorf("requests = %d, a 410 is not retried", n)
	}
	// A resync code under another status is a resync too.
	f.mu.Lock()
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "syncStateNotFound", "message": "x"}})
	}
	f.mu.Unlock()
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); !errors.Is(err, ErrResyncRequired) {
		t.Fatalf("err = %v", err)
	}
}

func TestClient_PageTransientFailures(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	var mu sync.Mutex
	script := []int{500, 502, 504, 0 /* connection dropped */, 200}
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := script[0]
		if len(script) > 1 {
			script = script[1:]
		}
		mu.Unlock()
		switch st {
		case 200:
			servePage(deltaPage("a"))(w, r)
		case 0:
			// A response cut off in the middle of the body.
			hj, _ := w.(http.Hijacker)
			conn, buf, _ := hj.Hijack()
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"value\":[")
			_ = buf.Flush()
			conn.Close()
		default:
			writeJSON(w, st, map[string]any{"error": map[string]any{"code": "generalException", "message": "boom"}})
		}
	}
	var infos []RequestInfo
	var imu sync.Mutex
	c := newTestClient(t, f, &memStore{tok: &seed}, func(o *ClientOptions) {
		o.RetryMaxElapsed = 5 * time.Second
		o.Observe = func(ri RequestInfo) { imu.Lock(); infos = append(infos, ri); imu.Unlock() }
	})
	p, err := c.Page(context.Background(), c.DeltaURL("d1"))
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("page = %+v, err = %v", p, err)
	}
	if len(infos) != 5 || infos[0].Status != 500 || infos[3].Err == nil || infos[4].Status != 200 {
		t.Errorf("observed = %+v", infos)
	}

	// Failing for good: the last error comes back after the retry budget.
	mu.Lock()
	script = []int{503 + 1} // 504 forever
	mu.Unlock()
	c2 := newTestClient(t, f, &memStore{tok: &seed}, func(o *ClientOptions) { o.RetryMaxElapsed = 100 * time.Millisecond })
	start := time.Now()
	_, err = c2.Page(context.Background(), c2.DeltaURL("d1"))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 504 {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("gave up after %v, budget 100ms", el)
	}
}

func TestClient_PageHTTPError(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "req-42")
		writeJSON(w, 403, map[string]any{"error": map[string]any{"code": "accessDenied", "message": "Access denied\n" + strings.Repeat("x", 5000),
			"innererror": map[string]any{"code": "inner1"}}})
	}
	c := newTestClient(t, f, &memStore{tok: &seed}, nil)
	_, err := c.Page(context.Background(), c.DeltaURL("d1"))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 403 || he.Code != "accessDenied" || he.RequestID != "req-42" ||
		len(he.InnerCodes) != 1 || he.InnerCodes[0] != "inner1" {
		t.Fatalf("err = %v (%+v)", err, he)
	}
	if len(he.Message) > 400 || strings.Contains(he.Message, "\n") {
		t.Errorf("message not cleaned: %q", he.Message)
	}
	if n := len(f.graphRequests()); n != 1 {
		t.Errorf("requests = %d, a 403 is not retried", n)
	}
}

func TestClient_PageBadPage(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	f.graph = servePage(`{"value":[{"id":"a"}]}`)
	c := newTestClient(t, f, &memStore{tok: &seed}, nil)
	p, err := c.Page(context.Background(), c.DeltaURL("d1"))
	if err == nil || !errors.Is(err, errNoLink) || p.Items != nil {
		t.Fatalf("page = %+v, err = %v", p, err)
	}
	if _, err := c.Page(context.Background(), "not a url"); err == nil {
		t.Fatal("bad link accepted")
	}
}

func TestClient_ClientCredentialsReacquires(t *testing.T) {
	f := newFakeMS(t)
	f.graph = servePage(deltaPage("a"))
	c := newTestClient(t, f, nil, func(o *ClientOptions) { o.Auth = f.auth(FlowClientCredentials); o.Store = nil })
	if _, err := c.Page(context.Background(), c.DeltaURL("d")); err != nil {
		t.Fatal(err)
	}
	f.expireAccess()
	if _, err := c.Page(context.Background(), c.DeltaURL("d")); err != nil {
		t.Fatal(err)
	}
	grants := f.tokenGrants()
	if len(grants) != 2 || grants[0].Get("grant_type") != "client_credentials" || grants[1].Get("grant_type") != "client_credentials" {
		t.Errorf("grants = %v", grants)
	}
}

func TestClient_PageUnauthorizedRefreshFailsOnce(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	f.graph = servePage(deltaPage("a"))
	f.expireAccess()
	calls := 0
	f.tokenError = func(url.Values) (int, string) {
		calls++
		if calls == 1 {
			return 503, `{"error":"temporarily_unavailable","error_description":"AADSTS50020: try later"}`
		}
		return 0, ""
	}
	c := newTestClient(t, f, &memStore{tok: &seed}, nil)
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); err != nil {
		t.Fatalf("a transient refresh failure was not retried: %v", err)
	}
	if calls != 2 {
		t.Errorf("token requests = %d, want 2", calls)
	}
}

func TestClient_ReloadToken(t *testing.T) {
	f := newFakeMS(t)
	f.graph = servePage(deltaPage("a"))
	store := &memStore{} // not signed in yet
	c := newTestClient(t, f, store, nil)
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); !errors.Is(err, ErrNeedsLogin) {
		t.Fatalf("err = %v", err)
	}
	// `onedrive-agent login` saves a new sign-in while the agent runs.
	tok := f.seed()
	if err := store.SaveToken(tok); err != nil {
		t.Fatal(err)
	}
	c.ReloadToken()
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); err != nil {
		t.Fatal(err)
	}
	reqs := f.graphRequests()
	if reqs[len(reqs)-1].Bearer != tok.AccessToken {
		t.Errorf("used %q, want the reloaded token", reqs[len(reqs)-1].Bearer)
	}
}
