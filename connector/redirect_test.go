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

func TestClient_CheckRedirectNeverDowngrades(t *testing.T) {
	c := appOnlyClient(t, "http://127.0.0.1:8080/v1.0")
	req := func(u string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	from := []*http.Request{req("https://127.0.0.1:8080/v1.0/a")}
	if err := c.checkRedirect(req("http://127.0.0.1:8080/v1.0/b"), from); !errors.Is(err, ErrForeignLink) {
		t.Errorf("https → http redirect: %v, want refused", err)
	}
	if err := c.checkRedirect(req("http://127.0.0.1:8080/v1.0/b"), []*http.Request{req("http://127.0.0.1:8080/v1.0/a")}); err != nil {
		t.Errorf("http → http on the configured http root: %v", err)
	}
}

func TestDecodeGraphError_NoEscapeSequences(t *testing.T) {
	he := DecodeGraphError(400, []byte(`{"error":{"code":"bad\u001b]0;title\u0007Request","message":"Invalid \u001b[2J\u001b[31mrequest\u202e."}}`))
	if he.Code != "badRequest" || he.Message != "Invalid request ." {
		t.Errorf("code %q, message %q", he.Code, he.Message)
	}
}
