package graphtest

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
)

type deviceGrant struct {
	client, scope string
	userCode      string
	expires       time.Time
	interval      time.Duration
	state         deviceState
	lastPoll      time.Time
	redeemed      bool
}

// slowDownSlack tolerates clients whose timers fire a little early.
const slowDownSlack = 250 * time.Millisecond

func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, clientID, secret string) {
	if err := s.checkClient(clientID, secret, r.PostForm.Get("client_assertion") != "", false); err != nil {
		s.oauthError(w, err)
		return
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		s.oauthError(w, errInvalidRequest("scope"))
		return
	}
	secs := max(0, int64(s.opts.DeviceCodeInterval/time.Second))
	life := int64(s.opts.DeviceCodeLifetime / time.Second)
	d := &deviceGrant{client: clientID, scope: scope, userCode: userCode(),
		expires: s.now().Add(s.opts.DeviceCodeLifetime), interval: time.Duration(secs) * time.Second}
	if s.opts.AutoApproveDevice {
		d.state = deviceApproved
	}
	code := "DAQABAAEAAAD" + randomToken(48)
	s.auth.devices[code] = d
	s.auth.users[d.userCode] = code
	uri := s.URL + "/devicelogin"
	b, _ := json.Marshal(map[string]any{
		"user_code": d.userCode, "device_code": code, "verification_uri": uri,
		"expires_in": life, "interval": secs,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", uri, d.userCode),
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := randomBytes(9)
	for k := range b {
		b[k] = alphabet[int(b[k])%len(alphabet)]
	}
	return string(b)
}

func (s *Server) redeemDevice(w http.ResponseWriter, f url.Values, clientID string) *oauthErr {
	code := f.Get("device_code")
	if code == "" {
		return errInvalidRequest("device_code")
	}
	d := s.auth.devices[code]
	now := s.now()
	switch {
	case d == nil || d.client != clientID:
		return &oauthErr{400, "bad_verification_code", 70000, "The provided value for the input parameter 'device_code' is not valid."}
	case d.redeemed:
		return &oauthErr{400, "invalid_grant", 54005, "The device code was already redeemed."}
	case !now.Before(d.expires):
		return &oauthErr{400, "expired_token", 70019, "Verification code expired."}
	case d.state == deviceDeclined:
		return &oauthErr{400, "authorization_declined", 70000, "The user declined the authorization request."}
	case d.state == deviceApproved:
		d.redeemed = true
		s.writeTokens(w, clientID, d.scope, false)
		return nil
	}
	last := d.lastPoll
	d.lastPoll = now
	if !last.IsZero() && d.interval > 0 && now.Sub(last) < d.interval-slowDownSlack {
		return &oauthErr{400, "slow_down", 0, "Polling too fast: wait at least the interval between polls (RFC 8628 section 3.5)."}
	}
	return &oauthErr{400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
}

// ApproveDevice completes the user's side of a device-code sign-in: the next
// poll with the matching device code gets tokens.
func (s *Server) ApproveDevice(userCode string) error { return s.setDevice(userCode, deviceApproved) }

// DeclineDevice makes polls with the matching device code answer authorization_declined.
func (s *Server) DeclineDevice(userCode string) error { return s.setDevice(userCode, deviceDeclined) }

func (s *Server) setDevice(userCode string, st deviceState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.auth.devices[s.auth.users[strings.ToUpper(strings.TrimSpace(userCode))]]
	if d == nil {
		return fmt.Errorf("graphtest: unknown user code %q", userCode)
	}
	d.state = st
	return nil
}

// PendingUserCodes returns the user codes of device-code sign-ins neither
// approved, declined nor expired, in no particular order.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	now := s.now()
	for uc, dc := range s.auth.users {
		if d := s.auth.devices[dc]; d.state == devicePending && now.Before(d.expires) {
			out = append(out, uc)
		}
	}
	return out
}

// serveDeviceLogin is the verification page: GET /devicelogin?otc=CODE
// approves the sign-in, with &action=decline it declines it. Tests in another
// process (the demo, end-to-end scripts) use it instead of ApproveDevice.
func (s *Server) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("otc")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if code == "" {
		_, _ = fmt.Fprintln(w, "graphtest device login: open /devicelogin?otc=<code> to approve, add &action=decline to decline.")
		return
	}
	st, verb := deviceApproved, "approved"
	if r.URL.Query().Get("action") == "decline" {
		st, verb = deviceDeclined, "declined"
	}
	if err := s.setDevice(code, st); err != nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintln(w, "unknown code")
		return
	}
	_, _ = fmt.Fprintln(w, "sign-in "+verb)
}

// IssueAuthCode returns an authorization code as /authorize would hand it
// out, for tests of a code obtained elsewhere. challenge and method ("S256"
// or "plain") may be empty for a code without PKCE; redirectURI, when set,
// must be repeated at redemption.
func (s *Server) IssueAuthCode(clientID, redirectURI, scope, challenge, method string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCode(clientID, redirectURI, scope, challenge, method)
}

func (s *Server) issueCode(clientID, redirectURI, scope, challenge, method string) string {
	if challenge != "" && method == "" {
		method = "plain"
	}
	code := "0.AQsA" + randomToken(64)
	s.auth.codes[code] = &authCode{client: clientID, redirect: redirectURI, scope: scope,
		challenge: challenge, method: method, expires: s.now().Add(10 * time.Minute)}
	return code
}

// serveAuthorize is the browser sign-in: it approves at once (or asks
// Options.AuthorizeHook) and redirects to redirect_uri with code and state.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost && r.ParseForm() == nil {
		q = r.Form
	}
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	target, err := url.Parse(redirect)
	if clientID == "" || redirect == "" || err != nil || !target.IsAbs() {
		http.Error(w, "AADSTS900144: The request must contain valid 'client_id' and 'redirect_uri' parameters.", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	_, registered := s.auth.clients[clientID]
	strict, hook := s.opts.StrictClients, s.opts.AuthorizeHook
	s.mu.Unlock()
	if strict && !registered {
		http.Error(w, "AADSTS700016: Application with identifier '"+clientID+"' was not found.", http.StatusBadRequest)
		return
	}
	out := url.Values{}
	if st := q.Get("state"); st != "" {
		out.Set("state", st)
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case q.Get("response_type") != "code":
		out.Set("error", "unsupported_response_type")
		out.Set("error_description", "AADSTS70005: response_type 'code' is required.")
	case challenge != "" && method != "" && method != "S256" && method != "plain":
		out.Set("error", "invalid_request")
		out.Set("error_description", "AADSTS501491: Invalid code_challenge_method.")
	default:
		if hook != nil {
			if err := hook(q); err != nil {
				out.Set("error", "access_denied")
				out.Set("error_description", err.Error())
				break
			}
		}
		s.mu.Lock()
		out.Set("code", s.issueCode(clientID, redirect, q.Get("scope"), challenge, method))
		s.mu.Unlock()
		out.Set("session_state", randomGUID())
	}
	switch q.Get("response_mode") {
	case "fragment":
		target.Fragment = ""
		http.Redirect(w, r, target.String()+"#"+out.Encode(), http.StatusFound)
		return
	case "form_post":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		b.WriteString(`<html><body onload="document.forms[0].submit()"><form method="POST" action="` + html.EscapeString(redirect) + `">`)
		for k, vs := range out {
			b.WriteString(`<input type="hidden" name="` + html.EscapeString(k) + `" value="` + html.EscapeString(vs[0]) + `"/>`)
		}
		b.WriteString(`</form></body></html>`)
		_, _ = w.Write([]byte(b.String()))
		return
	default:
		qs := target.Query()
		for k, vs := range out {
			qs[k] = vs
		}
		target.RawQuery = qs.Encode()
	}
	http.Redirect(w, r, target.String(), http.StatusFound)
}
