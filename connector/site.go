package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// DriveInfo describes a drive (a document library) of a SharePoint site.
type DriveInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	WebURL    string `json:"webUrl"`
	DriveType string `json:"driveType"`
}

// siteRef is a site named in a drive spec: by id (site:<site id>), by host and
// server-relative path (site:<host>:/sites/X), or by a URL (a site's or a library's).
type siteRef struct {
	id   string   // site id, or a hostname for its root site
	host string   // with segs: path-based addressing
	segs []string // decoded path segments of the URL or the site path
	url  *url.URL // the library or site URL given, nil for site: forms
}

// parseSiteSpec reads the site forms of a drive spec; ok is false for the other forms.
func parseSiteSpec(spec string) (siteRef, bool, error) {
	s := strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(s, "site:"); ok {
		rest = strings.TrimSpace(rest)
		host, path, byPath := strings.Cut(rest, ":")
		if byPath && strings.HasSuffix(path, ":") && strings.HasPrefix(path, "/") {
			// Graph's own syntax, site:<host>:/sites/NAME: — addressed as given.
			return siteRef{id: rest}, true, nil
		}
		if !byPath {
			if rest == "" || strings.ContainsAny(rest, "/?# ") {
				return siteRef{}, true, fmt.Errorf("%w: drive = %q: site: needs a site id (host,site-guid,web-guid) or host:/sites/NAME", ErrBadConfig, spec)
			}
			return siteRef{id: rest}, true, nil
		}
		if host == "" || strings.ContainsAny(host, "/?# ") || !strings.HasPrefix(path, "/") {
			return siteRef{}, true, fmt.Errorf("%w: drive = %q: write a site by path as site:<host>:/sites/NAME", ErrBadConfig, spec)
		}
		segs := pathSegments(path)
		for _, seg := range segs {
			if seg == "." || seg == ".." || strings.ContainsAny(seg, "?#") {
				return siteRef{}, true, fmt.Errorf("%w: drive = %q: the site path must be plain, e.g. /sites/Finance", ErrBadConfig, spec)
			}
		}
		return siteRef{host: host, segs: segs}, true, nil
	}
	if !strings.HasPrefix(strings.ToLower(s), "https://") && !strings.HasPrefix(strings.ToLower(s), "http://") {
		return siteRef{}, false, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return siteRef{}, true, fmt.Errorf("%w: drive = %q is not a SharePoint URL", ErrBadConfig, spec)
	}
	if u.Scheme != "https" || u.User != nil || u.Fragment != "" {
		return siteRef{}, true, fmt.Errorf("%w: drive = %q: give the library's https:// address as the browser shows it, e.g. https://contoso.sharepoint.com/sites/Finance/Shared%%20Documents", ErrBadConfig, spec)
	}
	segs := pathSegments(u.Path)
	// The browser shows a library as …/<library>/Forms/AllItems.aspx.
	for i, seg := range segs {
		if strings.EqualFold(seg, "Forms") && i > 0 {
			segs = segs[:i]
			break
		}
	}
	for _, seg := range segs {
		if seg == "." || seg == ".." {
			return siteRef{}, true, fmt.Errorf("%w: drive = %q: the URL path must be plain", ErrBadConfig, spec)
		}
	}
	u.RawQuery = ""
	return siteRef{host: u.Host, segs: segs, url: u}, true, nil
}

func pathSegments(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// siteInfo is what Graph says about a site.
type siteInfo struct {
	ID     string `json:"id"`
	WebURL string `json:"webUrl"`
}

// maxSiteProbes bounds the path prefixes tried to find the site of a library URL.
const maxSiteProbes = 6

// findSite returns the site a reference names and how many of its path segments belong to
// the site (the rest name a library). A URL is tried from its longest path prefix down to
// /sites/NAME (or the root site), since a library URL does not say where the site ends.
func (c *Client) findSite(ctx context.Context, ref siteRef) (siteInfo, int, error) {
	if ref.id != "" {
		st, err := c.getSite(ctx, "/sites/"+escapeSegments(ref.id))
		return st, 0, err
	}
	min := 0
	if len(ref.segs) >= 2 && (strings.EqualFold(ref.segs[0], "sites") || strings.EqualFold(ref.segs[0], "teams")) {
		min = 2
	}
	max := len(ref.segs)
	if ref.url == nil {
		min = max // site:<host>:<path> names the site itself
	}
	var lastErr error
	for n, probes := max, 0; n >= min && probes < maxSiteProbes; n, probes = n-1, probes+1 {
		path := "/sites/" + escapeSegment(ref.host)
		if n > 0 {
			esc := make([]string, n)
			for i, seg := range ref.segs[:n] {
				esc[i] = escapeSegment(seg)
			}
			path += ":/" + strings.Join(esc, "/")
		}
		st, err := c.getSite(ctx, path)
		if err == nil {
			return st, n, nil
		}
		var he *HTTPError
		if !errors.As(err, &he) || (he.Status != http.StatusNotFound && he.Status != http.StatusBadRequest) {
			return siteInfo{}, 0, err
		}
		lastErr = err
	}
	return siteInfo{}, 0, fmt.Errorf("no SharePoint site found at https://%s/%s: %w", ref.host, strings.Join(ref.segs, "/"), lastErr)
}

func (c *Client) getSite(ctx context.Context, path string) (siteInfo, error) {
	body, err := c.get(ctx, "site", c.graph+path+"?$select=id,webUrl")
	if err != nil {
		return siteInfo{}, err
	}
	var st siteInfo
	if err := json.Unmarshal(body, &st); err != nil || st.ID == "" {
		return siteInfo{}, errors.New("graph site: the answer has no site id")
	}
	return st, nil
}

// siteDrives lists the document libraries of a site, following nextLinks.
func (c *Client) siteDrives(ctx context.Context, siteID string) ([]DriveInfo, error) {
	var out []DriveInfo
	err := c.list(ctx, c.graph+"/sites/"+escapeSegment(siteID)+"/drives?$select=id,name,webUrl,driveType", func(raw json.RawMessage) error {
		var d DriveInfo
		if err := json.Unmarshal(raw, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// SiteDrives lists the drives (document libraries) of the site a spec names: "site:<site
// id>", "site:<host>:/sites/NAME", or the https URL of the site or of one of its libraries.
// It returns the site's webUrl too.
func (c *Client) SiteDrives(ctx context.Context, spec string) (string, []DriveInfo, error) {
	ref, ok, err := parseSiteSpec(spec)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, fmt.Errorf("%w: %q names no site: give site:<site id>, site:<host>:/sites/NAME or a SharePoint URL", ErrBadConfig, spec)
	}
	st, _, err := c.findSite(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	drives, err := c.siteDrives(ctx, st.ID)
	if err != nil {
		return "", nil, fmt.Errorf("list the drives of %s: %w", st.WebURL, err)
	}
	return st.WebURL, drives, nil
}

// resolveSiteDrive returns the drive id a site spec names: the library the URL points to
// (matched with the webUrl of the site's drives), or the site's default drive.
func (c *Client) resolveSiteDrive(ctx context.Context, ref siteRef) (string, error) {
	st, n, err := c.findSite(ctx, ref)
	if err != nil {
		return "", err
	}
	if ref.url == nil || n == len(ref.segs) {
		body, err := c.get(ctx, "drive", c.graph+"/sites/"+escapeSegment(st.ID)+"/drive?$select=id,driveType")
		if err != nil {
			return "", err
		}
		var d DriveInfo
		if err := json.Unmarshal(body, &d); err != nil || d.ID == "" {
			return "", errors.New("graph drive: the answer has no drive id")
		}
		return d.ID, nil
	}
	drives, err := c.siteDrives(ctx, st.ID)
	if err != nil {
		return "", err
	}
	want := "/" + strings.Join(ref.segs, "/")
	var names []string
	for _, d := range drives {
		u, err := url.Parse(d.WebURL)
		if err != nil {
			continue
		}
		lib := strings.TrimRight(u.Path, "/")
		if !strings.EqualFold(u.Host, ref.host) {
			continue
		}
		if strings.EqualFold(lib, want) {
			return d.ID, nil
		}
		if len(want) > len(lib) && strings.EqualFold(want[:len(lib)+1], lib+"/") {
			return "", fmt.Errorf("%w: %s is a folder of the library %s: set drive to the library's address and folder = %q",
				ErrBadConfig, shortText(ref.url.String(), 200), shortText(d.WebURL, 200), want[len(lib):])
		}
		names = append(names, TerminalText(d.Name, 80))
	}
	return "", fmt.Errorf("%w: %s is none of the libraries of %s (%s); `onedrive-agent drives` lists them with their addresses",
		ErrBadConfig, shortText(ref.url.String(), 200), shortText(st.WebURL, 200), strings.Join(names, ", "))
}
