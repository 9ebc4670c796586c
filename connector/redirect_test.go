package connector

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestClient_GraphRedirects(t *testing.T) {
	tests := []struct {
		name     string
		foreign  bool // redirect to another host
		wantErr  bool
		requests int // requests the Graph fake sees
	}{
		{"to the Graph host", false, false, 2},
		{"to another host", true, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeMS(t)
			evil, got := foreignServer(t)
			f.graph = func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/moved") {
					servePage(deltaPage("a"))(w, r)
					return
				}
				target := f.srv.URL + "/v1.0/drives/d/moved"
				if tt.foreign {
					target = evil.URL + "/v1.0/drives/d/moved"
				}
				http.Redirect(w, r, target, http.StatusTemporaryRedirect)
			}
			seed := f.seed()
			c := newTestClient(t, f, &memStore{tok: &seed}, nil)
			_, err := c.Page(context.Background(), c.DeltaURL("d"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Page = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && !errors.Is(err, ErrForeignLink) {
				t.Errorf("err = %v, want ErrForeignLink", err)
			}
			if v := got.Load(); v != nil {
				t.Fatalf("the foreign host got a %s", v)
			}
			if n := len(f.graphRequests()); n != tt.requests {
				t.Errorf("graph requests = %d, want %d (a refused redirect is not retried)", n, tt.requests)
			}
		})
	}
}

// TestTokenEndpoint_NoRedirects: neither a sign-in nor a refresh follows a redirect of the
// token endpoint, so the client secret and refresh token are never posted elsewhere.
func TestTokenEndpoint_NoRedirects(t *testing.T) {
	var posted atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posted.Add(1)
		writeJSON(w, 200, map[string]any{"access_token": "x", "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(evil.Close)
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	t.Cleanup(login.Close)
	auth := AuthConfig{Flow: FlowClientCredentials, Tenant: "contoso.com", ClientID: "cid", ClientSecret: "secret",
		LoginURL: login.URL, GraphURL: evil.URL + "/v1.0"}

	_, err := ClientCredentials(context.Background(), auth, LoginOptions{})
	var te *TokenError
	if !errors.As(err, &te) || te.Status != http.StatusPermanentRedirect || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("ClientCredentials = %v, want a TokenError for the 308", err)
	}

	c, err := NewClient(ClientOptions{Auth: auth, RetryMaxElapsed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Page(context.Background(), c.DeltaURL("d")); err == nil {
		t.Error("Page succeeded with a redirected token endpoint")
	}

	device := AuthConfig{ClientID: "cid", ClientSecret: "secret", LoginURL: login.URL, GraphURL: evil.URL + "/v1.0"}
	c, err = NewClient(ClientOptions{Auth: device, Store: &memStore{tok: &Token{RefreshToken: "rt"}}, RetryMaxElapsed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Page(context.Background(), c.DeltaURL("d")); err == nil {
		t.Error("Page succeeded with a redirected token endpoint on refresh")
	}
	if n := posted.Load(); n != 0 {
		t.Fatalf("the redirect target got %d token requests", n)
	}
}
