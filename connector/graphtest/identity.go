package graphtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// oauthErr is a token-endpoint error: OAuth error, AADSTS number, text.
type oauthErr struct {
	status int
	code   string
	aadsts int
	desc   string
}

func errInvalidRequest(param string) *oauthErr {
	return &oauthErr{400, "invalid_request", 900144,
		fmt.Sprintf("The request body must contain the following parameter: '%s'.", param)}
}

// revokedMsg is the AADSTS700082 text of an expired or revoked refresh token.
const revokedMsg = "The refresh token has expired due to inactivity. The token was issued on 2025-01-01T00:00:00Z and was inactive for 90.00:00:00."

// serveIdentity routes /{tenant}/oauth2/v2.0/{token,devicecode,authorize}.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request, entry *Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) != 4 || segs[1] != "oauth2" || segs[2] != "v2.0" {
		http.NotFound(w, r)
		return
	}
	tenant := segs[0]
	switch segs[3] {
	case "token":
		entry.Class = ClassToken
	case "devicecode":
		entry.Class = ClassDeviceCode
	case "authorize":
		entry.Class = ClassAuthorize
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	if f := s.takeFault(entry.Class, false); f != nil {
		if b, ok := w.(*buffered); ok {
			b.apply(f)
		}
		if f.Hangup || f.Status != 0 {
			defer s.mu.Unlock()
			if !f.Hangup {
				s.identityFault(w, *f)
			}
			return
		}
	}
	if !validTenant(tenant) {
		defer s.mu.Unlock()
		s.oauthError(w, &oauthErr{400, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)})
		return
	}
	if entry.Class == ClassAuthorize {
		s.mu.Unlock() // the hook may call the Server
		s.serveAuthorize(w, r)
		return
	}
	defer s.mu.Unlock()
	if r.Method != http.MethodPost {
		s.oauthError(w, &oauthErr{400, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a " + r.Method + " request."})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, &oauthErr{400, "invalid_request", 900144, "The request body could not be parsed."})
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = unescape(u), unescape(p)
	}
	entry.Client = clientID
	if entry.Class == ClassDeviceCode {
		s.serveDeviceCode(w, r, clientID, secret)
		return
	}
	s.serveToken(w, r, tenant, clientID, secret)
}

func unescape(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

func validTenant(t string) bool {
	switch t {
	case "common", "organizations", "consumers":
		return true
	}
	if len(t) == 36 && strings.Count(t, "-") == 4 {
		return true
	}
	return strings.Contains(t, ".") && !strings.ContainsAny(t, " /")
}

// checkClient authenticates the client the way Entra ID does.
func (s *Server) checkClient(clientID, secret string, assertion, needSecret bool) *oauthErr {
	if clientID == "" {
		return errInvalidRequest("client_id")
	}
	presented := secret != "" || assertion
	missing := &oauthErr{401, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	wrong := &oauthErr{401, "invalid_client", 7000215,
		fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)}
	c, registered := s.auth.clients[clientID]
	switch {
	case !registered && s.opts.StrictClients:
		return &oauthErr{400, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory 'graphtest'.", clientID)}
	case !registered:
		if needSecret && !presented {
			return missing
		}
		if secret != "" && s.opts.ClientSecret != "" && secret != s.opts.ClientSecret {
			return wrong
		}
	case c.public:
		if presented {
			return &oauthErr{401, "invalid_client", 700025,
				"Client is public so neither 'client_assertion' nor 'client_secret' should be presented."}
		}
		if needSecret {
			return missing
		}
	default:
		if !presented {
			return missing
		}
		if secret != "" && secret != c.secret {
			return wrong
		}
	}
	return nil
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant, clientID, secret string) {
	f := r.PostForm
	grant := f.Get("grant_type")
	if err := s.checkClient(clientID, secret, f.Get("client_assertion") != "", grant == "client_credentials"); err != nil {
		s.oauthError(w, err)
		return
	}
	if err := s.checkAssertion(f, tenant, clientID); err != nil {
		s.oauthError(w, err)
		return
	}
	var err *oauthErr
	switch grant {
	case "authorization_code":
		err = s.redeemCode(w, f, clientID)
	case "refresh_token":
		err = s.redeemRefresh(w, f, clientID)
	case "client_credentials":
		err = s.clientCredentials(w, f, tenant, clientID)
	case "urn:ietf:params:oauth:grant-type:device_code":
		err = s.redeemDevice(w, f, clientID)
	case "":
		err = errInvalidRequest("grant_type")
	default:
		err = &oauthErr{400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '" + grant + "'."}
	}
	if err != nil {
		s.oauthError(w, err)
	}
}

func (s *Server) redeemCode(w http.ResponseWriter, f url.Values, clientID string) *oauthErr {
	code := f.Get("code")
	if code == "" {
		return errInvalidRequest("code")
	}
	c := s.auth.codes[code]
	switch {
	case c == nil || c.client != clientID:
		return &oauthErr{400, "invalid_grant", 70000, "Provided grant is invalid or malformed."}
	case c.used:
		return &oauthErr{400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."}
	case !s.now().Before(c.expires):
		return &oauthErr{400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."}
	case c.redirect != "" && f.Get("redirect_uri") != c.redirect:
		return &oauthErr{400, "invalid_grant", 70000, "The provided value for the input parameter 'redirect_uri' is not valid. The expected value is a URI which matches a redirect URI registered for this client application."}
	}
	if c.challenge != "" && !pkceMatches(c.challenge, c.method, f.Get("code_verifier")) {
		return &oauthErr{400, "invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE."}
	}
	c.used = true
	s.writeTokens(w, clientID, c.scope, false)
	return nil
}

func pkceMatches(challenge, method, verifier string) bool {
	if verifier == "" {
		return false
	}
	if strings.EqualFold(method, "S256") {
		sum := sha256.Sum256([]byte(verifier))
		return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
	}
	return verifier == challenge
}

func (s *Server) redeemRefresh(w http.ResponseWriter, f url.Values, clientID string) *oauthErr {
	rt := f.Get("refresh_token")
	if rt == "" {
		return errInvalidRequest("refresh_token")
	}
	g := s.auth.refresh[rt]
	now := s.now()
	switch {
	case g == nil:
		return &oauthErr{400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."}
	case g.revoked, s.opts.RefreshTokenMaxIdle > 0 && now.Sub(g.lastUsed) > s.opts.RefreshTokenMaxIdle:
		return &oauthErr{400, "invalid_grant", 700082, revokedMsg}
	case g.client != clientID:
		return &oauthErr{400, "invalid_grant", 70000, "Provided grant is invalid or malformed."}
	}
	g.lastUsed = now
	if s.opts.SingleUseRefreshTokens {
		g.revoked = true
	}
	scope := f.Get("scope")
	if scope == "" {
		scope = g.scope
	}
	if !hasScope(scope, "offline_access") {
		scope += " offline_access"
	}
	s.writeTokens(w, clientID, scope, false)
	return nil
}

func (s *Server) clientCredentials(w http.ResponseWriter, f url.Values, tenant, clientID string) *oauthErr {
	scope := f.Get("scope")
	if scope == "" {
		return errInvalidRequest("scope")
	}
	if !strings.HasSuffix(scope, "/.default") || strings.Contains(scope, " ") {
		return &oauthErr{400, "invalid_scope", 1002012, "The provided value for scope " + scope +
			" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
	}
	switch tenant {
	case "common", "organizations", "consumers":
		return &oauthErr{400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials."}
	}
	s.writeTokens(w, clientID, scope, true)
	return nil
}

func hasScope(scope, want string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.EqualFold(sc, want) {
			return true
		}
	}
	return false
}

// writeTokens issues and writes a token response. App-only responses carry
// no scope and no refresh token; delegated ones carry a refresh token only
// when offline_access was requested.
func (s *Server) writeTokens(w http.ResponseWriter, clientID, scope string, app bool) {
	secs := max(1, int64(s.opts.AccessTokenLifetime.Seconds()))
	body := map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   s.issueAccess(clientID, scope, app),
	}
	if !app {
		var granted []string
		for _, sc := range strings.Fields(scope) {
			switch strings.ToLower(sc) {
			case "openid", "profile", "email", "offline_access":
			default:
				granted = append(granted, sc)
			}
		}
		if len(granted) == 0 {
			granted = []string{"User.Read"}
		}
		body["scope"] = strings.Join(granted, " ")
		if hasScope(scope, "offline_access") {
			body["refresh_token"] = s.issueRefresh(clientID, scope)
		}
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// oauthError writes the identity platform's error envelope.
func (s *Server) oauthError(w http.ResponseWriter, e *oauthErr) {
	now := s.now().UTC()
	trace, corr := randomGUID(), randomGUID()
	ts := now.Format("2006-01-02 15:04:05Z")
	desc := e.desc
	if e.aadsts != 0 {
		desc = fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.aadsts, e.desc, trace, corr, ts)
	}
	body := map[string]any{
		"error": e.code, "error_description": desc, "timestamp": ts,
		"trace_id": trace, "correlation_id": corr,
	}
	if e.aadsts != 0 {
		body["error_codes"] = []int{e.aadsts}
		body["error_uri"] = fmt.Sprintf("%s/error?code=%d", s.URL, e.aadsts)
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// identityFault answers an identity request with an injected fault.
func (s *Server) identityFault(w http.ResponseWriter, f Fault) {
	setRetryAfter(w, f.RetryAfter)
	if f.EmptyBody {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(f.Status)
		return
	}
	code, msg := f.Code, f.Message
	if code == "" {
		code = "temporarily_unavailable"
	}
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	s.oauthError(w, &oauthErr{f.Status, code, 0, msg})
}
