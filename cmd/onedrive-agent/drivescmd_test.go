package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// drivesTOML has an app-only instance "hr" on the Finance site's library and a delegated
// instance "docs".
func drivesTOML(t *testing.T, g *graphtest.Server) string {
	t.Helper()
	dir := t.TempDir()
	return writeConfig(t, fmt.Sprintf(`data_dir = %q
[admin]
listen = ""
[[instance]]
name = "docs"
[instance.auth]
client_id = "delegated"
login_url = %q
graph_url = %q
[instance.drive]
drive = "site:contoso.sharepoint.com:/sites/HR"
[instance.callback]
url = "http://127.0.0.1:1/unused"

[[instance]]
name = "hr"
[instance.auth]
flow = "client_credentials"
tenant = "contoso.com"
client_id = "app"
client_secret = "app-secret"
login_url = %q
graph_url = %q
[instance.drive]
drive = "https://contoso.sharepoint.com/sites/Finance/Shared%%20Documents"
[instance.callback]
url = "http://127.0.0.1:1/unused"
`, filepath.Join(dir, "data"), g.LoginURL(), g.GraphURL(), g.LoginURL(), g.GraphURL()))
}

func TestDrives(t *testing.T) {
	g := graphtest.NewServer(graphtest.Options{})
	defer g.Close()
	g.AddClient("app", "app-secret", false)
	g.AddSite("contoso.sharepoint.com", "/sites/Finance",
		graphtest.SiteLibrary{Name: "Documents", URLName: "Shared Documents"},
		graphtest.SiteLibrary{Name: "Invoices\x1b[2J", DriveID: "b!invoices"})
	g.AddSite("contoso.sharepoint.com", "/sites/HR", graphtest.SiteLibrary{Name: "Policies", DriveID: "b!policies"})
	cfg := drivesTOML(t, g)
	ctx := context.Background()

	out, _, err := mainOut(ctx, "drives", "-c", cfg, "hr")
	if err != nil {
		t.Fatalf("drives hr: %v", err)
	}
	for _, want := range []string{"site https://contoso.sharepoint.com/sites/Finance: 2 drive(s)", g.DriveID(), "b!invoices",
		"https://contoso.sharepoint.com/sites/Finance/Shared%20Documents", "Invoices   "} {
		if !strings.Contains(out, want) {
			t.Errorf("drives hr printed:\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a drive name reached the terminal with its escape sequence: %q", out)
	}

	out, _, err = mainOut(ctx, "drives", "-c", cfg, "--json", "https://contoso.sharepoint.com/sites/HR")
	if err != nil {
		t.Fatalf("drives URL: %v", err)
	}
	var got struct {
		Site   string
		Drives []struct{ ID, Name, WebURL string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if got.Site != "https://contoso.sharepoint.com/sites/HR" || len(got.Drives) != 1 || got.Drives[0].ID != "b!policies" {
		t.Errorf("--json = %+v", got)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"delegated instance", []string{"docs"}, "signs in as a user"},
		{"unknown instance", []string{"nope"}, `no instance "nope"`},
		{"no argument", nil, "give one INSTANCE or SITE-URL"},
		{"delegated --instance", []string{"--instance", "docs", "site:contoso.sharepoint.com:/sites/HR"}, "signs in as a user"},
		{"http URL", []string{"http://contoso.sharepoint.com/sites/HR"}, "https://"},
	}
	for _, tt := range tests {
		_, _, err := mainOut(ctx, append([]string{"drives", "-c", cfg}, tt.args...)...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want a usage error with %q", tt.name, err, tt.want)
		}
	}
	if _, _, err := mainOut(ctx, "drives", "-c", cfg, "https://contoso.sharepoint.com/sites/Gone"); err == nil || !strings.Contains(err.Error(), "no SharePoint site found") {
		t.Errorf("unknown site: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "data")); err == nil {
		t.Error("drives created the data directory")
	}
}
