package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// listing is a decoded Graph collection page.
type listing struct {
	Value []map[string]any `json:"value"`
	Next  string           `json:"@odata.nextLink"`
}

// listAll follows a listing's nextLinks and returns every value and the page count.
func listAll(t *testing.T, start, token string, hdr ...string) ([]map[string]any, int) {
	t.Helper()
	var out []map[string]any
	u := start
	for pages := 1; pages < 1000; pages++ {
		resp, b := get(t, u, token, hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		var l listing
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("decode %s: %v", u, err)
		}
		out = append(out, l.Value...)
		if l.Next == "" {
			return out, pages
		}
		u = l.Next
	}
	t.Fatal("listing never ended")
	return nil, 0
}

func strs(vals []map[string]any, key string) []string {
	var out []string
	for _, v := range vals {
		s, _ := v[key].(string)
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func TestTenantUsers(t *testing.T) {
	tn := NewTenant(TenantOptions{PageSize: 2})
	defer tn.Close()
	tok := tn.IssueAppToken()
	for _, u := range []TenantUser{
		{UPN: "alice@contoso.com"}, {UPN: "bob@contoso.com"}, {UPN: "carol@contoso.com", NoDrive: true},
		{UPN: "guest_fabrikam.com#EXT#@contoso.com", Guest: true}, {UPN: "old@contoso.com", Disabled: true},
		{UPN: "dave@contoso.com"},
	} {
		tn.AddUser(u)
	}
	members := url.Values{
		"$select": {"id,userPrincipalName,userType,accountEnabled"},
		"$filter": {"userType eq 'Member' and accountEnabled eq true"},
	}
	tests := []struct {
		name    string
		query   url.Values
		hdr     []string
		want    []string
		hasType bool
	}{
		{"all", nil, nil, []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com",
			"guest_fabrikam.com#EXT#@contoso.com", "old@contoso.com"}, false},
		{"members", members, nil, []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com"}, true},
		{"advanced ne", url.Values{"$filter": {"userType ne 'Guest'"}, "$count": {"true"}},
			[]string{"ConsistencyLevel", "eventual"},
			[]string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com", "dave@contoso.com", "old@contoso.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, pages := listAll(t, tn.GraphURL()+"/users?"+tt.query.Encode(), tok, tt.hdr...)
			if got := strs(vals, "userPrincipalName"); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("users = %v, want %v", got, tt.want)
			}
			if want := (len(tt.want) + 1) / 2; pages != want {
				t.Errorf("%d pages, want %d (page size 2)", pages, want)
			}
			if _, ok := vals[0]["userType"]; ok != tt.hasType {
				t.Errorf("userType present = %v, want %v (only when selected)", ok, tt.hasType)
			}
		})
	}

	resp, b := get(t, tn.GraphURL()+"/users?$filter="+url.QueryEscape("userType ne 'Guest'"), tok)
	if resp.StatusCode != http.StatusBadRequest || decodeGraphErr(t, b).Error.Code != "Request_UnsupportedQuery" {
		t.Errorf("ne without ConsistencyLevel: %d %s, want 400 Request_UnsupportedQuery", resp.StatusCode, b)
	}
	if resp, _ := get(t, tn.GraphURL()+"/users", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
}

func TestTenantUserDrive(t *testing.T) {
	tn := NewTenant(TenantOptions{})
	defer tn.Close()
	tok := tn.IssueAppToken()
	alice := tn.AddUser(TenantUser{UPN: "alice@contoso.com"})
	carol := tn.AddUser(TenantUser{UPN: "carol@contoso.com", NoDrive: true})
	gone := tn.AddUser(TenantUser{UPN: "gone@contoso.com"})
	goneDrive := tn.UserDrive(gone).DriveID()
	tn.RemoveUser(gone)

	resp, b := get(t, tn.GraphURL()+"/users/"+alice+"/drive", tok)
	var d map[string]any
	_ = json.Unmarshal(b, &d)
	if resp.StatusCode != 200 || d["id"] != tn.UserDrive(alice).DriveID() || d["driveType"] != "business" {
		t.Fatalf("alice's drive: %d %s", resp.StatusCode, b)
	}
	if resp, _ := get(t, tn.GraphURL()+"/users/ALICE@contoso.com/drive", tok); resp.StatusCode != 200 {
		t.Errorf("drive by UPN: %d", resp.StatusCode)
	}
	resp, b = get(t, tn.GraphURL()+"/users/"+carol+"/drive", tok)
	if resp.StatusCode != http.StatusNotFound || decodeGraphErr(t, b).Error.Code != "ResourceNotFound" {
		t.Errorf("user without a OneDrive: %d %s, want 404 ResourceNotFound", resp.StatusCode, b)
	}
	if resp, _ := get(t, tn.GraphURL()+"/users/"+gone+"/drive", tok); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed user: %d, want 404", resp.StatusCode)
	}
	if resp, _ := get(t, tn.GraphURL()+"/drives/"+goneDrive, tok); resp.StatusCode != 200 {
		t.Errorf("a removed user's drive by id: %d, want 200 (retained)", resp.StatusCode)
	}
	if tn.UserDrive(carol) != nil {
		t.Error("carol has a drive")
	}
	srv := tn.ProvisionDrive(carol)
	if resp, _ := get(t, tn.GraphURL()+"/users/"+carol+"/drive", tok); resp.StatusCode != 200 || srv == nil {
		t.Errorf("after provisioning: %d", resp.StatusCode)
	}
}

func TestTenantSites(t *testing.T) {
	tn := NewTenant(TenantOptions{PageSize: 3})
	defer tn.Close()
	tok := tn.IssueAppToken()
	tn.AddUser(TenantUser{UPN: "alice@contoso.com"})
	tn.AddUser(TenantUser{UPN: "carol@contoso.com", NoDrive: true})
	fin := tn.AddSite("/sites/Finance", "Finance", "Documents", "Invoices", "Archive", "Old")
	empty := tn.AddSite("/sites/Empty", "Empty")
	hr := tn.AddSite("/sites/HR", "HR", "Documents")
	tn.RemoveSite(hr)

	for _, path := range []string{"/sites", "/sites/getAllSites", "/sites?search=*"} {
		vals, _ := listAll(t, tn.GraphURL()+path, tok)
		webs := strs(vals, "webUrl")
		want := []string{"https://contoso-my.sharepoint.com/personal/alice_contoso_com",
			"https://contoso.sharepoint.com/sites/Empty", "https://contoso.sharepoint.com/sites/Finance"}
		if strings.Join(webs, " ") != strings.Join(want, " ") {
			t.Errorf("%s: %v, want %v (personal site listed, removed site not)", path, webs, want)
		}
		for _, v := range vals {
			if personal := strings.Contains(v["webUrl"].(string), "/personal/"); v["isPersonalSite"] != personal {
				t.Errorf("%s: isPersonalSite %v", v["webUrl"], v["isPersonalSite"])
			}
		}
	}
	libs, pages := listAll(t, tn.GraphURL()+"/sites/"+fin+"/drives", tok)
	if got := strs(libs, "name"); strings.Join(got, ",") != "Archive,Documents,Invoices,Old" || pages != 2 {
		t.Errorf("Finance libraries %v in %d pages", got, pages)
	}
	if libs[0]["driveType"] != "documentLibrary" || libs[0]["webUrl"] != "https://contoso.sharepoint.com/sites/Finance/Documents" {
		t.Errorf("library: %v", libs[0])
	}
	if vals, _ := listAll(t, tn.GraphURL()+"/sites/"+empty+"/drives", tok); len(vals) != 0 {
		t.Errorf("site without libraries lists %v", vals)
	}
	if resp, _ := get(t, tn.GraphURL()+"/sites/"+hr+"/drives", tok); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed site: %d", resp.StatusCode)
	}
}

func TestTenantDriveDelta(t *testing.T) {
	tn := NewTenant(TenantOptions{Drive: Options{PageSize: 2}})
	defer tn.Close()
	tok := tn.IssueAppToken()
	site := tn.AddSite("/sites/Finance", "", "Documents")
	lib := tn.SiteDrives(site)[0]
	smallTree(lib)

	items, deltaLink, pages := deltaRound(t, tn.GraphURL()+"/drives/"+lib.DriveID()+"/root/delta", tok)
	if len(items) != 8 || pages != 4 || !strings.HasPrefix(deltaLink, tn.URL+"/v1.0/drives/") {
		t.Fatalf("%d items in %d pages, deltaLink %s", len(items), pages, deltaLink)
	}
	items, _, _ = deltaRound(t, deltaLink, tok)
	if len(items) != 0 {
		t.Errorf("unchanged drive: %d items", len(items))
	}
	if got := lib.Count(ClassDelta, 200); got != 5 {
		t.Errorf("drive logged %d delta requests, want 5", got)
	}
	for _, e := range tn.Requests() {
		if e.DriveID != lib.DriveID() {
			t.Errorf("request %s logged for drive %q", e.Path, e.DriveID)
		}
	}
}

func TestTenantThrottle(t *testing.T) {
	clk := newClock()
	tn := NewTenant(TenantOptions{RequestsPerSecond: 3, RetryAfter: 2 * time.Second, Now: clk.Now})
	defer tn.Close()
	tok := tn.IssueAppToken()
	var statuses []int
	for range 5 {
		resp, _ := get(t, tn.GraphURL()+"/users", tok)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("429 with Retry-After %q, want 2", resp.Header.Get("Retry-After"))
		}
	}
	clk.Advance(time.Second)
	resp, _ := get(t, tn.GraphURL()+"/users", tok)
	statuses = append(statuses, resp.StatusCode)
	if got := statuses; got[2] != 200 || got[3] != 429 || got[4] != 429 || got[5] != 200 {
		t.Errorf("statuses %v, want 200 200 200 429 429 200", got)
	}
	ps := tn.PerSecond()
	if sec := clk.Now().Unix(); ps[sec-1] != 5 || ps[sec] != 1 || tn.MaxPerSecond() != 5 {
		t.Errorf("per second %v", ps)
	}
	if v := tn.RetryAfterViolations(); len(v) != 2 {
		t.Errorf("%d violations, want 2 (the request after the first 429, and the one a second later inside 2 s)", len(v))
	}
}

func TestTenantRetryAfterOnOneDrive(t *testing.T) {
	tn := NewTenant(TenantOptions{})
	defer tn.Close()
	tok := tn.IssueAppToken()
	a := tn.UserDrive(tn.AddUser(TenantUser{}))
	b := tn.UserDrive(tn.AddUser(TenantUser{}))
	a.FailNextWith(http.StatusTooManyRequests, 30*time.Second, "")
	if resp, _ := get(t, tn.GraphURL()+"/drives/"+a.DriveID()+"/root/delta", tok); resp.StatusCode != 429 {
		t.Fatalf("drive a: %d, want the injected 429", resp.StatusCode)
	}
	if v := tn.RetryAfterViolations(); len(v) != 0 {
		t.Fatalf("violations before any other request: %v", v)
	}
	get(t, tn.GraphURL()+"/drives/"+b.DriveID()+"/root/delta", tok)
	v := tn.RetryAfterViolations()
	if len(v) != 1 || v[0].DriveID != b.DriveID() {
		t.Errorf("violations %+v, want the request to drive b", v)
	}
	if len(b.RetryAfterViolations()) != 0 {
		t.Error("drive b alone saw no throttling; its own log must not report one")
	}
}

func TestTenantSeed(t *testing.T) {
	build := func(seed int64) []string {
		tn := NewTenant(TenantOptions{Seed: seed})
		defer tn.Close()
		u := tn.AddUser(TenantUser{})
		s := tn.AddSite("/sites/a", "", "Documents")
		return append([]string{u, s}, tn.DriveIDs()...)
	}
	a, b, c := build(7), build(7), build(8)
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("the same seed gave %v and %v", a, b)
	}
	if strings.Join(a, " ") == strings.Join(c, " ") {
		t.Error("different seeds gave the same ids")
	}
}

func TestTenantInFlight(t *testing.T) {
	clk := newClock()
	tn := NewTenant(TenantOptions{Now: clk.Now, InFlight: 100 * time.Millisecond})
	defer tn.Close()
	tok := tn.IssueAppToken()
	a := tn.UserDrive(tn.AddUser(TenantUser{}))
	a.FailNextWith(http.StatusTooManyRequests, 2*time.Second, "")
	get(t, tn.GraphURL()+"/drives/"+a.DriveID()+"/root/delta", tok)
	clk.Advance(50 * time.Millisecond)
	get(t, tn.GraphURL()+"/users", tok) // on its way when the 429 was answered
	if v := tn.RetryAfterViolations(); len(v) != 0 {
		t.Errorf("a request within InFlight counted: %v", v)
	}
	clk.Advance(100 * time.Millisecond)
	get(t, tn.GraphURL()+"/users", tok)
	if v := tn.RetryAfterViolations(); len(v) != 1 {
		t.Errorf("%d violations, want the request after InFlight", len(v))
	}
}
