package connector

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordSleep returns a sleep func that records the requested delays and returns at once.
func recordSleep(mu *sync.Mutex, got *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*got = append(*got, d)
		mu.Unlock()
		return ctx.Err()
	}
}

func TestLoginDevice_Flow(t *testing.T) {
	tests := []struct {
		name       string
		script     []string
		wantErr    error  // sentinel
		wantText   string // substring of the error
		wantSleeps []time.Duration
	}{
		{"approved after pending", []string{"authorization_pending", "authorization_pending", ""}, nil, "",
			[]time.Duration{time.Second, time.Second, time.Second}},
		{"slow_down adds 5s", []string{"authorization_pending", "slow_down", "authorization_pending", ""}, nil, "",
			[]time.Duration{time.Second, time.Second, 6 * time.Second, 6 * time.Second}},
		{"server error while polling is retried", []string{"5xx", ""}, nil, "",
			[]time.Duration{time.Second, time.Second}},
		{"expired_token", []string{"authorization_pending", "expired_token"}, ErrDeviceCodeExpired, "expired_token", nil},
		{"authorization_declined", []string{"authorization_declined"}, ErrDeviceCodeDeclined, "authorization_declined", nil},
		{"bad_verification_code", []string{"bad_verification_code"}, ErrDeviceCodeInvalid, "bad_verification_code", nil},
		{"other error", []string{"invalid_client"}, nil, "invalid_client", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t)
			f.device = tt.script
			var (
				mu     sync.Mutex
				sleeps []time.Duration
				shown  []DeviceCode
			)
			opts := LoginOptions{
				Version:        "1.2.3",
				ShowDeviceCode: func(dc DeviceCode) { shown = append(shown, dc) },
				sleep:          recordSleep(&mu, &sleeps),
			}
			tok, err := LoginDevice(context.Background(), f.auth(FlowDevice), opts)
			if len(shown) != 1 || shown[0].UserCode != "XYZ12345" || shown[0].VerificationURI != "https://microsoft.com/devicelogin" ||
				!strings.Contains(shown[0].Message, "XYZ12345") || time.Until(shown[0].Expiry) < 14*time.Minute {
				t.Errorf("shown = %+v", shown)
			}
			if tt.wantErr == nil && tt.wantText == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
					t.Errorf("token = %+v", tok)
				}
				if len(sleeps) != len(tt.wantSleeps) {
					t.Fatalf("sleeps = %v, want %v", sleeps, tt.wantSleeps)
				}
				for i := range sleeps {
					if sleeps[i] != tt.wantSleeps[i] {
						t.Errorf("sleeps = %v, want %v", sleeps, tt.wantSleeps)
					}
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				var te *TokenError
				if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("err = %v, want a TokenError mentioning %q", err, tt.wantText)
				}
			}
			grants := f.tokenGrants()
			if got := grants[0].Get("scope"); got != "https://graph.microsoft.com/Files.Read https://graph.microsoft.com/Files.Read.All offline_access" {
				t.Errorf("devicecode scope = %q", got)
			}
			for _, g := range grants[1:] {
				if g.Get("grant_type") != deviceGrant || g.Get("device_code") != "DEV-CODE" || g.Get("client_id") != "cid" || g.Get("client_secret") != "" {
					t.Errorf("poll form = %v", g)
				}
			}
			for _, ua := range f.userAgent {
				if ua != "onedrive-agent/1.2.3" {
					t.Errorf("User-Agent = %q", ua)
				}
			}
		})
	}
}

func TestLoginDevice_ExpiresWhilePending(t *testing.T) {
	t.Parallel()
	f := newFakeMS(t)
	f.deviceExpiresIn = 1
	f.device = make([]string, 1000)
	for i := range f.device {
		f.device[i] = "authorization_pending"
	}
	opts := LoginOptions{
		ShowDeviceCode: func(DeviceCode) {},
		sleep: func(ctx context.Context, d time.Duration) error {
			return sleepCtx(ctx, 50*time.Millisecond)
		},
	}
	start := time.Now()
	_, err := LoginDevice(context.Background(), f.auth(FlowDevice), opts)
	if !errors.Is(err, ErrDeviceCodeExpired) {
		t.Fatalf("err = %v, want ErrDeviceCodeExpired", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("gave up after %v, the code lived 1s", el)
	}

	// A caller that cancels gets its own error back.
	cctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f.deviceExpiresIn = 900
	if _, err := LoginDevice(cctx, f.auth(FlowDevice), opts); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
}

func TestLoginDevice_NeedsPrompt(t *testing.T) {
	f := newFakeMS(t)
	if _, err := LoginDevice(context.Background(), f.auth(FlowDevice), LoginOptions{}); err == nil {
		t.Fatal("no error without ShowDeviceCode")
	}
}

func TestLoginBrowser_Flow(t *testing.T) {
	tests := []struct {
		name     string
		redirect func(q url.Values, state string) url.Values // query sent back; nil = no redirect
		wantText string
	}{
		{"success", func(q url.Values, state string) url.Values {
			return url.Values{"code": {"AUTHCODE"}, "state": {state}}
		}, ""},
		{"state mismatch is ignored", func(q url.Values, state string) url.Values {
			return url.Values{"code": {"AUTHCODE"}, "state": {"forged"}}
		}, "1 answers with a wrong state were ignored"},
		{"denied", func(q url.Values, state string) url.Values {
			return url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent."}, "state": {state}}
		}, "access_denied: AADSTS65004"},
		{"timeout", nil, "no answer from the browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t)
			cfg := f.auth(FlowDevice) // --browser overrides the configured flow
			cfg.RedirectURL = "http://localhost/callback"
			var shownURL string
			pageStatus := make(chan int, 1)
			opts := LoginOptions{
				Timeout:     300 * time.Millisecond,
				ShowAuthURL: func(u string) { shownURL = u },
				OpenBrowser: func(authURL string) error {
					u, err := url.Parse(authURL)
					if err != nil {
						return err
					}
					q := u.Query()
					if u.Path != "/common/oauth2/v2.0/authorize" || q.Get("code_challenge_method") != "S256" ||
						q.Get("response_type") != "code" || q.Get("client_id") != "cid" || len(q.Get("state")) < 32 {
						t.Errorf("authorize URL = %s", authURL)
					}
					f.addCode("AUTHCODE", q.Get("code_challenge"))
					if tt.redirect == nil {
						return nil
					}
					back := q.Get("redirect_uri") + "?" + tt.redirect(q, q.Get("state")).Encode()
					go func() {
						resp, err := http.Get(back)
						if err != nil {
							t.Errorf("redirect: %v", err)
							return
						}
						pageStatus <- resp.StatusCode
						resp.Body.Close()
					}()
					return nil
				},
			}
			tok, err := LoginBrowser(context.Background(), cfg, opts)
			if shownURL == "" {
				t.Error("sign-in URL not shown")
			}
			if tt.wantText == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tok.RefreshToken == "" || tok.AccessToken == "" {
					t.Errorf("token = %+v", tok)
				}
				grants := f.tokenGrants()
				g := grants[len(grants)-1]
				if g.Get("grant_type") != "authorization_code" || g.Get("code_verifier") == "" ||
					!strings.HasPrefix(g.Get("redirect_uri"), "http://localhost:") || !strings.HasSuffix(g.Get("redirect_uri"), "/callback") {
					t.Errorf("redeem form = %v", g)
				}
				if st := <-pageStatus; st != http.StatusOK {
					t.Errorf("browser page status = %d", st)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want %q", err, tt.wantText)
			}
		})
	}
}

func TestLoginBrowser_RejectsNonLoopback(t *testing.T) {
	f := newFakeMS(t)
	cfg := f.auth(FlowBrowser)
	cfg.RedirectURL = "http://example.com:8080/"
	_, err := LoginBrowser(context.Background(), cfg, LoginOptions{OpenBrowser: func(string) error { return nil }})
	if !errors.Is(err, ErrBadConfig) {
		t.Fatalf("err = %v", err)
	}
}

func TestExchangeCode_Flow(t *testing.T) {
	f := newFakeMS(t)
	cfg := f.auth(FlowCode)
	cfg.ClientSecret = "web-secret-value"
	cfg.RedirectURL = "https://auth.example.com/callback"
	f.addCode("OC-CODE", "")
	tok, err := ExchangeCode(context.Background(), cfg, " OC-CODE ", LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Errorf("token = %+v", tok)
	}
	g := f.tokenGrants()[0]
	if g.Get("grant_type") != "authorization_code" || g.Get("code") != "OC-CODE" || g.Get("redirect_uri") != cfg.RedirectURL || g.Get("client_secret") != "<set>" {
		t.Errorf("form = %v", g)
	}
	// The same code again: Microsoft's invalid_grant comes back as a TokenError, secret-free.
	_, err = ExchangeCode(context.Background(), cfg, "OC-CODE", LoginOptions{})
	var te *TokenError
	if !errors.As(err, &te) || te.Code != "invalid_grant" || te.AADSTS != "AADSTS54005" || te.CorrelationID != "c-1" {
		t.Fatalf("err = %v (%+v)", err, te)
	}
	if strings.Contains(err.Error(), "web-secret-value") || strings.Contains(err.Error(), "Trace ID") {
		t.Errorf("error leaks: %v", err)
	}
	if _, err := ExchangeCode(context.Background(), cfg, "", LoginOptions{}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("empty code: %v", err)
	}
}

func TestClientCredentials_Flow(t *testing.T) {
	f := newFakeMS(t)
	cfg := f.auth(FlowClientCredentials)
	tok, err := ClientCredentials(context.Background(), cfg, LoginOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Errorf("token = %+v", tok)
	}
	g := f.tokenGrants()[0]
	if g.Get("grant_type") != "client_credentials" || g.Get("scope") != f.srv.URL[:0]+"https://graph.microsoft.com/.default" {
		t.Errorf("form = %v", g)
	}
	cfg.ClientSecret = "wrong-secret-value"
	_, err = ClientCredentials(context.Background(), cfg, LoginOptions{})
	var te *TokenError
	if !errors.As(err, &te) || te.AADSTS != "AADSTS7000215" || !strings.Contains(err.Error(), "create a new secret") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") {
		t.Errorf("error leaks the secret: %v", err)
	}
}

func TestLogin_Dispatch(t *testing.T) {
	f := newFakeMS(t)
	cfg := f.auth(FlowCode)
	f.addCode("C1", "")
	if _, err := Login(context.Background(), cfg, LoginOptions{Code: "C1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Login(context.Background(), f.auth(FlowClientCredentials), LoginOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestLoginBrowser_WrongStateKeepsWaiting: a forged redirect (any local process or web page
// can reach the loopback) gets 400 and does not end the login; the real one then succeeds.
func TestLoginBrowser_WrongStateKeepsWaiting(t *testing.T) {
	f := newFakeMS(t)
	cfg := f.auth(FlowBrowser)
	cfg.RedirectURL = "http://127.0.0.1/cb"
	statuses := make(chan int, 3)
	get := func(u string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Errorf("redirect: %v", err)
			statuses <- 0
			return
		}
		resp.Body.Close()
		statuses <- resp.StatusCode
	}
	opts := LoginOptions{
		Timeout: 10 * time.Second,
		OpenBrowser: func(authURL string) error {
			u, _ := url.Parse(authURL)
			q := u.Query()
			f.addCode("AUTHCODE", q.Get("code_challenge"))
			base := q.Get("redirect_uri") + "?"
			go func() {
				get(base + url.Values{"code": {"EVIL"}, "state": {"forged"}}.Encode())
				get(base + url.Values{"error": {"access_denied"}}.Encode())
				get(base + url.Values{"code": {"AUTHCODE"}, "state": {q.Get("state")}}.Encode())
			}()
			return nil
		},
	}
	tok, err := LoginBrowser(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("LoginBrowser = %v, want the real answer to win", err)
	}
	if tok.RefreshToken == "" {
		t.Errorf("token = %+v", tok)
	}
	for i, want := range []int{http.StatusBadRequest, http.StatusBadRequest, http.StatusOK} {
		if got := <-statuses; got != want {
			t.Errorf("answer %d: status %d, want %d", i, got, want)
		}
	}
}

func TestLoginDevice_LongIntervalAndTerminalText(t *testing.T) {
	f := newFakeMS(t)
	f.device = []string{"authorization_pending", ""}
	f.deviceInterval = 120
	f.deviceUserCode = "\x1b[2J\x1b]0;pwned\x07ABC\u202e123\r\n"
	f.deviceURI = "https://microsoft.com/devicelogin\x1b[8m"
	var (
		mu     sync.Mutex
		sleeps []time.Duration
		shown  DeviceCode
	)
	opts := LoginOptions{ShowDeviceCode: func(dc DeviceCode) { shown = dc }, sleep: recordSleep(&mu, &sleeps)}
	if _, err := LoginDevice(context.Background(), f.auth(FlowDevice), opts); err != nil {
		t.Fatal(err)
	}
	if len(sleeps) != 2 || sleeps[0] != 2*time.Minute || sleeps[1] != 2*time.Minute {
		t.Errorf("sleeps = %v, want the server's 2m interval", sleeps)
	}
	if shown.UserCode != "ABC 123" || shown.VerificationURI != "https://microsoft.com/devicelogin" {
		t.Errorf("shown = %q, %q", shown.UserCode, shown.VerificationURI)
	}
	if strings.ContainsAny(shown.Message, "\x1b\x07\r\n\u202e") {
		t.Errorf("message %q carries control characters", shown.Message)
	}

	f.deviceURI = "javascript:alert(1)"
	f.device = []string{""}
	if _, err := LoginDevice(context.Background(), f.auth(FlowDevice), opts); err == nil || !strings.Contains(err.Error(), "verification_uri") {
		t.Errorf("LoginDevice with a javascript: URI = %v", err)
	}
}

func TestTerminalText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"a\x1b]8;;https://evil/\x1b\\link\x1b]8;;\x1b\\b", "alinkb"},
		{"title\x1b]0;x\x07end", "titleend"},
		{"c1\u009b31mx", "c1x"},
		{"tab\tand\nnewline", "tab and newline"},
		{"bidi\u202egnp.exe", "bidi gnp.exe"},
		{"lone esc\x1b", "lone esc"},
		{"\x00\x07\x08", ""},
	}
	for _, tt := range tests {
		if got := TerminalText(tt.in, 100); got != tt.want {
			t.Errorf("TerminalText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
