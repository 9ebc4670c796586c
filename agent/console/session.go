package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CookieName is the name of the console's session cookie.
const CookieName = "onedrive_agent_session"

// csrfField is the name of the hidden form field every action carries.
const csrfField = "csrf"

// sessions issues and checks session values. A session value is
// "v1.<issued unix>.<nonce>.<mac>" where mac is an HMAC-SHA256 keyed with
// the admin token: it proves the holder signed in with the token, it is
// not the token, and it stops being valid when the token changes. The CSRF
// value of a session is another HMAC of the session value under the token.
type sessions struct {
	token func() string
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // nonce → when the session would have expired
}

// checkToken compares a submitted token with the admin token in constant
// time.
func (s *sessions) checkToken(got string) bool {
	tok := s.token()
	return tok != "" && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1
}

func (s *sessions) mac(parts ...string) string { return mac(s.token(), parts...) }

// mac is the HMAC-SHA256 of parts under the token tok.
func mac(tok string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(tok))
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns a new session value.
func (s *sessions) issue() string {
	var n [16]byte
	_, _ = rand.Read(n[:])
	issued := strconv.FormatInt(s.now().Unix(), 10)
	nonce := base64.RawURLEncoding.EncodeToString(n[:])
	return "v1." + issued + "." + nonce + "." + s.mac("session", issued, nonce)
}

// valid tells whether v is a session value issued under the current token,
// not expired and not signed out. It reads the token once.
func (s *sessions) valid(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return false
	}
	tok := s.token()
	if tok == "" || !hmac.Equal([]byte(parts[3]), []byte(mac(tok, "session", parts[1], parts[2]))) {
		return false
	}
	issued, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return false
	}
	age := s.now().Sub(time.Unix(issued, 0))
	if age < -time.Minute || age > s.ttl {
		return false
	}
	s.mu.Lock()
	_, out := s.revoked[parts[2]]
	s.mu.Unlock()
	return !out
}

// revoke makes v invalid before it expires (sign-out).
func (s *sessions) revoke(v string) {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return
	}
	issued, _ := strconv.ParseInt(parts[1], 10, 64)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, exp := range s.revoked {
		if now.After(exp) {
			delete(s.revoked, n)
		}
	}
	s.revoked[parts[2]] = time.Unix(issued, 0).Add(s.ttl)
}

// csrf returns the CSRF value bound to the session value v.
func (s *sessions) csrf(v string) string { return s.mac("csrf", v) }

// checkCSRF tells whether got is the CSRF value of v.
func (s *sessions) checkCSRF(v, got string) bool {
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrf(v)))
}

// session returns the request's valid session value, or "".
func (s *sessions) session(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil || !s.valid(c.Value) {
		return ""
	}
	return c.Value
}

// setCookie sets the session cookie: HttpOnly, SameSite=Strict, Path=/,
// and Secure when the request came over TLS. maxAge < 0 deletes it.
func (s *sessions) setCookie(w http.ResponseWriter, r *http.Request, v string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: v, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
