package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestClient_Headers(t *testing.T) {
	f := newFakeMS(t)
	seed := f.seed()
	f.graph = servePage(deltaPage())
	c := newTestClient(t, f, &memStore{tok: &Token{RefreshToken: seed.RefreshToken}}, nil)
	if _, err := c.Page(context.Background(), c.DeltaURL("d1")); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.graphRequests() {
		if r.UA != "onedrive-agent/9.9.9" {
			t.Errorf("Graph User-Agent = %q", r.UA)
		}
	}
	for _, ua := range f.userAgent {
		if ua != "onedrive-agent/9.9.9" {
			t.Errorf("token endpoint User-Agent = %q", ua)
		}
	}
}

func TestClient_DeltaURL(t *testing.T) {
	c, err := NewClient(ClientOptions{Auth: AuthConfig{ClientID: "c"}, Store: &memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	got := c.DeltaURL("b!Xy12/Ab")
	want := "https://graph.microsoft.com/v1.0/drives/b!Xy12%2FAb/root/delta?$select="
	if !strings.HasPrefix(got, want) {
		t.Errorf("DeltaURL = %q, want prefix %q", got, want)
	}
	for _, f := range []string{"id", "name", "eTag", "cTag", "size", "file", "folder", "root", "deleted", "parentReference", "lastModifiedDateTime", "webUrl"} {
		if !strings.Contains(got, ","+f+",") && !strings.Contains(got, "="+f+",") && !strings.Contains(got, ","+f+"&") {
			t.Errorf("DeltaURL lacks %s: %s", f, got)
		}
	}
	if strings.Contains(got, "downloadUrl") {
		t.Errorf("DeltaURL asks for download URLs: %s", got)
	}
}

func TestClient_ResolveDrive(t *testing.T) {
	tests := []struct {
		spec, flow, wantPath string
	}{
		{"me", FlowDevice, "/v1.0/me/drive"},
		{"", FlowDevice, "/v1.0/me/drive"},
		{"user:alice@contoso.com", FlowClientCredentials, "/v1.0/users/alice@contoso.com/drive"},
		{"site:contoso.sharepoint.com,11111111-aaaa,22222222-bbbb", FlowClientCredentials, "/v1.0/sites/contoso.sharepoint.com,11111111-aaaa,22222222-bbbb/drive"},
		{"site:contoso.sharepoint.com:/sites/Finance:", FlowDevice, "/v1.0/sites/contoso.sharepoint.com:/sites/Finance:/drive"},
		{"b!Xy12AbCd", FlowClientCredentials, "/v1.0/drives/b!Xy12AbCd"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			f := newFakeMS(t)
			f.graph = func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != tt.wantPath {
					writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "itemNotFound", "message": "not " + r.URL.Path}})
					return
				}
				fmt.Fprint(w, `{"id":"B!RESOLVED","driveType":"business"}`)
			}
			auth := f.auth(tt.flow)
			var store *memStore
			if tt.flow != FlowClientCredentials {
				seed := f.seed()
				store = &memStore{tok: &seed}
			}
			c := newTestClient(t, f, store, func(o *ClientOptions) {
				o.Auth = auth
				if store == nil {
					o.Store = nil
				}
			})
			id, err := c.ResolveDrive(context.Background(), tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if id != "B!RESOLVED" {
				t.Errorf("id = %q", id)
			}
			if q := f.graphRequests()[len(f.graphRequests())-1].Query; !strings.Contains(q, "select=id") {
				t.Errorf("query = %q", q)
			}
		})
	}
	t.Run("me with client_credentials", func(t *testing.T) {
		f := newFakeMS(t)
		c := newTestClient(t, f, nil, func(o *ClientOptions) { o.Auth = f.auth(FlowClientCredentials); o.Store = nil })
		_, err := c.ResolveDrive(context.Background(), "me")
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "user:<upn") {
			t.Fatalf("err = %v", err)
		}
		if n := len(f.graphRequests()) + len(f.tokenGrants()); n != 0 {
			t.Errorf("%d requests for a configuration error", n)
		}
	})
	t.Run("unknown drive", func(t *testing.T) {
		f := newFakeMS(t)
		seed := f.seed()
		f.graph = func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "itemNotFound", "message": "The resource could not be found."}})
		}
		c := newTestClient(t, f, &memStore{tok: &seed}, nil)
		_, err := c.ResolveDrive(context.Background(), "b!nope")
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != 404 || !strings.Contains(err.Error(), `resolve drive "b!nope"`) {
			t.Fatalf("err = %v", err)
		}
	})
}
