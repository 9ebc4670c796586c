package connector

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

func tenantClient(t *testing.T, tn *graphtest.Tenant, opts ClientOptions) *Client {
	t.Helper()
	opts.Auth = AuthConfig{Flow: FlowClientCredentials, ClientID: graphtest.DefaultClientID, Tenant: "contoso.onmicrosoft.com",
		ClientSecret: "app-secret", LoginURL: tn.LoginURL(), GraphURL: tn.GraphURL()}
	opts.HTTPClient = tn.Client()
	opts.Version = "test"
	if opts.RetryInitial == 0 {
		opts.RetryInitial, opts.RetryMaxElapsed = 5*time.Millisecond, 200*time.Millisecond
	}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testTenant builds a tenant with members (one without a OneDrive), a guest, a disabled
// account, filler members for paging, sites with and without libraries, and the personal
// sites that come with every OneDrive. It returns the tenant and the user ids by UPN and site
// ids by path.
func testTenant(t *testing.T) (*graphtest.Tenant, map[string]string, map[string]string) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{MaxTop: 3})
	t.Cleanup(tn.Close)
	users := map[string]string{}
	for _, u := range []graphtest.TenantUser{
		{UPN: "alice@contoso.com"}, {UPN: "Bob@Contoso.com"}, {UPN: "carol@contoso.com", NoDrive: true},
		{UPN: "dave@fabrikam.com"}, {UPN: "eve_partner.com#EXT#@contoso.com", Guest: true},
		{UPN: "frank@contoso.com", Disabled: true},
	} {
		users[u.UPN] = tn.AddUser(u)
	}
	for _, upn := range fillerUPNs {
		users[upn] = tn.AddUser(graphtest.TenantUser{UPN: upn})
	}
	sites := map[string]string{
		"/":                      tn.AddSite("/", "Communication site", "Documents"),
		"/sites/Finance":         tn.AddSite("/sites/Finance", "Finance", "Documents", "Invoices"),
		"/sites/finance-archive": tn.AddSite("/sites/finance-archive", "Archive"),
		"/sites/HR":              tn.AddSite("/sites/HR", "HR", "Documents", "Policies", "Forms", "Old"),
		"/teams/Sales":           tn.AddSite("/teams/Sales", "Sales", "Documents"),
	}
	return tn, users, sites
}

var fillerUPNs = []string{"f1@other.com", "f2@other.com", "f3@other.com", "f4@other.com", "f5@other.com"}

func key(d TenantDrive) string { return d.Kind + " " + d.Owner + " " + d.DriveName + " " + d.DriveID }

func keys(ds []TenantDrive) []string {
	var out []string
	for _, d := range ds {
		out = append(out, key(d))
	}
	sort.Strings(out)
	return out
}

func TestDiscover(t *testing.T) {
	tn, users, sites := testTenant(t)
	c := tenantClient(t, tn, ClientOptions{})
	userDrive := func(upn string) TenantDrive {
		return TenantDrive{DriveID: tn.UserDrive(users[upn]).DriveID(), DriveName: "OneDrive", Owner: upn, Kind: KindUser}
	}
	siteDrives := func(path string) []TenantDrive {
		var out []TenantDrive
		names := map[string][]string{"/": {"Documents"}, "/sites/Finance": {"Documents", "Invoices"},
			"/sites/HR": {"Documents", "Policies", "Forms", "Old"}, "/teams/Sales": {"Documents"}}[path]
		for i, s := range tn.SiteDrives(sites[path]) {
			out = append(out, TenantDrive{DriveID: s.DriveID(), DriveName: names[i],
				Owner: "https://contoso.sharepoint.com" + strings.TrimSuffix(path, "/"), Kind: KindSite})
		}
		return out
	}
	var fillers []TenantDrive
	for _, upn := range fillerUPNs {
		fillers = append(fillers, userDrive(upn))
	}
	cat := func(parts ...[]TenantDrive) []TenantDrive {
		var out []TenantDrive
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	members := cat([]TenantDrive{userDrive("alice@contoso.com"), userDrive("Bob@Contoso.com"), userDrive("dave@fabrikam.com")}, fillers)
	allSites := cat(siteDrives("/"), siteDrives("/sites/Finance"), siteDrives("/sites/HR"), siteDrives("/teams/Sales"))

	tests := []struct {
		name string
		opts DiscoverOptions
		want []TenantDrive
	}{
		{"all users", DiscoverOptions{Users: true}, members},
		{"all sites", DiscoverOptions{Sites: true}, allSites},
		{"all", DiscoverOptions{Users: true, Sites: true}, cat(members, allSites)},
		{"upn glob, any case", DiscoverOptions{Users: true, UserGlobs: []string{"*@CONTOSO.com"}},
			[]TenantDrive{userDrive("alice@contoso.com"), userDrive("Bob@Contoso.com")}},
		{"two upn globs", DiscoverOptions{Users: true, UserGlobs: []string{"a*@contoso.com", "*@fabrikam.com"}},
			[]TenantDrive{userDrive("alice@contoso.com"), userDrive("dave@fabrikam.com")}},
		{"a guest never matches", DiscoverOptions{Users: true, UserGlobs: []string{"eve*", "frank*"}}, nil},
		{"site glob within one segment", DiscoverOptions{Sites: true, SiteGlobs: []string{"https://contoso.sharepoint.com/sites/*"}},
			cat(siteDrives("/sites/Finance"), siteDrives("/sites/HR"))},
		{"site glob, any case", DiscoverOptions{Sites: true, SiteGlobs: []string{"https://CONTOSO.sharepoint.com/*/fin*"}},
			siteDrives("/sites/Finance")},
		{"a glob on a personal site finds nothing", DiscoverOptions{Sites: true, SiteGlobs: []string{"https://contoso-my.sharepoint.com/**"}}, nil},
		{"root site", DiscoverOptions{Sites: true, SiteGlobs: []string{"https://contoso.sharepoint.com"}}, siteDrives("/")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Discover(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := keys(got), keys(tt.want); strings.Join(g, "\n") != strings.Join(w, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		})
	} // Personal sites are skipped before their libraries are read.
	for _, r := range tn.Requests() {
		if strings.HasPrefix(r.Path, "/v1.0/sites/contoso-my.sharepoint.com") {
			t.Errorf("discovery read a personal site: %s", r.Path)
		}
	}
}

func TestDiscoverPagesAndChanges(t *testing.T) {
	tn, users, _ := testTenant(t)
	c := tenantClient(t, tn, ClientOptions{})
	ctx := context.Background()
	opts := DiscoverOptions{Users: true, UserGlobs: []string{"*@contoso.com"}}
	first, err := c.Discover(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	// 11 users, 9 of them enabled members, 3 per page: 3 pages.
	var listings int
	for _, r := range tn.Requests() {
		if r.Path == "/v1.0/users" {
			listings++
			if !strings.Contains(r.Query, "accountEnabled") || !strings.Contains(r.Query, "userType") {
				t.Errorf("users listing without the member $filter/$select: %s", r.Query)
			}
		}
	}
	if listings != 3 {
		t.Errorf("%d listing pages, want 3", listings)
	}
	if len(first) != 2 {
		t.Fatalf("first discovery: %v", keys(first))
	}

	carol := users["carol@contoso.com"]
	tn.ProvisionDrive(carol)
	tn.RemoveUser(users["alice@contoso.com"])
	gina := tn.AddUser(graphtest.TenantUser{UPN: "gina@contoso.com"})
	second, err := c.Discover(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		key(TenantDrive{DriveID: tn.UserDrive(users["Bob@Contoso.com"]).DriveID(), DriveName: "OneDrive", Owner: "Bob@Contoso.com", Kind: KindUser}),
		key(TenantDrive{DriveID: tn.UserDrive(carol).DriveID(), DriveName: "OneDrive", Owner: "carol@contoso.com", Kind: KindUser}),
		key(TenantDrive{DriveID: tn.UserDrive(gina).DriveID(), DriveName: "OneDrive", Owner: "gina@contoso.com", Kind: KindUser}),
	}
	sort.Strings(want)
	if got := keys(second); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after changes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDiscoverFailures(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		fault  graphtest.Fault
		opts   DiscoverOptions
		status int // 0: discovery succeeds
	}{
		{"listing refused", "/users", graphtest.Fault{Status: http.StatusForbidden}, DiscoverOptions{Users: true}, http.StatusForbidden},
		{"one user's drive refused", "/users/", graphtest.Fault{Status: http.StatusForbidden}, DiscoverOptions{Users: true}, http.StatusForbidden},
		{"sites listing refused", "/sites", graphtest.Fault{Status: http.StatusForbidden}, DiscoverOptions{Sites: true}, http.StatusForbidden},
		{"a site gone before its libraries are read", "/sites/", graphtest.Fault{Status: http.StatusNotFound}, DiscoverOptions{Sites: true}, 0},
		{"a transient failure is retried", "/users", graphtest.Fault{Status: http.StatusBadGateway}, DiscoverOptions{Users: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn, _, _ := testTenant(t)
			c := tenantClient(t, tn, ClientOptions{})
			tn.InjectFault(tt.prefix, 1, tt.fault)
			got, err := c.Discover(context.Background(), tt.opts)
			var he *HTTPError
			switch {
			case tt.status == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tt.status == 0 && len(got) == 0:
				t.Fatal("found nothing")
			case tt.status != 0 && (!errors.As(err, &he) || he.Status != tt.status):
				t.Fatalf("error %v, want HTTP %d", err, tt.status)
			case tt.status != 0 && got != nil:
				t.Errorf("a failed discovery returned %d drives", len(got))
			}
		})
	}
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*@contoso.com", "Alice@Contoso.COM", true},
		{"*@contoso.com", "alice@contoso.com.evil", false},
		{"a?ice@contoso.com", "alice@contoso.com", false}, // '?' is literal
		{"alice@contoso.com", "alice@contoso.com", true},
		{"https://contoso.sharepoint.com/sites/*", "https://contoso.sharepoint.com/sites/Finance", true},
		{"https://contoso.sharepoint.com/sites/*", "https://contoso.sharepoint.com/sites/Finance/Sub", false},
		{"https://contoso.sharepoint.com/sites/**", "https://contoso.sharepoint.com/sites/Finance/Sub", true},
		{"https://contoso.sharepoint.com/*", "https://contoso.sharepoint.com/sites/Finance", false},
		{"https://*.sharepoint.com/sites/hr", "https://contoso.sharepoint.com/sites/HR", true},
		{"*", "https://contoso.sharepoint.com", false},
		{"**", "https://contoso.sharepoint.com", true},
		{"https://contoso.sharepoint.com/sites/*-archive", "https://contoso.sharepoint.com/sites/finance-archive", true},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := MatchGlob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("MatchGlob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestTenantScope(t *testing.T) {
	tests := []struct {
		spec, flow       string
		users, sites, ok bool
		checkErr         bool
	}{
		{"all-users", FlowClientCredentials, true, false, true, false},
		{" ALL-SITES ", FlowClientCredentials, false, true, true, false},
		{"all", FlowClientCredentials, true, true, true, false},
		{"all", "device", true, true, true, true},
		{"me", FlowClientCredentials, false, false, false, true},
	}
	for _, tt := range tests {
		u, s, ok := TenantScope(tt.spec)
		if u != tt.users || s != tt.sites || ok != tt.ok {
			t.Errorf("TenantScope(%q) = %v %v %v", tt.spec, u, s, ok)
		}
		if err := CheckTenantSpec(tt.spec, tt.flow, nil, nil); (err != nil) != tt.checkErr || (err != nil && !errors.Is(err, ErrBadConfig)) {
			t.Errorf("CheckTenantSpec(%q, %q) = %v", tt.spec, tt.flow, err)
		}
	}
	if err := CheckTenantSpec("all", FlowClientCredentials, []string{" "}, nil); err == nil {
		t.Error("an empty glob was accepted")
	}
}

func TestCheckTenant(t *testing.T) {
	tn, _, _ := testTenant(t)
	c := tenantClient(t, tn, ClientOptions{})
	if err := c.CheckTenant(context.Background(), true, true); err != nil {
		t.Fatal(err)
	}
	tn.InjectFault("/sites", 1, graphtest.Fault{Status: http.StatusForbidden})
	if err := c.CheckTenant(context.Background(), true, true); err == nil || !strings.Contains(err.Error(), "list sites") {
		t.Errorf("a refused site listing: %v", err)
	}
}
