package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestServer_ClientCredentials(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	s.AddClient("app", "s3cret", false)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"},
		"client_secret": {"s3cret"}, "scope": {"https://graph.microsoft.com/.default"}}
	status, m := postForm(t, s, "contoso.onmicrosoft.com", "token", form)
	if status != 200 || m["access_token"] == nil || m["token_type"] != "Bearer" || m["expires_in"] == nil {
		t.Fatalf("client_credentials: %d %v", status, m)
	}
	if m["refresh_token"] != nil {
		t.Errorf("client_credentials returned a refresh token: %v", m)
	}
	tok := m["access_token"].(string)
	if resp, _ := get(t, s.GraphURL()+"/me/drive", tok); resp.StatusCode != 400 {
		t.Errorf("/me with an app-only token: %d", resp.StatusCode)
	}
	fetchPage(t, s.DeltaURL(), tok)

	cases := []struct {
		name, tenant, secret, scope, wantErr string
		wantCode                             int
	}{
		{"wrong secret", "contoso.onmicrosoft.com", "nope", ".default", "invalid_client", 7000215},
		{"no secret", "contoso.onmicrosoft.com", "", "https://graph.microsoft.com/.default", "invalid_client", 7000218},
		{"common tenant", "common", "s3cret", "https://graph.microsoft.com/.default", "invalid_request", 50059},
		{"bad scope", "contoso.onmicrosoft.com", "s3cret", "Files.Read", "invalid_scope", 1002012},
	}
	for _, c := range cases {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "scope": {c.scope}}
		if c.secret != "" {
			f.Set("client_secret", c.secret)
		}
		status, m := postForm(t, s, c.tenant, "token", f)
		codes, _ := m["error_codes"].([]any)
		if status < 400 || m["error"] != c.wantErr || len(codes) != 1 || codes[0] != float64(c.wantCode) ||
			m["trace_id"] == nil || m["correlation_id"] == nil || m["timestamp"] == nil {
			t.Errorf("%s: %d %v", c.name, status, m)
		}
	}
}

// authorizeCode runs the browser flow and returns the code from the redirect.
func authorizeCode(t *testing.T, s *Server, q url.Values) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.LoginURL() + "/common/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.HasPrefix(loc.String(), q.Get("redirect_uri")) {
		t.Fatalf("redirected to %s, not the redirect_uri", loc)
	}
	return loc.Query()
}

func TestServer_AuthorizationCodePKCE(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	s.AddClient("native", "", true)
	verifier := "a-long-random-verifier-of-at-least-43-characters-xyz"
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://localhost:53682/"
	for _, method := range []string{"S256", "plain"} {
		challenge := verifier
		if method == "S256" {
			challenge = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		q := url.Values{"client_id": {"native"}, "response_type": {"code"}, "redirect_uri": {redirect},
			"scope": {"Files.Read offline_access"}, "state": {"st-" + method},
			"code_challenge": {challenge}, "code_challenge_method": {method}}
		back := authorizeCode(t, s, q)
		if back.Get("state") != "st-"+method || back.Get("code") == "" {
			t.Fatalf("%s: redirect query %v", method, back)
		}
		redeem := url.Values{"grant_type": {"authorization_code"}, "client_id": {"native"},
			"code": {back.Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"wrong-" + verifier}}
		status, m := postForm(t, s, "common", "token", redeem)
		if status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("%s: PKCE mismatch accepted: %d %v", method, status, m)
		}
		// The failed attempt did not burn the code.
		redeem.Set("code_verifier", verifier)
		status, m = postForm(t, s, "common", "token", redeem)
		if status != 200 || m["refresh_token"] == nil || m["scope"] != "Files.Read" {
			t.Fatalf("%s: redeem: %d %v", method, status, m)
		}
		status, m = postForm(t, s, "common", "token", redeem)
		if status != 400 || m["error"] != "invalid_grant" {
			t.Errorf("%s: code redeemed twice: %d %v", method, status, m)
		}
	}

	// A public client must not present a secret.
	code := s.IssueAuthCode("native", "", "Files.Read", "", "")
	status, m := postForm(t, s, "common", "token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {"native"}, "client_secret": {"x"}, "code": {code}})
	if status != 401 || m["error"] != "invalid_client" {
		t.Errorf("public client with secret: %d %v", status, m)
	}
	// Without offline_access there is no refresh token.
	status, m = postForm(t, s, "common", "token", url.Values{"grant_type": {"authorization_code"},
		"client_id": {"native"}, "code": {code}})
	if status != 200 || m["refresh_token"] != nil {
		t.Errorf("no offline_access: %d %v", status, m)
	}

	// The hook can deny.
	s.Configure(func(o *Options) { o.AuthorizeHook = func(url.Values) error { return errDenied } })
	back := authorizeCode(t, s, url.Values{"client_id": {"native"}, "response_type": {"code"},
		"redirect_uri": {redirect}, "state": {"x"}})
	if back.Get("error") != "access_denied" || back.Get("code") != "" || back.Get("state") != "x" {
		t.Errorf("denied sign-in redirect: %v", back)
	}
}

type deniedError struct{}

func (deniedError) Error() string { return "user said no" }

var errDenied = deniedError{}

func TestServer_RefreshRotation(t *testing.T) {
	for _, single := range []bool{false, true} {
		s := NewServer(Options{SingleUseRefreshTokens: single})
		rt := s.IssueRefreshToken("cli")
		f := url.Values{"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {rt}}
		status, m := postForm(t, s, "common", "token", f)
		newRT, _ := m["refresh_token"].(string)
		if status != 200 || newRT == "" || newRT == rt || m["access_token"] == nil {
			t.Fatalf("refresh: %d %v", status, m)
		}
		fetchPage(t, s.DeltaURL(), m["access_token"].(string))
		status, m = postForm(t, s, "common", "token", f)
		if single != (status == 400 && m["error"] == "invalid_grant") {
			t.Errorf("single-use=%v: reusing the old refresh token: %d %v", single, status, m)
		}
		f.Set("client_id", "other")
		f.Set("refresh_token", newRT)
		if status, m = postForm(t, s, "common", "token", f); m["error"] != "invalid_grant" {
			t.Errorf("refresh token of another client: %d %v", status, m)
		}
		s.RevokeRefreshTokens()
		f.Set("client_id", "cli")
		status, m = postForm(t, s, "common", "token", f)
		if status != 400 || m["error"] != "invalid_grant" || !strings.Contains(m["error_description"].(string), "AADSTS700082") {
			t.Errorf("revoked refresh token: %d %v", status, m)
		}
		s.Close()
	}
}

func TestServer_DeviceCode(t *testing.T) {
	clk := newClock()
	s := NewServer(Options{Now: clk.Now, DeviceCodeInterval: 2 * time.Second, DeviceCodeLifetime: time.Minute})
	defer s.Close()
	start := func() (string, string) {
		status, m := postForm(t, s, "organizations", "devicecode",
			url.Values{"client_id": {"cli"}, "scope": {"Files.Read offline_access"}})
		if status != 200 || m["interval"] != float64(2) || m["expires_in"] != float64(60) ||
			m["verification_uri"] == nil || !strings.Contains(m["message"].(string), m["user_code"].(string)) {
			t.Fatalf("devicecode: %d %v", status, m)
		}
		return m["device_code"].(string), m["user_code"].(string)
	}
	poll := func(dc string) (int, map[string]any) {
		return postForm(t, s, "organizations", "token", url.Values{"client_id": {"cli"}, "device_code": {dc},
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}})
	}
	wantErr := func(step, dc, want string) {
		t.Helper()
		if status, m := poll(dc); status != 400 || m["error"] != want {
			t.Errorf("%s: %d %v, want %s", step, status, m, want)
		}
	}
	dc, uc := start()
	wantErr("first poll", dc, "authorization_pending")
	clk.Advance(time.Second)
	wantErr("poll too fast", dc, "slow_down")
	clk.Advance(2 * time.Second)
	wantErr("poll on time", dc, "authorization_pending")
	if got := s.PendingUserCodes(); len(got) != 1 || got[0] != uc {
		t.Errorf("PendingUserCodes = %v, want [%s]", got, uc)
	}
	if err := s.ApproveDevice(uc); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second)
	if status, m := poll(dc); status != 200 || m["refresh_token"] == nil {
		t.Fatalf("approved poll: %d %v", status, m)
	}
	wantErr("redeemed twice", dc, "invalid_grant")
	wantErr("unknown code", "nope", "bad_verification_code")

	dc, uc = start()
	if err := s.DeclineDevice(uc); err != nil {
		t.Fatal(err)
	}
	wantErr("declined", dc, "authorization_declined")

	dc, _ = start()
	clk.Advance(61 * time.Second)
	wantErr("expired", dc, "expired_token")

	// Approval over HTTP, as an end-to-end script would do it.
	dc, uc = start()
	if resp, _ := get(t, s.URL+"/devicelogin?otc="+uc, ""); resp.StatusCode != 200 {
		t.Fatalf("devicelogin: %d", resp.StatusCode)
	}
	if status, m := poll(dc); status != 200 {
		t.Errorf("poll after /devicelogin: %d %v", status, m)
	}
	if s.Count(ClassToken, 400) == 0 || s.Count(ClassDeviceCode, 200) != 4 {
		t.Errorf("identity counters: token 400 = %d, devicecode 200 = %d", s.Count(ClassToken, 400), s.Count(ClassDeviceCode, 200))
	}
}

func TestServer_IdentityFaults(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	s.InjectFault(ClassToken, 1, Fault{Status: 503, RetryAfter: time.Second})
	rt := s.IssueRefreshToken("cli")
	f := url.Values{"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {rt}}
	if status, m := postForm(t, s, "common", "token", f); status != 503 || m["error"] != "temporarily_unavailable" {
		t.Errorf("injected token fault: %d %v", status, m)
	}
	if status, _ := postForm(t, s, "common", "token", f); status != 200 {
		t.Errorf("after the fault: %d", status)
	}
	if status, m := postForm(t, s, "not a tenant", "token", f); status != 400 || m["error"] != "invalid_request" {
		t.Errorf("bad tenant: %d %v", status, m)
	}
}
