package graphtest

import (
	"net/http"
	"strings"
	"time"
)

// wwwAuthenticate is the challenge Graph sends with a 401.
const wwwAuthenticate = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

// DefaultClientID is the client id of tokens made by IssueToken and IssueAppToken.
const DefaultClientID = "00000000-0000-0000-0000-00000000test"

type client struct {
	secret string
	public bool
}

type accessGrant struct {
	client  string
	app     bool // client credentials: no signed-in user
	scope   string
	expires time.Time
}

type refreshGrant struct {
	client   string
	scope    string
	lastUsed time.Time
	revoked  bool
}

type authCode struct {
	client, redirect, scope string
	challenge, method       string
	expires                 time.Time
	used                    bool
}

// authState is the identity side: clients and every credential issued.
type authState struct {
	clients map[string]client
	access  map[string]*accessGrant
	refresh map[string]*refreshGrant
	codes   map[string]*authCode
	devices map[string]*deviceGrant // by device_code
	users   map[string]string       // user_code -> device_code
}

func newAuthState() authState {
	return authState{
		clients: map[string]client{}, access: map[string]*accessGrant{},
		refresh: map[string]*refreshGrant{}, codes: map[string]*authCode{},
		devices: map[string]*deviceGrant{}, users: map[string]string{},
	}
}

// AddClient registers an application. A public client (device code, native
// browser flow) must not present a secret; a confidential one must present
// secret. Unregistered client ids are accepted unless Options.StrictClients.
func (s *Server) AddClient(id, secret string, public bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth.clients[id] = client{secret: secret, public: public}
}

// IssueToken returns a valid delegated (signed-in user) access token for
// DefaultClientID, as if a user had signed in.
func (s *Server) IssueToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueAccess(DefaultClientID, "Files.Read", false)
}

// IssueAppToken returns a valid app-only (client credentials) access token
// for DefaultClientID: /me routes reject it.
func (s *Server) IssueAppToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueAccess(DefaultClientID, "https://graph.microsoft.com/.default", true)
}

// IssueRefreshToken returns a valid refresh token for clientID, with scope
// "Files.Read offline_access", as if the user had signed in with that client.
func (s *Server) IssueRefreshToken(clientID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueRefresh(clientID, "Files.Read offline_access")
}

// ExpireAccessTokens makes every access token issued so far expired: Graph
// routes answer 401 InvalidAuthenticationToken to them.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, g := range s.auth.access {
		g.expires = past
	}
}

// RevokeRefreshTokens invalidates every refresh token issued so far: redeeming
// one answers invalid_grant with AADSTS700082.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.auth.refresh {
		g.revoked = true
	}
}

func (s *Server) issueAccess(clientID, scope string, app bool) string {
	tok := "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0." + randomToken(32) + ".graphtest"
	s.auth.access[tok] = &accessGrant{client: clientID, app: app, scope: scope,
		expires: s.now().Add(s.opts.AccessTokenLifetime)}
	return tok
}

func (s *Server) issueRefresh(clientID, scope string) string {
	tok := "1.AQsA" + randomToken(48)
	s.auth.refresh[tok] = &refreshGrant{client: clientID, scope: scope, lastUsed: s.now()}
	return tok
}

// bearer checks the Authorization header of a Graph request; on failure it
// answers 401 and returns false. s.mu is held.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (accessGrant, bool) {
	h := r.Header.Get("Authorization")
	if h == "" && s.opts.AllowAnonymous {
		return accessGrant{}, true
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if t, ok2 := strings.CutPrefix(h, "bearer "); ok2 {
			tok, ok = t, true
		}
	}
	var msg string
	g := s.auth.access[strings.TrimSpace(tok)]
	switch {
	case h == "" || strings.TrimSpace(tok) == "":
		msg = "Access token is empty."
	case !ok || g == nil:
		msg = "IDX14100: JWT is not well formed, there are no dots (.)."
	case !s.now().Before(g.expires):
		msg = "Access token has expired or is not yet valid."
	default:
		return *g, true
	}
	w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
	return accessGrant{}, false
}
