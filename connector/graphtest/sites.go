package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// SiteLibrary is a document library of a site added with AddSite.
type SiteLibrary struct {
	Name    string // display name, e.g. "Documents"
	URLName string // the library's URL segment, e.g. "Shared Documents"; default Name
	// DriveID is the library's drive id; "" makes the first library the server's drive
	// (the one delta serves) and gives the others an id of their own. Only the server's
	// drive can be polled.
	DriveID string
}

// site is a SharePoint site the server answers for.
type site struct {
	id, host, path, name string
	libs                 []SiteLibrary
}

// webURL is the site's address, https as SharePoint's are.
func (st *site) webURL() string { return "https://" + st.host + st.path }

func (st *site) libURL(l SiteLibrary) string { return libraryURL(st.webURL(), l.URLName) }

// libraryURL is the webUrl of a document library: the site's address and the library's URL
// name, percent-encoded as SharePoint writes it (a space as %20).
func libraryURL(siteURL, urlName string) string {
	return siteURL + "/" + (&url.URL{Path: urlName}).EscapedPath()
}

// AddSite adds a SharePoint site at https://host + path (path "" or "/" is the host's root
// site, otherwise e.g. "/sites/Finance") with its document libraries, the first being the
// site's default drive, and returns its id ("host,guid,guid"). The server then answers
// GET /sites/{id}, /sites/{host}:{path}, /sites/{host} (the root site) and
// /sites/{id}/drives (paged by Options.PageSize when set) like Graph.
func (s *Server) AddSite(host, path string, libs ...SiteLibrary) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	path = strings.TrimRight(path, "/")
	st := &site{id: host + "," + randomGUID() + "," + randomGUID(), host: host, path: path, name: path[strings.LastIndex(path, "/")+1:]}
	if st.name == "" {
		st.name = "Communication site"
	}
	for i, l := range libs {
		if l.URLName == "" {
			l.URLName = l.Name
		}
		if l.DriveID == "" {
			if i == 0 {
				l.DriveID = s.driveID
			} else {
				l.DriveID = "b!" + randomToken(48)
			}
		}
		st.libs = append(st.libs, l)
	}
	s.sites = append(s.sites, st)
	return st.id
}

// findSite looks a site up by id, by hostname (the root site), or by "host:" and path
// segments; the caller holds s.mu.
func (s *Server) findSite(first string, rest []string) *site {
	host, byPath := strings.CutSuffix(first, ":")
	path := ""
	if byPath && len(rest) > 0 {
		path = "/" + strings.Join(rest, "/")
	}
	for _, st := range s.sites {
		switch {
		case byPath && strings.EqualFold(st.host, host) && strings.EqualFold(st.path, strings.TrimRight(path, "/")):
			return st
		case !byPath && (strings.EqualFold(st.id, first) || (strings.EqualFold(st.host, first) && st.path == "")):
			return st
		}
	}
	return nil
}

// serveSite answers /v1.0/sites/… requests other than …/drive; it reports false for those.
func (s *Server) serveSite(w http.ResponseWriter, r *http.Request, entry *Request) bool {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/sites/"), "/")
	if len(segs) == 0 || segs[0] == "" {
		return false
	}
	byPath := strings.HasSuffix(segs[0], ":")
	drives := !byPath && len(segs) == 2 && segs[1] == "drives"
	if !byPath && len(segs) != 1 && !drives {
		return false // /sites/{id}/drive and deeper: the drive routes
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	entry.Class = ClassDrive
	tok, ok := s.bearer(w, r)
	if !ok {
		return true
	}
	entry.Client = tok.client
	rest := segs[1:]
	if drives {
		rest = nil
	}
	st := s.findSite(segs[0], rest)
	if st == nil {
		s.graphError(w, r, http.StatusNotFound, "itemNotFound", "Requested site could not be found")
		return true
	}
	if !drives {
		b, _ := json.Marshal(map[string]any{
			"@odata.context": s.GraphURL() + "/$metadata#sites/$entity",
			"id":             st.id, "name": st.name, "displayName": st.name, "webUrl": st.webURL(),
			"siteCollection": map[string]any{"hostname": st.host},
		})
		s.writeJSON(w, r, http.StatusOK, b)
		return true
	}
	start := 0
	if v := r.URL.Query().Get("$skiptoken"); v != "" {
		for i, l := range st.libs {
			if l.DriveID == v {
				start = i
			}
		}
	}
	n := len(st.libs) - start
	if s.opts.PageSize > 0 && n > s.opts.PageSize {
		n = s.opts.PageSize
	}
	value := make([]map[string]any, 0, n)
	for _, l := range st.libs[start : start+n] {
		value = append(value, map[string]any{"id": l.DriveID, "name": l.Name, "driveType": "documentLibrary", "webUrl": st.libURL(l)})
	}
	body := map[string]any{"@odata.context": s.GraphURL() + "/$metadata#drives", "value": value}
	if start+n < len(st.libs) {
		body["@odata.nextLink"] = s.GraphURL() + "/sites/" + url.PathEscape(st.id) + "/drives?$skiptoken=" + url.QueryEscape(st.libs[start+n].DriveID)
	}
	b, _ := json.Marshal(body)
	s.writeJSON(w, r, http.StatusOK, b)
	return true
}
