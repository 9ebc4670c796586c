package connector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Token is an OAuth token as the agent stores it. It holds secrets: never log or print it.
type Token struct {
	AccessToken, RefreshToken, TokenType string
	Expiry                               time.Time // zero: unknown
}

// TokenStore persists one instance's token. SaveToken must be durable before it returns: the
// connector calls it with every new token before using that token, because Microsoft rotates
// the refresh token on every use.
type TokenStore interface {
	LoadToken() (Token, bool, error)
	SaveToken(Token) error
}

func (t Token) oauth() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

func tokenFromOAuth(t *oauth2.Token) Token {
	return Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

// expiryMargin: a token that expires within this margin is refreshed before use.
const expiryMargin = 2 * time.Minute

// tokenSource hands out access tokens for Graph requests. It caches the current token,
// refreshes it when it is about to expire (or when forced after a 401), and saves every new
// token through the store before handing it out. Unlike oauth2.ReuseTokenSource it can be
// forced to refresh, and a token whose save failed is kept in memory (so a rotated refresh
// token is never lost) but not used until a save succeeds.
type tokenSource struct {
	ctx     context.Context // long-lived, carries the *http.Client under oauth2.HTTPClient
	auth    AuthConfig
	store   TokenStore
	now     func() time.Time
	mu      sync.Mutex
	cur     *oauth2.Token
	loaded  bool
	unsaved bool // cur has not been saved yet
}

// token returns a valid access token, refreshing when needed.
func (s *tokenSource) token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return nil, err
	}
	if s.cur != nil && s.cur.AccessToken != "" && !s.expiringLocked() {
		if err := s.saveLocked(); err != nil {
			return nil, err
		}
		return s.cur, nil
	}
	return s.refreshLocked()
}

// forceRefresh gets a new access token after Graph rejected stale with a 401. If another
// caller already replaced stale, the current token is returned without a new refresh.
func (s *tokenSource) forceRefresh(stale string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadLocked(); err != nil {
		return nil, err
	}
	if s.cur != nil && s.cur.AccessToken != stale && s.cur.AccessToken != "" && !s.expiringLocked() {
		if err := s.saveLocked(); err != nil {
			return nil, err
		}
		return s.cur, nil
	}
	return s.refreshLocked()
}

// reload forgets the cached token, so the next use loads it from the store.
func (s *tokenSource) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded, s.cur, s.unsaved = false, nil, false
}

func (s *tokenSource) expiringLocked() bool {
	return !s.cur.Expiry.IsZero() && !s.now().Add(expiryMargin).Before(s.cur.Expiry)
}

func (s *tokenSource) loadLocked() error {
	if s.loaded {
		return nil
	}
	t, ok, err := s.store.LoadToken()
	if err != nil {
		return fmt.Errorf("load token: %w", err)
	}
	s.loaded = true
	if ok {
		s.cur = t.oauth()
	}
	return nil
}

func (s *tokenSource) saveLocked() error {
	if !s.unsaved {
		return nil
	}
	if err := s.store.SaveToken(tokenFromOAuth(s.cur)); err != nil {
		return fmt.Errorf("save refreshed token: %w", err)
	}
	s.unsaved = false
	return nil
}

// refreshLocked obtains a new token: a refresh-token grant for delegated flows, a new
// client-credentials token for app-only. The new token is saved before it is returned.
func (s *tokenSource) refreshLocked() (*oauth2.Token, error) {
	var (
		t   *oauth2.Token
		err error
	)
	if s.auth.delegated() {
		if s.cur == nil || s.cur.RefreshToken == "" {
			return nil, fmt.Errorf("no refresh token stored: %w", ErrNeedsLogin)
		}
		// A source built on a token without an access token refreshes at once; it keeps the
		// old refresh token if the server sends none.
		old := &oauth2.Token{RefreshToken: s.cur.RefreshToken}
		t, err = s.auth.oauthConfig().TokenSource(s.ctx, old).Token()
	} else {
		cc, cerr := s.auth.clientCredentialsConfig(s.now())
		if cerr != nil {
			return nil, cerr
		}
		t, err = cc.Token(s.ctx)
	}
	if err != nil {
		return nil, refreshError(err)
	}
	s.cur = t
	s.unsaved = true
	if err := s.saveLocked(); err != nil {
		return nil, err
	}
	return s.cur, nil
}

// refreshError turns an x/oauth2 failure into a TokenError; invalid_grant also matches
// ErrNeedsLogin.
func refreshError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("refresh access token: %w", err)
	}
	te := tokenErrorFrom(re)
	if te.Code == "invalid_grant" {
		return fmt.Errorf("refresh token rejected, %w: %w", ErrNeedsLogin, te)
	}
	return fmt.Errorf("refresh access token: %w", te)
}

// tokenErrorFrom decodes an x/oauth2 RetrieveError without keeping its body.
func tokenErrorFrom(re *oauth2.RetrieveError) *TokenError {
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	te := DecodeTokenError(status, re.Body)
	if te.Code == "" {
		te.Code = cleanText(re.ErrorCode, 60)
	}
	if te.Description == "" {
		te.Description = cleanText(re.ErrorDescription, 300)
		te.AADSTS = aadstsRE.FindString(te.Description)
	}
	return te
}
