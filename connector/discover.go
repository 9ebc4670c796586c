package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Tenant-wide drive specs: the values of [instance.drive].drive that make an instance watch
// every user's OneDrive ("all-users"), every document library of every site ("all-sites"), or
// both ("all"). They need flow client_credentials.
const (
	DriveAllUsers = "all-users"
	DriveAllSites = "all-sites"
	DriveAll      = "all"
)

// Kinds of a discovered drive.
const (
	KindUser = "user" // a user's OneDrive
	KindSite = "site" // a document library of a SharePoint site
)

// TenantDrive is one drive found by Discover.
type TenantDrive struct {
	DriveID   string // Graph drive id
	DriveName string // the drive's name: "OneDrive" for a user, the library's name for a site
	Owner     string // the user's userPrincipalName, or the site's webUrl
	Kind      string // KindUser or KindSite
}

// DiscoverOptions says which drives Discover returns.
type DiscoverOptions struct {
	// Users and Sites select the users' OneDrives and the sites' document libraries.
	Users, Sites bool
	// UserGlobs filter users by userPrincipalName, SiteGlobs filter sites by webUrl; empty
	// keeps all. See MatchGlob.
	UserGlobs, SiteGlobs []string
	// Concurrency is how many per-user and per-site requests run at once; default 4. The
	// requests go through the Client, so its Budget and throttling gate still apply.
	Concurrency int
}

// TenantScope reads a drive spec: it reports whether spec is one of the tenant-wide values
// and which drives it selects. Case and surrounding spaces are ignored.
func TenantScope(spec string) (users, sites, ok bool) {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case DriveAllUsers:
		return true, false, true
	case DriveAllSites:
		return false, true, true
	case DriveAll:
		return true, true, true
	}
	return false, false, false
}

// CheckTenantSpec reports whether a tenant-wide drive spec can work with a flow and globs:
// discovery reads the whole directory, which only an app (client_credentials) may do.
func CheckTenantSpec(spec, flow string, userGlobs, siteGlobs []string) error {
	if _, _, ok := TenantScope(spec); !ok {
		return fmt.Errorf("%w: drive = %q is not %q, %q or %q", ErrBadConfig, spec, DriveAllUsers, DriveAllSites, DriveAll)
	}
	if flow != FlowClientCredentials {
		return fmt.Errorf("%w: drive = %q reads every user and site of the tenant, which needs flow = %q", ErrBadConfig, spec, FlowClientCredentials)
	}
	for _, g := range append(append([]string(nil), userGlobs...), siteGlobs...) {
		if strings.TrimSpace(g) == "" {
			return fmt.Errorf("%w: an empty glob in users or sites", ErrBadConfig)
		}
	}
	return nil
}

// MatchGlob reports whether s matches pattern, ignoring case. '*' matches any run of
// characters except '/', '**' any run including '/'; every other character matches itself.
// On a userPrincipalName (no '/') '*' matches anything; on a site's webUrl
// "https://contoso.sharepoint.com/sites/*" matches the sites directly under /sites.
func MatchGlob(pattern, s string) bool {
	return globFold(strings.ToLower(pattern), strings.ToLower(s))
}

// globFold matches with backtracking over the last star; p and s are already lower case.
func globFold(p, s string) bool {
	for len(p) > 0 {
		if !strings.HasPrefix(p, "*") {
			if len(s) == 0 || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
			continue
		}
		deep := strings.HasPrefix(p, "**")
		p = strings.TrimLeft(p, "*")
		for i := 0; i <= len(s); i++ {
			if globFold(p, s[i:]) {
				return true
			}
			if i < len(s) && s[i] == '/' && !deep {
				return false
			}
		}
		return false
	}
	return len(s) == 0
}

// matchAny reports whether s matches one of globs, or globs is empty.
func matchAny(globs []string, s string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if MatchGlob(g, s) {
			return true
		}
	}
	return false
}

// maxListingPages bounds one listing, so a nextLink that never ends cannot loop forever.
const maxListingPages = 100000

// memberFilter asks Graph for enabled members only; both properties must also be in $select,
// because Graph does not return them by default and Discover checks them again.
const memberFilter = "userType eq 'Member' and accountEnabled eq true"

// Discover lists the drives of the tenant that opts selects: with Users, the OneDrive of every
// enabled member (guests and disabled accounts are skipped) whose userPrincipalName matches
// UserGlobs; with Sites, every document library of every site whose webUrl matches SiteGlobs.
// Personal sites are never listed as sites: a OneDrive is its user's drive. A user without a
// OneDrive, a user or site removed while Discover runs, and a site without libraries are
// normal and simply not listed. Any other failure fails the whole discovery, so that a caller
// never takes a drive it could not see for one that is gone. Each drive appears once, users'
// drives first, in Graph's order. Every request goes through the Client (budget, throttling,
// retries).
func (c *Client) Discover(ctx context.Context, opts DiscoverOptions) ([]TenantDrive, error) {
	workers := opts.Concurrency
	if workers <= 0 {
		workers = 4
	}
	var out []TenantDrive
	if opts.Users {
		ds, err := c.discoverUsers(ctx, opts.UserGlobs, workers)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	if opts.Sites {
		ds, err := c.discoverSites(ctx, opts.SiteGlobs, workers)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	seen := make(map[string]bool, len(out))
	uniq := out[:0]
	for _, d := range out {
		k := strings.ToLower(d.DriveID)
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, d)
		}
	}
	return uniq, nil
}

type graphUser struct {
	ID             string `json:"id"`
	UPN            string `json:"userPrincipalName"`
	UserType       string `json:"userType"`
	AccountEnabled *bool  `json:"accountEnabled"`
}

type graphSite struct {
	ID             string `json:"id"`
	WebURL         string `json:"webUrl"`
	IsPersonalSite bool   `json:"isPersonalSite"`
}

func (c *Client) discoverUsers(ctx context.Context, globs []string, workers int) ([]TenantDrive, error) {
	q := url.Values{
		"$select": {"id,userPrincipalName,userType,accountEnabled"},
		"$filter": {memberFilter},
		"$top":    {"999"},
	}
	var users []graphUser
	err := c.list(ctx, c.graph+"/users?"+q.Encode(), func(raw json.RawMessage) error {
		var u graphUser
		if err := json.Unmarshal(raw, &u); err != nil {
			return err
		}
		// Graph applied the filter; checking again keeps guests out should it not have.
		if u.ID != "" && strings.EqualFold(u.UserType, "Member") && u.AccountEnabled != nil && *u.AccountEnabled &&
			matchAny(globs, u.UPN) {
			users = append(users, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover users: %w", err)
	}
	found := make([]*TenantDrive, len(users))
	err = parallel(ctx, len(users), workers, func(i int) error {
		u := users[i]
		body, err := c.get(ctx, "discover", c.graph+"/users/"+escapeSegment(u.ID)+"/drive?$select=id,name,driveType")
		if noDrive(err) {
			c.log.Debug("user has no OneDrive, skipped until the next discovery", "user", u.UPN)
			return nil
		}
		if err != nil {
			return fmt.Errorf("drive of user %s: %w", u.UPN, err)
		}
		var d DriveInfo
		if err := json.Unmarshal(body, &d); err != nil || d.ID == "" {
			return fmt.Errorf("drive of user %s: Graph answered without a drive id", u.UPN)
		}
		found[i] = &TenantDrive{DriveID: d.ID, DriveName: d.Name, Owner: u.UPN, Kind: KindUser}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover users: %w", err)
	}
	return compact(found), nil
}

func (c *Client) discoverSites(ctx context.Context, globs []string, workers int) ([]TenantDrive, error) {
	var sites []graphSite
	err := c.list(ctx, c.graph+"/sites?$select=id,webUrl,isPersonalSite", func(raw json.RawMessage) error {
		var s graphSite
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if s.ID != "" && s.WebURL != "" && !personalSite(s) && matchAny(globs, s.WebURL) {
			sites = append(sites, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover sites: %w", err)
	}
	found := make([][]TenantDrive, len(sites))
	err = parallel(ctx, len(sites), workers, func(i int) error {
		s := sites[i]
		drives, err := c.siteDrives(ctx, s.ID)
		if notFound(err) {
			c.log.Debug("site vanished during discovery, skipped", "site", s.WebURL)
			return nil
		}
		if err != nil {
			return fmt.Errorf("libraries of site %s: %w", s.WebURL, err)
		}
		for _, d := range drives {
			if d.ID != "" && (d.DriveType == "" || d.DriveType == "documentLibrary") {
				found[i] = append(found[i], TenantDrive{DriveID: d.ID, DriveName: d.Name, Owner: s.WebURL, Kind: KindSite})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover sites: %w", err)
	}
	var out []TenantDrive
	for _, ds := range found {
		out = append(out, ds...)
	}
	return out, nil
}

// personalSite reports whether a site is a user's OneDrive site: Graph says so, or its webUrl
// lies under /personal/ (https://contoso-my.sharepoint.com/personal/alice_contoso_com).
func personalSite(s graphSite) bool {
	if s.IsPersonalSite {
		return true
	}
	u, err := url.Parse(s.WebURL)
	if err != nil {
		return false
	}
	return strings.HasPrefix(strings.ToLower(u.Path), "/personal/")
}

// list follows a Graph collection from link through its nextLinks and calls fn for each value.
func (c *Client) list(ctx context.Context, link string, fn func(json.RawMessage) error) error {
	seen := map[string]bool{}
	for pages := 0; link != ""; pages++ {
		if seen[link] || pages >= maxListingPages {
			return fmt.Errorf("listing nextLink loop at %s", link)
		}
		seen[link] = true
		body, err := c.get(ctx, "discover", link)
		if err != nil {
			return err
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("decode listing: %w", err)
		}
		for _, v := range page.Value {
			if err := fn(v); err != nil {
				return fmt.Errorf("decode listing: %w", err)
			}
		}
		link = page.NextLink
	}
	return nil
}

// notFound reports a 404: the user or site is gone.
func notFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

// noDrive reports the answers Graph gives for a user without a usable OneDrive: 404 (never
// provisioned, or the user left), or the "mysite" and licence refusals.
func noDrive(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) {
		return false
	}
	if he.Status == http.StatusNotFound {
		return true
	}
	m := strings.ToLower(he.Message)
	return strings.Contains(m, "mysite not found") || strings.Contains(m, "unable to retrieve user's mysite url") ||
		strings.Contains(m, "does not have a spo license")
}

// parallel runs fn(0…n-1) on up to workers goroutines and returns the first error; after an
// error no new call starts.
func parallel(ctx context.Context, n, workers int, fn func(int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errOnce.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func compact(ds []*TenantDrive) []TenantDrive {
	var out []TenantDrive
	for _, d := range ds {
		if d != nil {
			out = append(out, *d)
		}
	}
	return out
}

// CheckTenant makes the smallest requests that prove the app may list what a tenant-wide
// instance discovers: one user (for users) and one site (for sites). `check --online` uses it.
func (c *Client) CheckTenant(ctx context.Context, users, sites bool) error {
	if users {
		if _, err := c.get(ctx, "discover", c.graph+"/users?$select=id&$top=1"); err != nil {
			return fmt.Errorf("list users: %w", err)
		}
	}
	if sites {
		if _, err := c.get(ctx, "discover", c.graph+"/sites?$select=id&$top=1"); err != nil {
			return fmt.Errorf("list sites: %w", err)
		}
	}
	return nil
}
