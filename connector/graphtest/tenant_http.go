package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP routes the tenant's Graph requests (logging, counting and
// throttling them) and hands sign-in requests to the identity Server.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		t.front.ServeHTTP(w, r)
		return
	}
	buf := &buffered{header: http.Header{}}
	entry := TenantRequest{Time: t.now(), Path: r.URL.Path, Query: r.URL.RawQuery}
	defer func() {
		entry.Status, entry.RetryAfter = buf.outcome()
		entry.Done = t.now()
		t.record(entry)
	}()
	t.serveGraph(buf, r, &entry)
	buf.flush(w, r)
}

func (t *Tenant) now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opts.Now()
}

func (t *Tenant) serveGraph(w http.ResponseWriter, r *http.Request, entry *TenantRequest) {
	t.front.mu.Lock()
	grant, ok := t.front.bearer(w, r)
	t.front.mu.Unlock()
	if !ok {
		return
	}
	entry.Client = grant.client
	if t.overBudget() {
		entry.Throttled = true
		setRetryAfter(w, t.Options().RetryAfter)
		t.fail(w, r, http.StatusTooManyRequests, "activityLimitReached", "The request has been throttled", "throttledRequest", "quota")
		return
	}
	if r.Method != http.MethodGet {
		t.fail(w, r, http.StatusMethodNotAllowed, "BadRequest", "Method "+r.Method+" not allowed on "+r.URL.Path+".")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/")
	below := len(segs) > 2 && segs[0] == "drives" || len(segs) > 3 && (segs[0] == "users" || segs[0] == "sites") && segs[2] == "drive"
	if !below && t.fault(w, r) {
		return
	}
	switch {
	case len(segs) == 1 && segs[0] == "users":
		t.listUsers(w, r)
	case len(segs) >= 3 && segs[0] == "users" && segs[2] == "drive":
		t.serveUserDrive(w, r, segs, entry)
	case len(segs) == 1 && segs[0] == "sites", len(segs) == 2 && segs[0] == "sites" && segs[1] == "getAllSites":
		t.listSites(w, r)
	case len(segs) >= 2 && segs[0] == "sites":
		t.serveSite(w, r, segs, entry)
	case len(segs) >= 2 && segs[0] == "drives":
		t.mu.Lock()
		d := t.drives[strings.ToLower(segs[1])]
		t.mu.Unlock()
		t.serveDrive(w, r, d, len(segs) == 2, entry)
	default:
		t.fail(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[0]+"'.")
	}
}

// fault applies an injected fault to a request the tenant answers itself and
// reports whether the request is answered.
func (t *Tenant) fault(w http.ResponseWriter, r *http.Request) bool {
	f := t.takeFault(strings.TrimPrefix(r.URL.Path, "/v1.0"))
	if f == nil {
		return false
	}
	if b, ok := w.(*buffered); ok {
		b.apply(f)
	}
	if f.Hangup {
		return true
	}
	if f.Status == 0 {
		return false
	}
	t.front.mu.Lock()
	defer t.front.mu.Unlock()
	t.front.writeFault(w, r, route{prefix: r.URL.Path}, *f)
	return true
}

// Options returns the options in force.
func (t *Tenant) Options() TenantOptions {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opts
}

// overBudget counts a Graph request in its clock second and reports whether
// it is over the tenant throttle.
func (t *Tenant) overBudget() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	sec := t.opts.Now().Unix()
	t.seconds[sec]++
	return t.opts.RequestsPerSecond > 0 && t.seconds[sec] > t.opts.RequestsPerSecond
}

func (t *Tenant) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string, inner ...string) {
	t.front.mu.Lock()
	defer t.front.mu.Unlock()
	t.front.graphError(w, r, status, code, msg, inner...)
}

func (t *Tenant) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("graphtest: " + err.Error())
	}
	t.front.writeJSON(w, r, http.StatusOK, b)
}

func (t *Tenant) serveUserDrive(w http.ResponseWriter, r *http.Request, segs []string, entry *TenantRequest) {
	key, _ := url.PathUnescape(segs[1])
	t.mu.Lock()
	var u *tenantUser
	for _, c := range t.users {
		if !c.removed && (c.id == key || strings.EqualFold(c.upn, key)) {
			u = c
			break
		}
	}
	t.mu.Unlock()
	switch {
	case u == nil:
		t.fail(w, r, http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	case u.drive == nil:
		t.fail(w, r, http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
	default:
		t.serveDrive(w, r, u.drive, len(segs) == 3, entry)
	}
}

func (t *Tenant) serveSite(w http.ResponseWriter, r *http.Request, segs []string, entry *TenantRequest) {
	key, _ := url.PathUnescape(segs[1])
	t.mu.Lock()
	var site *tenantSite
	for _, s := range t.sites {
		if !s.removed && strings.EqualFold(s.id, key) {
			site = s
			break
		}
	}
	var libs []*tenantDrive
	if site != nil {
		libs = append(libs, site.drives...)
	}
	t.mu.Unlock()
	switch {
	case site == nil:
		t.fail(w, r, http.StatusNotFound, "itemNotFound", "Requested site could not be found")
	case len(segs) == 2:
		t.writeJSON(w, r, t.siteJSON(site))
	case len(segs) == 3 && segs[2] == "drives":
		vals := make([]any, 0, len(libs))
		for _, d := range libs {
			vals = append(vals, t.driveJSON(d, nil))
		}
		t.writePaged(w, r, "drives", vals)
	case segs[2] == "drive" && len(libs) > 0:
		t.serveDrive(w, r, libs[0], len(segs) == 3, entry)
	case segs[2] == "drive":
		t.fail(w, r, http.StatusNotFound, "itemNotFound", "The site has no document library.")
	default:
		t.fail(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[2]+"'.")
	}
}

// serveDrive answers the drive resource itself, or hands a request below it
// (root, items, delta) to the drive's Server.
func (t *Tenant) serveDrive(w http.ResponseWriter, r *http.Request, d *tenantDrive, self bool, entry *TenantRequest) {
	t.mu.Lock()
	gone := d == nil || d.removed
	t.mu.Unlock()
	if gone {
		t.fail(w, r, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
		return
	}
	entry.DriveID = d.srv.driveID
	if self {
		t.writeJSON(w, r, t.driveJSON(d, parseSelect(r.URL.Query().Get("$select"))))
		return
	}
	// The tenant checked the token; the drive serves anonymously.
	r2 := r.Clone(r.Context())
	r2.Header.Del("Authorization")
	d.srv.ServeHTTP(w, r2)
}

func (t *Tenant) driveJSON(d *tenantDrive, sel selection) map[string]any {
	d.srv.mu.Lock()
	created := d.srv.tree.nodes[0].created
	d.srv.mu.Unlock()
	m := map[string]any{
		"id": d.srv.driveID, "name": d.name, "driveType": d.driveType, "webUrl": d.webURL,
		"createdDateTime": time.UnixMilli(created).UTC().Format(time.RFC3339),
		"description":     "",
	}
	if d.user {
		m["owner"] = map[string]any{"user": map[string]any{"id": d.owner, "displayName": d.ownerName}}
	} else {
		m["owner"] = map[string]any{"user": map[string]any{"displayName": "System Account"}}
	}
	if sel != nil {
		for k := range m {
			if !sel.has(k) {
				delete(m, k)
			}
		}
	}
	return m
}

func (t *Tenant) siteJSON(s *tenantSite) map[string]any {
	host, _, _ := strings.Cut(s.id, ",")
	u, _ := url.Parse(s.webURL)
	name := host
	if u != nil && u.Path != "" {
		name = u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	}
	return map[string]any{
		"id": s.id, "name": name, "displayName": s.name, "webUrl": s.webURL,
		"isPersonalSite": s.personal,
		"siteCollection": map[string]any{"hostname": host},
	}
}

// listUsers answers GET /users with Graph's $select, $filter and $top.
func (t *Tenant) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	match, msg := parseUserFilter(q.Get("$filter"),
		strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") && strings.EqualFold(q.Get("$count"), "true"))
	if msg != "" {
		t.fail(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", msg)
		return
	}
	sel := parseSelect(q.Get("$select"))
	t.mu.Lock()
	var vals []any
	for _, u := range t.users {
		if u.removed || !match(u) {
			continue
		}
		m := map[string]any{"id": u.id}
		add := func(k string, v any, byDefault bool) {
			if (sel == nil && byDefault) || (sel != nil && sel[strings.ToLower(k)]) {
				m[k] = v
			}
		}
		add("displayName", u.name, true)
		add("userPrincipalName", u.upn, true)
		add("mail", u.upn, true)
		add("businessPhones", []string{}, true)
		add("userType", map[bool]string{false: "Member", true: "Guest"}[u.guest], false)
		add("accountEnabled", !u.disabled, false)
		vals = append(vals, m)
	}
	t.mu.Unlock()
	t.writePaged(w, r, "users", vals)
}

// parseUserFilter understands clauses joined by "and": userType eq|ne 'X',
// accountEnabled eq|ne true|false. ne is an advanced query: without advanced
// (ConsistencyLevel: eventual and $count=true) it is refused, as Graph does.
func parseUserFilter(f string, advanced bool) (func(*tenantUser) bool, string) {
	all := func(*tenantUser) bool { return true }
	if strings.TrimSpace(f) == "" {
		return all, ""
	}
	var preds []func(*tenantUser) bool
	for _, c := range splitFold(f, " and ") {
		parts := strings.Fields(c)
		if len(parts) != 3 {
			return nil, "Invalid filter clause: " + c
		}
		prop, op, val := strings.ToLower(parts[0]), strings.ToLower(parts[1]), parts[2]
		if op != "eq" && op != "ne" {
			return nil, "Invalid filter clause: " + c
		}
		if op == "ne" && !advanced {
			return nil, "Operator 'ne' is not supported because the required parameters might be missing. Try adding $count with a value of true and ConsistencyLevel header with a value of eventual."
		}
		neg := op == "ne"
		switch prop {
		case "usertype":
			want, ok := strings.CutPrefix(val, "'")
			want, ok2 := strings.CutSuffix(want, "'")
			if !ok || !ok2 {
				return nil, "Invalid filter clause: " + c
			}
			preds = append(preds, func(u *tenantUser) bool {
				typ := map[bool]string{false: "Member", true: "Guest"}[u.guest]
				return strings.EqualFold(typ, want) != neg
			})
		case "accountenabled":
			want, err := strconv.ParseBool(val)
			if err != nil {
				return nil, "Invalid filter clause: " + c
			}
			preds = append(preds, func(u *tenantUser) bool { return (!u.disabled == want) != neg })
		default:
			return nil, "Unsupported or invalid query filter clause specified for property '" + parts[0] + "' of resource 'User'."
		}
	}
	return func(u *tenantUser) bool {
		for _, p := range preds {
			if !p(u) {
				return false
			}
		}
		return true
	}, ""
}

// splitFold splits s around sep, ignoring case.
func splitFold(s, sep string) []string {
	var out []string
	lower := strings.ToLower(s)
	for {
		i := strings.Index(lower, sep)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s, lower = s[i+len(sep):], lower[i+len(sep):]
	}
}

// listSites answers GET /sites and /sites/getAllSites: every site collection
// that is not removed, personal sites included (search=… filters on the name).
func (t *Tenant) listSites(w http.ResponseWriter, r *http.Request) {
	search := strings.ToLower(strings.Trim(r.URL.Query().Get("search"), "\"* "))
	t.mu.Lock()
	var vals []any
	for _, s := range t.sites {
		if s.removed || (search != "" && !strings.Contains(strings.ToLower(s.name), search)) {
			continue
		}
		vals = append(vals, t.siteJSON(s))
	}
	t.mu.Unlock()
	t.writePaged(w, r, "sites", vals)
}

// writePaged writes one page of a listing: $top (or PageSize) values from
// the offset in $skiptoken (a $top above MaxTop gets MaxTop), with an @odata.nextLink that keeps the query.
func (t *Tenant) writePaged(w http.ResponseWriter, r *http.Request, entity string, vals []any) {
	q := r.URL.Query()
	o := t.Options()
	size := o.PageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 {
		size = min(top, o.MaxTop)
	}
	off := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "graphtest:"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(b), "graphtest:") {
			t.fail(w, r, http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken.")
			return
		}
		off = n
	}
	off = min(off, len(vals))
	end := min(off+size, len(vals))
	out := map[string]any{"@odata.context": t.GraphURL() + "/$metadata#" + entity, "value": append([]any{}, vals[off:end]...)}
	if end < len(vals) {
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("graphtest:"+strconv.Itoa(end))))
		out["@odata.nextLink"] = t.URL + r.URL.Path + "?" + q.Encode()
	}
	t.writeJSON(w, r, out)
}
