package connector

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// These tests run the connector against the shared fake Graph and identity server.

func gtAuth(s *graphtest.Server, flow string) AuthConfig {
	a := AuthConfig{Flow: flow, ClientID: graphtest.DefaultClientID, LoginURL: s.LoginURL(), GraphURL: s.GraphURL()}
	if flow == FlowClientCredentials {
		a.Tenant = "contoso.onmicrosoft.com"
		a.ClientSecret = "app-secret"
	}
	return a
}

func gtClient(t *testing.T, s *graphtest.Server, auth AuthConfig, store TokenStore, th *Throttle) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Auth: auth, Store: store, HTTPClient: s.Client(), Throttle: th, Version: "test",
		RetryInitial: 5 * time.Millisecond, RetryMaxElapsed: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// round follows a delta round from link to its deltaLink and returns the items by id (last
// occurrence wins) and the deltaLink.
func round(t *testing.T, c *Client, link string) (map[string]Item, string) {
	t.Helper()
	items := map[string]Item{}
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if seen[link] || pages > 10000 {
			t.Fatalf("%v: %s", ErrLinkLoop, link)
		}
		seen[link] = true
		p, err := c.Page(context.Background(), link)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, it := range p.Items {
			items[it.ID] = it
		}
		if p.DeltaLink != "" {
			return items, p.DeltaLink
		}
		link = p.NextLink
	}
}

func liveIDs(s *graphtest.Server) []string {
	var ids []string
	for id := range s.Tree() {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func itemIDs(items map[string]Item, deleted bool) []string {
	var ids []string
	for id, it := range items {
		if it.Deleted == deleted {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestLoginDevice_Graphtest(t *testing.T) {
	tests := []struct {
		name    string
		user    func(s *graphtest.Server, code string, poll int) // acts on the user's side before poll n
		wantErr error
	}{
		{"approved", func(s *graphtest.Server, code string, poll int) {
			if poll == 3 {
				_ = s.ApproveDevice(code)
			}
		}, nil},
		{"declined", func(s *graphtest.Server, code string, poll int) {
			if poll == 2 {
				_ = s.DeclineDevice(code)
			}
		}, ErrDeviceCodeDeclined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := graphtest.NewServer(graphtest.Options{DeviceCodeInterval: time.Second})
			defer s.Close()
			var code string
			var sleeps []time.Duration
			opts := LoginOptions{
				HTTPClient:     s.Client(),
				ShowDeviceCode: func(dc DeviceCode) { code = dc.UserCode },
				sleep: func(ctx context.Context, d time.Duration) error {
					sleeps = append(sleeps, d)
					tt.user(s, code, len(sleeps))
					return nil
				},
			}
			tok, err := LoginDevice(context.Background(), gtAuth(s, FlowDevice), opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Instant polls: the server said slow_down and the interval grew by 5 s each time.
			if len(sleeps) != 3 || sleeps[0] != time.Second || sleeps[2] != sleeps[1]+5*time.Second {
				t.Errorf("sleeps = %v", sleeps)
			}
			store := &memStore{tok: &tok}
			c := gtClient(t, s, gtAuth(s, FlowDevice), store, nil)
			id, err := c.ResolveDrive(context.Background(), "me")
			if err != nil || !SameDrive(id, s.DriveID()) {
				t.Fatalf("ResolveDrive = %q, %v; want %q", id, err, s.DriveID())
			}
		})
	}
}

func TestLoginDevice_GraphtestExpired(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s := graphtest.NewServer(graphtest.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	defer s.Close()
	opts := LoginOptions{
		HTTPClient:     s.Client(),
		ShowDeviceCode: func(DeviceCode) {},
		sleep: func(ctx context.Context, d time.Duration) error {
			clock.Add(int64(20 * time.Minute)) // the user never shows up
			return nil
		},
	}
	_, err := LoginDevice(context.Background(), gtAuth(s, FlowDevice), opts)
	if !errors.Is(err, ErrDeviceCodeExpired) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoginBrowser_Graphtest(t *testing.T) {
	for _, deny := range []bool{false, true} {
		s := graphtest.NewServer(graphtest.Options{AuthorizeHook: func(q url.Values) error {
			if deny {
				return errors.New("AADSTS65004: User declined to consent to access the app.")
			}
			return nil
		}})
		cfg := gtAuth(s, FlowBrowser)
		cfg.RedirectURL = "http://127.0.0.1/cb"
		opts := LoginOptions{
			HTTPClient: s.Client(),
			Timeout:    5 * time.Second,
			OpenBrowser: func(u string) error {
				go func() { // the browser: follows the redirect back to the loopback listener
					resp, err := http.Get(u)
					if err == nil {
						resp.Body.Close()
					}
				}()
				return nil
			},
		}
		tok, err := LoginBrowser(context.Background(), cfg, opts)
		if deny {
			var te *TokenError
			if !errors.As(err, &te) || te.Code != "access_denied" || te.AADSTS != "AADSTS65004" {
				t.Errorf("denied: err = %v", err)
			}
		} else {
			if err != nil {
				t.Fatal(err)
			}
			c := gtClient(t, s, cfg, &memStore{tok: &tok}, nil)
			if _, err := c.ResolveDrive(context.Background(), "me"); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
	}
}

func TestExchangeCode_Graphtest(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{})
	defer s.Close()
	cfg := gtAuth(s, FlowCode)
	cfg.RedirectURL = "https://example.com/oc-callback"
	code := s.IssueAuthCode(cfg.ClientID, cfg.RedirectURL, "Files.Read offline_access", "", "")
	tok, err := ExchangeCode(context.Background(), cfg, code, LoginOptions{HTTPClient: s.Client()})
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("token = %+v, err = %v", tok.Expiry, err)
	}
	// Redeeming it twice fails with the identity platform's invalid_grant.
	_, err = ExchangeCode(context.Background(), cfg, code, LoginOptions{HTTPClient: s.Client()})
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Fatalf("err = %v", err)
	}
}

func TestClient_GraphtestClientCredentials(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{})
	defer s.Close()
	s.AddClient(graphtest.DefaultClientID, "app-secret", false)
	s.Populate(50, 1)
	cfg := gtAuth(s, FlowClientCredentials)
	if _, err := ClientCredentials(context.Background(), cfg, LoginOptions{HTTPClient: s.Client()}); err != nil {
		t.Fatal(err)
	}
	c := gtClient(t, s, cfg, nil, nil)
	id, err := c.ResolveDrive(context.Background(), "user:alice@contoso.com")
	if err != nil || !SameDrive(id, s.DriveID()) {
		t.Fatalf("id = %q, err = %v", id, err)
	}
	if _, err := c.ResolveDrive(context.Background(), "me"); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("me: err = %v", err)
	}
	items, _ := round(t, c, c.DeltaURL(id))
	if got, want := itemIDs(items, false), liveIDs(s); len(got) != len(want) {
		t.Errorf("round has %d items, drive %d", len(got), len(want))
	}
	bad := cfg
	bad.ClientSecret = "wrong"
	if _, err := ClientCredentials(context.Background(), bad, LoginOptions{HTTPClient: s.Client()}); err == nil {
		t.Error("wrong secret accepted")
	}
}

func TestClient_GraphtestRotationAcrossRestart(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{SingleUseRefreshTokens: true, PageSize: 7})
	defer s.Close()
	s.Populate(40, 2)
	store := &memStore{tok: &Token{RefreshToken: s.IssueRefreshToken(graphtest.DefaultClientID)}}
	auth := gtAuth(s, FlowDevice)
	c := gtClient(t, s, auth, store, nil)
	items, deltaLink := round(t, c, c.DeltaURL(s.DriveID()))
	if len(items) != len(liveIDs(s)) {
		t.Fatalf("round: %d items, drive has %d", len(items), len(liveIDs(s)))
	}
	for restart := 0; restart < 3; restart++ {
		s.ExpireAccessTokens()
		s.Modify(s.CreateFile(s.Root(), "f"+string(rune('a'+restart)), nil), []byte("x"))
		c = gtClient(t, s, auth, store, nil) // a new process with the saved token
		changed, next := round(t, c, deltaLink)
		if len(changed) == 0 {
			t.Fatal("no changes after restart")
		}
		deltaLink = next
	}
	if n := s.Count(graphtest.ClassToken, http.StatusBadRequest); n != 0 {
		t.Errorf("%d refreshes were refused (a stale refresh token was reused)", n)
	}
	if len(store.saves) != 4 {
		t.Errorf("saves = %d, want one per refresh (4)", len(store.saves))
	}
}

func TestClient_GraphtestNeedsLogin(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{})
	defer s.Close()
	store := &memStore{tok: &Token{RefreshToken: s.IssueRefreshToken(graphtest.DefaultClientID)}}
	s.RevokeRefreshTokens()
	c := gtClient(t, s, gtAuth(s, FlowDevice), store, nil)
	_, err := c.Page(context.Background(), c.DeltaURL(s.DriveID()))
	if !errors.Is(err, ErrNeedsLogin) || !containsAADSTS(err) {
		t.Fatalf("err = %v", err)
	}
}

func containsAADSTS(err error) bool {
	var te *TokenError
	return errors.As(err, &te) && te.AADSTS != ""
}

func TestClient_GraphtestBadDay(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{
		PageSize: 9, Order: graphtest.ChildFirst, DuplicateEvery: 5, EmptyPageEvery: 2,
		LinkStyle: graphtest.FunctionLinks, DeletePageSize: 7, Personal: true,
	})
	defer s.Close()
	s.Populate(120, 3)
	store := &memStore{tok: &Token{RefreshToken: s.IssueRefreshToken(graphtest.DefaultClientID)}}
	th := NewThrottle(ThrottleOptions{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond})
	c := gtClient(t, s, gtAuth(s, FlowDevice), store, th)
	// Transient failures of every kind on the way: each is retried inside Page.
	s.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: 500})
	s.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Hangup: true})
	s.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Truncate: true})
	s.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: 503, EmptyBody: true})
	s.InjectFault(graphtest.ClassGraph, 1, graphtest.Fault{Status: 504, NextLinkOnly: true})
	items, deltaLink := round(t, c, c.DeltaURL(s.DriveID()))
	if got, want := itemIDs(items, false), liveIDs(s); len(got) != len(want) {
		t.Fatalf("round: %d items, drive has %d", len(got), len(want))
	}
	for id, e := range s.Tree() {
		it := items[id]
		if it.Name != e.Name || it.ParentID != e.ParentID || it.Folder != e.Folder || it.Root != e.Root || it.Hash != e.QuickXorHash {
			t.Fatalf("item %s = %+v, drive has %+v", id, it, e)
		}
	}
	// Deletions come back in small pages, with the deleted facet.
	var gone []string
	for id, e := range s.Tree() {
		if !e.Folder && len(gone) < 15 {
			s.Delete(id)
			gone = append(gone, id)
		}
	}
	changed, _ := round(t, c, deltaLink)
	if got := itemIDs(changed, true); len(got) != len(gone) {
		t.Errorf("deleted = %d, want %d", len(got), len(gone))
	}
}

func TestClient_GraphtestResync(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{PageSize: 5})
	defer s.Close()
	s.Populate(12, 4)
	store := &memStore{tok: &Token{RefreshToken: s.IssueRefreshToken(graphtest.DefaultClientID)}}
	c := gtClient(t, s, gtAuth(s, FlowDevice), store, nil)
	_, deltaLink := round(t, c, c.DeltaURL(s.DriveID()))
	s.ExpireTokens()
	_, err := c.Page(context.Background(), deltaLink)
	var re *ResyncError
	if !errors.As(err, &re) || !errors.Is(err, ErrResyncRequired) || re.Location == "" || re.Status != 410 {
		t.Fatalf("err = %v", err)
	}
	items, _ := round(t, c, re.Location)
	if len(items) != len(liveIDs(s)) {
		t.Errorf("fresh enumeration from Location: %d items, drive has %d", len(items), len(liveIDs(s)))
	}
	// The loop fault: a nextLink equal to the requested URL is reported to the caller as is.
	s.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Loop: true})
	link := c.DeltaURL(s.DriveID())
	p, err := c.Page(context.Background(), link)
	if err != nil || p.NextLink != link {
		t.Errorf("loop page = %q, %v", p.NextLink, err)
	}
}

func TestClient_GraphtestThrottleShared(t *testing.T) {
	t.Parallel()
	s := graphtest.NewServer(graphtest.Options{})
	defer s.Close()
	s.Populate(30, 5)
	th := NewThrottle(ThrottleOptions{})
	auth := gtAuth(s, FlowDevice)
	// Two instances of one account, five polls each. The first delta request gets a 429 with
	// Retry-After: 1; the second instance starts once that answer is out, and neither may
	// send a request before the second has passed.
	s.InjectFault(graphtest.ClassDelta, 1, graphtest.Fault{Status: 429, RetryAfter: time.Second})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for k := 0; k < 2; k++ {
		store := &memStore{tok: &Token{RefreshToken: s.IssueRefreshToken(graphtest.DefaultClientID)}}
		c := gtClient(t, s, auth, store, th)
		if k == 1 {
			for s.Count(graphtest.ClassDelta, http.StatusTooManyRequests) == 0 {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // the 429 reaches the first instance
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			link := c.DeltaURL(s.DriveID())
			for poll := 0; poll < 5; poll++ {
				p, err := c.Page(context.Background(), link)
				if err != nil {
					errs <- err
					return
				}
				if p.DeltaLink == "" {
					errs <- errors.New("round longer than one page")
					return
				}
				link = p.DeltaLink
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := s.Count(graphtest.ClassDelta, http.StatusTooManyRequests); n != 1 {
		t.Fatalf("429s = %d", n)
	}
	if n := s.Count(graphtest.ClassDelta, http.StatusOK); n != 10 {
		t.Errorf("delta requests answered = %d, want 10", n)
	}
	if v := s.RetryAfterViolations(); len(v) != 0 {
		t.Errorf("requests inside the Retry-After window: %+v", v)
	}
}
