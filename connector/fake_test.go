package connector

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMS is a small stand-in for the identity platform and Graph, used until the shared
// graphtest server covers what a test needs. Tokens are opaque counters; refresh tokens are
// single-use so that reuse of a rotated token is detected.
type fakeMS struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	seq       int
	access    map[string]time.Time // valid access token → expiry
	refresh   map[string]bool      // refresh token → still valid
	used      []string             // refresh tokens presented, in order
	reused    []string             // refresh tokens presented after they were redeemed
	grants    []url.Values         // token endpoint forms, secrets removed
	userAgent []string
	// tokenError, when set, answers the next token requests with this status and body.
	tokenError func(form url.Values) (int, string)
	// device scripts the device-code polls: each entry is an OAuth error code, "" = success.
	device      []string
	codes       map[string]string // authorization code → PKCE challenge
	graph       http.HandlerFunc  // Graph routes under /v1.0 after the bearer check
	graphReqs   []graphReq
	requireAuth bool
	// deviceExpiresIn is the device code lifetime announced, in seconds (default 900).
	deviceExpiresIn int
	// deviceInterval is the polling interval announced, in seconds (default 1);
	// deviceUserCode and deviceURI replace the user code and verification URI when set.
	deviceInterval            int
	deviceUserCode, deviceURI string
}

type graphReq struct {
	Path   string
	Query  string
	Bearer string
	At     time.Time
	UA     string
}

func newFakeMS(t *testing.T) *fakeMS {
	f := &fakeMS{t: t, access: map[string]time.Time{}, refresh: map[string]bool{}, codes: map[string]string{}, requireAuth: true}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", f.serveToken)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", f.serveDeviceCode)
	mux.HandleFunc("GET /v1.0/", f.serveGraph)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMS) auth(flow string) AuthConfig {
	a := AuthConfig{Flow: flow, ClientID: "cid", LoginURL: f.srv.URL, GraphURL: f.srv.URL + "/v1.0"}
	if flow == FlowClientCredentials {
		a.Tenant = "contoso.com"
		a.ClientSecret = "app-secret-value"
	}
	return a
}

// issue returns a new token pair; the caller holds f.mu.
func (f *fakeMS) issueLocked(withRefresh bool) map[string]any {
	f.seq++
	at := fmt.Sprintf("AT-%d", f.seq)
	f.access[at] = time.Now().Add(time.Hour)
	m := map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": at, "scope": "Files.Read"}
	if withRefresh {
		rt := fmt.Sprintf("RT-%d", f.seq)
		f.refresh[rt] = true
		m["refresh_token"] = rt
	}
	return m
}

// seed stores a refresh token the fake accepts and returns it.
func (f *fakeMS) seed() Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.issueLocked(true)
	return Token{AccessToken: m["access_token"].(string), RefreshToken: m["refresh_token"].(string), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
}

// expireAccess invalidates every access token (Graph answers 401 until a refresh).
func (f *fakeMS) expireAccess() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func tokenErr(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc + "\r\nTrace ID: t\r\nCorrelation ID: c-1\r\nTimestamp: x",
		"error_codes": []int{1}, "trace_id": "t", "correlation_id": "c-1"}
}

func (f *fakeMS) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	form := r.PostForm
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := url.Values{}
	for k, v := range form {
		if k != "client_secret" {
			rec[k] = v
		} else {
			rec[k] = []string{"<set>"}
		}
	}
	f.grants = append(f.grants, rec)
	f.userAgent = append(f.userAgent, r.UserAgent())
	if f.tokenError != nil {
		if status, body := f.tokenError(form); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
			return
		}
	}
	switch form.Get("grant_type") {
	case "refresh_token":
		rt := form.Get("refresh_token")
		f.used = append(f.used, rt)
		valid, known := f.refresh[rt]
		if !valid {
			if known {
				f.reused = append(f.reused, rt)
			}
			writeJSON(w, 400, tokenErr("invalid_grant", "AADSTS70000: The provided value for the 'refresh_token' is not valid."))
			return
		}
		f.refresh[rt] = false // single use: Microsoft rotates on every use
		writeJSON(w, 200, f.issueLocked(true))
	case "client_credentials":
		if form.Get("client_secret") != "app-secret-value" {
			writeJSON(w, 401, tokenErr("invalid_client", "AADSTS7000215: Invalid client secret provided."))
			return
		}
		writeJSON(w, 200, f.issueLocked(false))
	case "authorization_code":
		challenge, ok := f.codes[form.Get("code")]
		if !ok {
			writeJSON(w, 400, tokenErr("invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed."))
			return
		}
		delete(f.codes, form.Get("code"))
		if challenge != "" {
			sum := sha256.Sum256([]byte(form.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				writeJSON(w, 400, tokenErr("invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge."))
				return
			}
		}
		writeJSON(w, 200, f.issueLocked(true))
	case deviceGrant:
		if form.Get("device_code") != "DEV-CODE" {
			writeJSON(w, 400, tokenErr("bad_verification_code", "AADSTS70019: Verification code expired."))
			return
		}
		step := ""
		if len(f.device) > 0 {
			step, f.device = f.device[0], f.device[1:]
		}
		switch step {
		case "":
			writeJSON(w, 200, f.issueLocked(true))
		case "5xx":
			writeJSON(w, 503, map[string]any{"error": "temporarily_unavailable"})
		default:
			writeJSON(w, 400, tokenErr(step, "AADSTS70016: "+step))
		}
	default:
		writeJSON(w, 400, tokenErr("unsupported_grant_type", "AADSTS70003: unsupported"))
	}
}

func (f *fakeMS) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.grants = append(f.grants, r.PostForm)
	f.userAgent = append(f.userAgent, r.UserAgent())
	expires, interval, code, uri := f.deviceExpiresIn, f.deviceInterval, f.deviceUserCode, f.deviceURI
	f.mu.Unlock()
	if expires == 0 {
		expires = 900
	}
	if interval == 0 {
		interval = 1
	}
	if code == "" {
		code = "XYZ12345"
	}
	if uri == "" {
		uri = "https://microsoft.com/devicelogin"
	}
	writeJSON(w, 200, map[string]any{
		"device_code": "DEV-CODE", "user_code": code, "verification_uri": uri,
		"expires_in": expires, "interval": interval, "message": "To sign in, use a web browser…",
	})
}

// addCode registers an authorization code for the browser/code flows.
func (f *fakeMS) addCode(code, challenge string) {
	f.mu.Lock()
	f.codes[code] = challenge
	f.mu.Unlock()
}

func (f *fakeMS) serveGraph(w http.ResponseWriter, r *http.Request) {
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	f.graphReqs = append(f.graphReqs, graphReq{Path: r.URL.Path, Query: r.URL.RawQuery, Bearer: bearer, At: time.Now(), UA: r.UserAgent()})
	exp, ok := f.access[bearer]
	h := f.graph
	f.mu.Unlock()
	if f.requireAuth && (!ok || time.Now().After(exp)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`)
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": "Access token has expired or is not yet valid."}})
		return
	}
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func (f *fakeMS) graphRequests() []graphReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]graphReq(nil), f.graphReqs...)
}

func (f *fakeMS) tokenGrants() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.grants...)
}

// memStore is a TokenStore that records every save.
type memStore struct {
	mu      sync.Mutex
	tok     *Token
	saves   []Token
	failErr error
}

func (m *memStore) LoadToken() (Token, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return Token{}, false, nil
	}
	return *m.tok, true, nil
}

func (m *memStore) SaveToken(t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failErr != nil {
		return m.failErr
	}
	m.tok = &t
	m.saves = append(m.saves, t)
	return nil
}

func (m *memStore) current() Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return Token{}
	}
	return *m.tok
}

// deltaPage is a minimal page body.
func deltaPage(ids ...string) string {
	var items []string
	for _, id := range ids {
		items = append(items, fmt.Sprintf(`{"id":%q,"name":"n-%s","parentReference":{"id":"root","driveId":"d1"}}`, id, id))
	}
	return `{"value":[` + strings.Join(items, ",") + `],"@odata.deltaLink":"https://graph.example/v1.0/drives/d1/root/delta?token=next"}`
}
