package connector

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

func TestClient_ResolveSharePointDrive(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{PageSize: 1})
	defer s.Close()
	s.AddClient(graphtest.DefaultClientID, "app-secret", false)
	s.AddSite("contoso.sharepoint.com", "/sites/Finance",
		graphtest.SiteLibrary{Name: "Documents", URLName: "Shared Documents"},
		graphtest.SiteLibrary{Name: "Invoices 2026", DriveID: "b!invoices"})
	s.AddSite("contoso.sharepoint.com", "/sites/Finance/Archive", graphtest.SiteLibrary{Name: "Old", DriveID: "b!archive-old"})
	s.AddSite("contoso.sharepoint.com", "", graphtest.SiteLibrary{Name: "Documents", URLName: "Shared Documents", DriveID: "b!root-docs"})
	c := gtClient(t, s, gtAuth(s, FlowClientCredentials), nil, nil)
	tests := []struct{ spec, want, wantErr string }{
		{"https://contoso.sharepoint.com/sites/Finance/Shared%20Documents", s.DriveID(), ""},
		{"https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Forms/AllItems.aspx?viewid=x", s.DriveID(), ""},
		{"https://CONTOSO.sharepoint.com/sites/finance/shared%20documents/", s.DriveID(), ""},
		{"https://contoso.sharepoint.com/sites/Finance/Invoices%202026", "b!invoices", ""},
		{"https://contoso.sharepoint.com/sites/Finance/Archive/Old", "b!archive-old", ""},
		{"https://contoso.sharepoint.com/Shared%20Documents", "b!root-docs", ""},
		{"https://contoso.sharepoint.com/sites/Finance", s.DriveID(), ""},
		{"site:contoso.sharepoint.com:/sites/Finance", s.DriveID(), ""},
		{"https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Reports/2026", "", `folder = "/Reports/2026"`},
		{"https://contoso.sharepoint.com/sites/Finance/Nope", "", "none of the libraries"},
		{"https://contoso.sharepoint.com/sites/Gone/Shared%20Documents", "", "no SharePoint site found"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			id, err := c.ResolveDrive(context.Background(), tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ResolveDrive = %q, %v; want an error with %q", id, err, tt.wantErr)
				}
				return
			}
			if err != nil || !SameDrive(id, tt.want) {
				t.Fatalf("ResolveDrive = %q, %v; want %q", id, err, tt.want)
			}
		})
	}

	web, drives, err := c.SiteDrives(context.Background(), "site:contoso.sharepoint.com:/sites/Finance")
	if err != nil {
		t.Fatal(err)
	}
	if web != "https://contoso.sharepoint.com/sites/Finance" || len(drives) != 2 ||
		drives[0].WebURL != "https://contoso.sharepoint.com/sites/Finance/Shared%20Documents" || drives[1].Name != "Invoices 2026" {
		t.Errorf("SiteDrives = %q, %+v (two pages of one drive)", web, drives)
	}
}

func TestCheckDriveSpec_SharePoint(t *testing.T) {
	tests := []struct {
		spec string
		ok   bool
	}{
		{"https://contoso.sharepoint.com/sites/X/Shared%20Documents", true},
		{"site:contoso.sharepoint.com:/sites/X", true},
		{"site:contoso.sharepoint.com:/sites/X:", true},
		{"site:contoso.sharepoint.com,guid,guid", true},
		{"http://contoso.sharepoint.com/sites/X/Shared%20Documents", false},
		{"https://user:pw@contoso.sharepoint.com/sites/X", false},
		{"site:contoso.sharepoint.com:sites/X", false},
		{"site::/sites/X", false},
		{"site:contoso.sharepoint.com:/sites/../X", false},
		{"https://contoso.sharepoint.com/sites/X/../Y", false},
	}
	for _, tt := range tests {
		err := CheckDriveSpec(tt.spec, FlowClientCredentials)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadConfig)) {
			t.Errorf("CheckDriveSpec(%q) = %v, want ok %v", tt.spec, err, tt.ok)
		}
	}
}
