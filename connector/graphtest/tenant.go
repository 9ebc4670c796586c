package graphtest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tenant is a fake Microsoft 365 tenant on one httptest server: users (members,
// guests, disabled accounts; with or without a OneDrive), SharePoint sites with
// their document libraries, and each user's personal site, listed by /sites as
// Graph lists it to an app. Every drive is a full Server (delta, faults, request
// log) reached through the tenant's URL. The tenant counts Graph requests per
// second of its clock and, when TenantOptions.RequestsPerSecond is set,
// throttles the whole tenant with 429 and Retry-After, as SharePoint does.
//
// Graph routes (under GraphURL) besides each drive's own (see Server):
//
//	GET /users[?$select=…&$filter=…&$top=…]        paged members, guests, disabled accounts
//	GET /users/{id or upn}/drive                   the user's OneDrive; 404 ResourceNotFound without one
//	GET /sites | /sites/getAllSites [?$top=…]      paged site collections, personal sites included
//	GET /sites/{id}/drives                         paged document libraries (a personal site: the OneDrive)
//	GET /sites/{id}/drive, /drives/{id}            one drive
//	GET /drives/{id}/…, /users/{id}/drive/…, /sites/{id}/drive/…  handled by that drive's Server
//
// $filter on /users understands clauses joined by "and": "userType eq 'X'",
// "accountEnabled eq true|false", and "userType ne 'X'" (an advanced query: it
// needs the header ConsistencyLevel: eventual and $count=true, else 400). Users
// carry userType and accountEnabled only when $select names them, as in Graph.
//
// Graph routes need a bearer token issued by the tenant (IssueAppToken,
// IssueToken or the token endpoint under LoginURL). The mutation methods are
// safe for concurrent use with requests; they panic on unknown ids.
type Tenant struct {
	// URL is the server's base URL.
	URL string

	ts    *httptest.Server
	front *Server // identity routes and bearer checks

	mu      sync.Mutex
	opts    TenantOptions
	seq     int
	users   []*tenantUser
	sites   []*tenantSite
	drives  map[string]*tenantDrive // by lower-case drive id
	faults  []*tenantFault
	rng     *rand.Rand    // ids when Seed is set
	seconds map[int64]int // Graph requests per clock second (Unix)

	logMu sync.Mutex
	log   []TenantRequest
}

// TenantOptions configures a Tenant.
type TenantOptions struct {
	// Domain names the tenant: UPNs end in "@<Domain>.onmicrosoft.com" unless
	// given, sites live under https://<Domain>.sharepoint.com and personal sites
	// under https://<Domain>-my.sharepoint.com/personal/. Default "contoso".
	Domain string
	// PageSize is the number of users, sites or drives per listing page when
	// the request has no $top (Graph: 100 users, 200 sites). Default 100; $top
	// overrides it, capped at 999.
	PageSize int
	// MaxTop is the largest page a $top gets. Default 999, as Graph; set it low
	// to make clients follow nextLinks.
	MaxTop int
	// RequestsPerSecond, when > 0, is the tenant's throttle: a Graph request
	// arriving when that many have already arrived in the same second of the
	// clock gets 429 with Retry-After (it still counts).
	RequestsPerSecond int
	// RetryAfter is the Retry-After of the tenant throttle, rounded up to whole
	// seconds. Default 1 s.
	RetryAfter time.Duration
	// Drive is the template of every drive's Options (DriveID and
	// AllowAnonymous are set by the tenant); its identity options (token
	// lifetimes, ClientSecret, StrictClients) configure the tenant's sign-in.
	Drive Options
	// InFlight is how long after a throttled answer a request of the same client is
	// taken as already on its way (sent before the client could read the answer), so that
	// RetryAfterViolations does not count it. Default 0: every request counts.
	InFlight time.Duration
	// Seed, when not 0, makes the ids of users, sites and drives the same on
	// every run (they are random otherwise).
	Seed int64
	// Now is the clock of the tenant, its sign-in and (unless Drive.Now is set)
	// its drives. Default time.Now. It must not call the Tenant.
	Now func() time.Time
}

// TenantUser describes a user to add.
type TenantUser struct {
	// UPN is the userPrincipalName; default "user<N>@<Domain>.onmicrosoft.com".
	UPN         string
	DisplayName string
	// Guest makes the userType "Guest" (default "Member").
	Guest bool
	// Disabled sets accountEnabled to false.
	Disabled bool
	// NoDrive leaves the user without a OneDrive (not provisioned, or no
	// licence): GET /users/{id}/drive answers 404 and no personal site is listed.
	NoDrive bool
}

// TenantRequest is one logged Graph request of the tenant.
type TenantRequest struct {
	Time       time.Time     // arrival (tenant clock)
	Done       time.Time     // answer written
	Path       string        // URL path
	Query      string        // raw query
	Status     int           // status answered
	RetryAfter time.Duration // Retry-After sent, 0 if none
	Client     string        // client id of the bearer token
	DriveID    string        // the drive the request was for, "" for listings
	Throttled  bool          // answered 429 by the tenant throttle (not by a drive's fault)
}

type tenantUser struct {
	id, upn, name   string
	guest, disabled bool
	removed         bool
	drive           *tenantDrive // nil: no OneDrive
	site            *tenantSite  // personal site, nil without a drive
}

type tenantSite struct {
	id, name, webURL string
	personal         bool
	removed          bool
	drives           []*tenantDrive
}

type tenantDrive struct {
	srv       *Server
	name      string
	webURL    string
	driveType string
	owner     string // user id or site id
	ownerName string
	user      bool
	removed   bool
}

type tenantFault struct {
	prefix string
	left   int
	fault  Fault
}

const maxListPage = 999

func (o TenantOptions) withDefaults() TenantOptions {
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.MaxTop <= 0 || o.MaxTop > maxListPage {
		o.MaxTop = maxListPage
	}
	o.PageSize = min(o.PageSize, o.MaxTop)
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	return o
}

// NewTenant starts an empty fake tenant. Close it when done.
func NewTenant(opts TenantOptions) *Tenant {
	if opts.Domain == "" {
		opts.Domain = "contoso"
	}
	opts = opts.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Drive.Now == nil {
		opts.Drive.Now = opts.Now
	}
	t := &Tenant{opts: opts, drives: map[string]*tenantDrive{}, seconds: map[int64]int{}}
	if opts.Seed != 0 {
		t.rng = rand.New(rand.NewPCG(uint64(opts.Seed), 0x7e1a47))
	}
	frontOpts := opts.Drive
	frontOpts.AllowAnonymous = false
	t.front = newServer(frontOpts)
	t.ts = httptest.NewServer(t)
	t.URL = t.ts.URL
	t.front.ts, t.front.URL = t.ts, t.URL
	return t
}

// Close shuts the server down.
func (t *Tenant) Close() { t.ts.Close() }

// Client returns an HTTP client for the server.
func (t *Tenant) Client() *http.Client { return t.ts.Client() }

// GraphURL returns "<URL>/v1.0".
func (t *Tenant) GraphURL() string { return t.URL + "/v1.0" }

// LoginURL returns the sign-in root, as Server.LoginURL.
func (t *Tenant) LoginURL() string { return t.URL }

// IssueAppToken returns an app-only access token for DefaultClientID.
func (t *Tenant) IssueAppToken() string { return t.front.IssueAppToken() }

// IssueToken returns a delegated access token for DefaultClientID.
func (t *Tenant) IssueToken() string { return t.front.IssueToken() }

// Identity returns the Server that answers the tenant's sign-in routes, for
// its identity methods (AddClient, ExpireAccessTokens, faults on ClassIdentity).
func (t *Tenant) Identity() *Server { return t.front }

// Configure changes the tenant's options while it runs (Drive applies only to
// drives created afterwards); fn runs with the tenant locked.
func (t *Tenant) Configure(fn func(*TenantOptions)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o := t.opts
	fn(&o)
	o.Domain, o.Now = t.opts.Domain, t.opts.Now
	t.opts = o.withDefaults()
}

// InjectFault makes the next n Graph requests that the tenant answers itself
// (listings and drive resources, not the routes below a drive, which take
// the drive's own faults) and whose path after /v1.0 starts with prefix, e.g.
// "/users" or "/sites/", fail with f. Status 0 faults only delay or hang up.
func (t *Tenant) InjectFault(prefix string, n int, f Fault) {
	if n <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.faults = append(t.faults, &tenantFault{prefix: prefix, left: n, fault: f})
}

// takeFault pops the first fault whose prefix matches path (after /v1.0).
func (t *Tenant) takeFault(path string) *Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, q := range t.faults {
		if !strings.HasPrefix(path, q.prefix) {
			continue
		}
		f := q.fault
		q.left--
		if q.left <= 0 {
			t.faults = append(t.faults[:k:k], t.faults[k+1:]...)
		}
		return &f
	}
	return nil
}

// AddUser adds a user and returns its id. A user with a drive also gets a
// personal site, listed by /sites.
func (t *Tenant) AddUser(u TenantUser) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	tu := &tenantUser{id: t.guidLocked(), upn: u.UPN, name: u.DisplayName, guest: u.Guest, disabled: u.Disabled}
	if tu.upn == "" {
		tu.upn = fmt.Sprintf("user%d@%s.onmicrosoft.com", t.seq, t.opts.Domain)
	}
	if tu.name == "" {
		tu.name, _, _ = strings.Cut(tu.upn, "@")
	}
	if !u.NoDrive {
		t.provisionLocked(tu)
	}
	t.users = append(t.users, tu)
	return tu.id
}

// provisionLocked creates the user's OneDrive and personal site.
func (t *Tenant) provisionLocked(tu *tenantUser) {
	slug := strings.NewReplacer("@", "_", ".", "_").Replace(strings.ToLower(tu.upn))
	web := "https://" + t.opts.Domain + "-my.sharepoint.com/personal/" + slug
	site := &tenantSite{id: t.siteIDLocked(t.opts.Domain + "-my.sharepoint.com"), name: tu.name, webURL: web, personal: true}
	d := t.newDriveLocked("OneDrive", web+"/Documents", "business", tu.id, tu.name, true)
	site.drives = []*tenantDrive{d}
	tu.drive, tu.site = d, site
	t.sites = append(t.sites, site)
}

// ProvisionDrive gives a user without a OneDrive one (as when a licence is
// assigned) and returns its drive.
func (t *Tenant) ProvisionDrive(userID string) *Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	tu := t.userLocked("ProvisionDrive", userID)
	if tu.drive == nil {
		t.provisionLocked(tu)
	}
	return tu.drive.srv
}

// RemoveUser deletes a user: it leaves the /users listing and /users/{id}
// answers 404, and its personal site leaves /sites. Its drive stays reachable
// by id (Graph keeps a departed user's OneDrive for a retention period).
func (t *Tenant) RemoveUser(userID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tu := t.userLocked("RemoveUser", userID)
	tu.removed = true
	if tu.site != nil {
		tu.site.removed = true
	}
}

// UserDrive returns the OneDrive of a user, or nil if it has none.
func (t *Tenant) UserDrive(userID string) *Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.userLocked("UserDrive", userID).drive; d != nil {
		return d.srv
	}
	return nil
}

// AddSite adds a site collection at path (e.g. "/sites/Finance", "/" for the
// root site) with a document library per name in libraries (none is valid),
// and returns the site id ("<host>,<guid>,<guid>").
func (t *Tenant) AddSite(path, displayName string, libraries ...string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	host := t.opts.Domain + ".sharepoint.com"
	web := "https://" + host + strings.TrimRight(path, "/")
	if displayName == "" {
		displayName = path[strings.LastIndexByte(path, '/')+1:]
	}
	site := &tenantSite{id: t.siteIDLocked(host), name: displayName, webURL: web}
	for _, lib := range libraries {
		t.addLibraryLocked(site, lib)
	}
	t.sites = append(t.sites, site)
	return site.id
}

// AddLibrary adds a document library to a site and returns its drive.
func (t *Tenant) AddLibrary(siteID, name string) *Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addLibraryLocked(t.siteLocked("AddLibrary", siteID), name).srv
}

func (t *Tenant) addLibraryLocked(site *tenantSite, name string) *tenantDrive {
	d := t.newDriveLocked(name, libraryURL(site.webURL, name), "documentLibrary", site.id, site.name, false)
	site.drives = append(site.drives, d)
	return d
}

// RemoveSite deletes a site: it leaves /sites and its libraries answer 404.
func (t *Tenant) RemoveSite(siteID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	site := t.siteLocked("RemoveSite", siteID)
	site.removed = true
	for _, d := range site.drives {
		d.removed = true
	}
}

// SiteDrives returns the drives of a site's libraries in creation order.
func (t *Tenant) SiteDrives(siteID string) []*Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*Server
	for _, d := range t.siteLocked("SiteDrives", siteID).drives {
		out = append(out, d.srv)
	}
	return out
}

// Drive returns a drive by id (case-insensitive), or nil.
func (t *Tenant) Drive(driveID string) *Server {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.drives[strings.ToLower(driveID)]; d != nil {
		return d.srv
	}
	return nil
}

// DriveIDs returns the ids of every drive ever created, sorted.
func (t *Tenant) DriveIDs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]string, 0, len(t.drives))
	for _, d := range t.drives {
		ids = append(ids, d.srv.driveID)
	}
	sort.Strings(ids)
	return ids
}

func (t *Tenant) userLocked(op, id string) *tenantUser {
	for _, u := range t.users {
		if u.id == id {
			return u
		}
	}
	panic(fmt.Sprintf("graphtest: %s: no user %q", op, id))
}

func (t *Tenant) siteLocked(op, id string) *tenantSite {
	for _, s := range t.sites {
		if s.id == id {
			return s
		}
	}
	panic(fmt.Sprintf("graphtest: %s: no site %q", op, id))
}

func (t *Tenant) siteIDLocked(host string) string {
	return host + "," + t.guidLocked() + "," + t.guidLocked()
}

// bytesLocked returns n random bytes, from the seeded source when Seed is set.
func (t *Tenant) bytesLocked(n int) []byte {
	if t.rng == nil {
		return randomBytes(n)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(t.rng.Uint32())
	}
	return b
}

func (t *Tenant) guidLocked() string { return formatGUID(t.bytesLocked(16)) }

// newDriveLocked creates a drive Server that answers through the tenant.
func (t *Tenant) newDriveLocked(name, webURL, driveType, owner, ownerName string, user bool) *tenantDrive {
	o := t.opts.Drive
	o.DriveID = "b!" + base64.RawURLEncoding.EncodeToString(t.bytesLocked(48))
	o.Personal = false
	o.AllowAnonymous = true
	s := newServer(o)
	s.ts, s.URL = t.ts, t.URL
	d := &tenantDrive{srv: s, name: name, webURL: webURL, driveType: driveType, owner: owner, ownerName: ownerName, user: user}
	t.drives[strings.ToLower(s.driveID)] = d
	return d
}

// PerSecond returns how many Graph requests arrived in each second of the
// tenant's clock (Unix seconds), throttled ones included.
func (t *Tenant) PerSecond() map[int64]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[int64]int, len(t.seconds))
	for k, v := range t.seconds {
		out[k] = v
	}
	return out
}

// MaxPerSecond returns the largest number of Graph requests that arrived in
// one second of the tenant's clock.
func (t *Tenant) MaxPerSecond() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := 0
	for _, v := range t.seconds {
		m = max(m, v)
	}
	return m
}

// Requests returns a copy of the log of Graph requests, in answer order.
func (t *Tenant) Requests() []TenantRequest {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	return append([]TenantRequest(nil), t.log...)
}

// ResetRequests empties the request log and the per-second counters.
func (t *Tenant) ResetRequests() {
	t.logMu.Lock()
	t.log = nil
	t.logMu.Unlock()
	t.mu.Lock()
	t.seconds = map[int64]int{}
	t.mu.Unlock()
}

// RetryAfterViolations returns every Graph request, to any drive or listing,
// that arrived while a Retry-After window was open for its client id: after a
// 429 or 503 with Retry-After had been answered for any request of the tenant
// (plus TenantOptions.InFlight) and before that many seconds had passed since that
// request arrived (requests answered before the throttled one never count). A client
// that pauses all its requests on any Retry-After gets an empty result.
func (t *Tenant) RetryAfterViolations() []TenantRequest {
	grace := t.Options().InFlight
	t.logMu.Lock()
	defer t.logMu.Unlock()
	var throttles []int
	for k, e := range t.log {
		if e.RetryAfter > 0 && (e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable) {
			throttles = append(throttles, k)
		}
	}
	var out []TenantRequest
	for k, e := range t.log {
		for _, j := range throttles {
			r := t.log[j]
			if j < k && r.Client == e.Client && !e.Time.Before(r.Done.Add(grace)) && e.Time.Before(r.Time.Add(r.RetryAfter)) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func (t *Tenant) record(e TenantRequest) {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	if len(t.log) >= maxLog {
		t.log = append(t.log[:0], t.log[maxLog/2:]...)
	}
	t.log = append(t.log, e)
}
