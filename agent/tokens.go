package agent

import (
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// tokenStore keeps one instance's OAuth token in the database, so that every
// refresh token Microsoft rotates in is durable before it is used.
type tokenStore struct {
	db   *store.DB
	name string
}

var _ connector.TokenStore = tokenStore{}

// LoadToken implements connector.TokenStore.
func (t tokenStore) LoadToken() (connector.Token, bool, error) {
	tok, ok, err := t.db.Token(t.name)
	if err != nil || !ok {
		return connector.Token{}, ok, err
	}
	return connector.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry}, true, nil
}

// SaveToken implements connector.TokenStore.
func (t tokenStore) SaveToken(tok connector.Token) error {
	return t.db.SaveToken(t.name, store.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry})
}
