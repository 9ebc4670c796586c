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

// appOnlyClient returns a Client for graphURL that never touches the network until used.
func appOnlyClient(t *testing.T, graphURL string) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Auth: AuthConfig{
		Flow: FlowClientCredentials, Tenant: "contoso.com", ClientID: "cid", ClientSecret: "s",
		GraphURL: graphURL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClient_CheckLink(t *testing.T) {
	tests := []struct {
		name, graph, link string
		ok                bool
	}{
		{"same host", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/drives/d/root/delta?token=x", true},
		{"host letter case", "https://graph.microsoft.com/v1.0", "https://GRAPH.microsoft.com/v1.0/x", true},
		{"http downgrade", "https://graph.microsoft.com/v1.0", "http://graph.microsoft.com/v1.0/x", false},
		{"other host", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com.evil.example/v1.0/x", false},
		{"sub domain", "https://graph.microsoft.com/v1.0", "https://x.graph.microsoft.com/v1.0/x", false},
		{"other port", "https://graph.microsoft.com/v1.0", "https://graph.microsoft.com:8443/v1.0/x", false},
		{"user info", "https://graph.microsoft.com/v1.0", "https://u:p@graph.microsoft.com/v1.0/x", false},
		{"relative", "https://graph.microsoft.com/v1.0", "/v1.0/x", false},
		{"other scheme", "https://graph.microsoft.com/v1.0", "ftp://graph.microsoft.com/v1.0/x", false},
		{"http root, http link", "http://127.0.0.1:8080/v1.0", "http://127.0.0.1:8080/v1.0/x", true},
		{"http root, https link", "http://127.0.0.1:8080/v1.0", "https://127.0.0.1:8080/v1.0/x", true},
		{"http root, other port", "http://127.0.0.1:8080/v1.0", "http://127.0.0.1:8081/v1.0/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := appOnlyClient(t, tt.graph).checkLink(tt.link)
			if (err == nil) != tt.ok {
				t.Fatalf("checkLink(%q) = %v, want ok %v", tt.link, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrForeignLink) {
				t.Errorf("error %v does not match ErrForeignLink", err)
			}
		})
	}
}

// foreignServer records whether any request reached it and with which Authorization.
func foreignServer(t *testing.T) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store("request with Authorization " + r.Header.Get("Authorization"))
		servePage(deltaPage("x"))(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestClient_PageRefusesForeignNextLink(t *testing.T) {
	f := newFakeMS(t)
	evil, got := foreignServer(t)
	f.graph = servePage(`{"value":[],"@odata.nextLink":"` + evil.URL + `/v1.0/drives/d/root/delta?token=2"}`)
	seed := f.seed()
	c := newTestClient(t, f, &memStore{tok: &seed}, nil)
	p, err := c.Page(context.Background(), c.DeltaURL("d"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Page(context.Background(), p.NextLink)
	if !errors.Is(err, ErrForeignLink) {
		t.Fatalf("Page(foreign nextLink) = %v, want ErrForeignLink", err)
	}
	if v := got.Load(); v != nil {
		t.Fatalf("the foreign host got a %s", v)
	}
	if strings.Contains(err.Error(), "token=2") {
		t.Errorf("error %q repeats the link's query", err)
	}
}

func TestClient_ResyncDropsForeignLocation(t *testing.T) {
	f := newFakeMS(t)
	evil, _ := foreignServer(t)
	loc := evil.URL + "/v1.0/drives/d/root/delta"
	f.graph = func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "same") {
			w.Header().Set("Location", f.srv.URL+"/v1.0/drives/d/root/delta?token=fresh")
		} else {
			w.Header().Set("Location", loc)
		}
		writeJSON(w, http.StatusGone, map[string]any{"error": map[string]any{"code": "resyncRequired"}})
	}
	seed := f.seed()
	c := newTestClient(t, f, &memStore{tok: &seed}, nil)
	_, err := c.Page(context.Background(), c.DeltaURL("d"))
	var re *ResyncError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *ResyncError", err)
	}
	if re.Location != "" {
		t.Errorf("Location = %q, want it dropped", re.Location)
	}
	_, err = c.Page(context.Background(), c.DeltaURL("d")+"&same=1")
	if !errors.As(err, &re) || re.Location != f.srv.URL+"/v1.0/drives/d/root/delta?token=fresh" {
		t.Errorf("same-host Location = %q (%v), want kept", re.Location, err)
	}
}
