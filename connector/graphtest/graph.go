package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// GraphContentType is the Content-Type of every Graph JSON response.
const GraphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// route is a parsed Graph request path.
type route struct {
	prefix string // e.g. /v1.0/me/drive or /v1.0/drives/{id}
	me     bool
	kind   string // "drive", "item", "delta", "subscription"
	item   string // item id for kind "item" ("" = root)
	token  string // token from a delta(token='…') segment
}

// parseRoute understands /v1.0/{me/drive | users/{id}/drive | sites/{id}/drive |
// groups/{id}/drive | drives/{id}} followed by "", /root, /items/{id},
// /root/delta and /items/{root id}/delta (also in delta(token='…') form).
func (s *Server) parseRoute(p string) (route, int, string) {
	segs := strings.Split(strings.TrimPrefix(p, "/v1.0/"), "/")
	var rt route
	var rest []string
	switch {
	case len(segs) >= 2 && segs[0] == "me" && segs[1] == "drive":
		rt.prefix, rt.me, rest = "/v1.0/me/drive", true, segs[2:]
	case len(segs) >= 3 && (segs[0] == "users" || segs[0] == "sites" || segs[0] == "groups") && segs[2] == "drive":
		rt.prefix, rest = "/v1.0/"+segs[0]+"/"+segs[1]+"/drive", segs[3:]
	case len(segs) >= 2 && segs[0] == "drives":
		if !strings.EqualFold(segs[1], s.driveID) {
			return rt, http.StatusNotFound, "itemNotFound"
		}
		rt.prefix, rest = "/v1.0/drives/"+segs[1], segs[2:]
	case len(segs) >= 1 && segs[0] == "me":
		return rt, http.StatusBadRequest, "BadRequest"
	default:
		return rt, http.StatusBadRequest, "BadRequest"
	}
	switch {
	case len(rest) == 0:
		rt.kind = "drive"
	case len(rest) == 1 && rest[0] == "root":
		rt.kind = "item"
	case len(rest) == 2 && rest[0] == "items":
		rt.kind, rt.item = "item", rest[1]
	case len(rest) == 2 && rest[0] == "root":
		return rt.delta(rest[1])
	case len(rest) == 3 && rest[0] == "root" && rest[1] == "subscriptions" && rest[2] == "socketIo":
		rt.kind = "subscription"
	case len(rest) == 3 && rest[0] == "items":
		if i, ok := s.tree.index(rest[1]); !ok || i != 0 {
			return rt, http.StatusBadRequest, "notSupported"
		}
		return rt.delta(rest[2])
	default:
		return rt, http.StatusBadRequest, "BadRequest"
	}
	return rt, 0, ""
}

// delta parses the function segment: delta, delta(token='X'),
// microsoft.graph.delta(token='X'), with or without quotes.
func (rt route) delta(seg string) (route, int, string) {
	rt.kind = "delta"
	fn := strings.TrimPrefix(seg, "microsoft.graph.")
	if fn == "delta" {
		return rt, 0, ""
	}
	if !strings.HasPrefix(fn, "delta(") || !strings.HasSuffix(fn, ")") {
		return rt, http.StatusBadRequest, "BadRequest"
	}
	arg := strings.TrimSuffix(strings.TrimPrefix(fn, "delta("), ")")
	if arg != "" {
		v, ok := strings.CutPrefix(arg, "token=")
		if !ok {
			return rt, http.StatusBadRequest, "BadRequest"
		}
		rt.token = strings.Trim(v, "'")
	}
	return rt, 0, ""
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, entry *Request) {
	if strings.HasPrefix(r.URL.Path, "/v1.0/sites/") && s.serveSite(w, r, entry) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, status, code := s.parseRoute(r.URL.Path)
	switch rt.kind {
	case "delta":
		entry.Class = ClassDelta
	case "drive", "item":
		entry.Class = ClassDrive
	case "subscription":
		entry.Class = ClassSubscription
	}
	if status != 0 {
		s.graphError(w, r, status, code, "Resource not found for the segment in "+r.URL.Path+".")
		return
	}
	if r.Method != http.MethodGet {
		s.graphError(w, r, http.StatusMethodNotAllowed, "BadRequest", "Method "+r.Method+" not allowed on "+r.URL.Path+".")
		return
	}
	tok, ok := s.bearer(w, r)
	if !ok {
		return
	}
	entry.Client = tok.client
	if rt.me && tok.app {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return
	}
	token := rt.token
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	dt, _ := decodeDeltaToken(token)
	entry.NextLink = dt.kind == 'n'
	f := s.takeFault(entry.Class, entry.NextLink)
	if f != nil {
		if b, ok := w.(*buffered); ok {
			b.apply(f)
		}
		if f.Hangup {
			return
		}
		if f.Status != 0 {
			s.writeFault(w, r, rt, *f)
			return
		}
	}
	cost := 1
	if rt.kind == "delta" && token == "" {
		cost = 2
	}
	if !s.spend(w, r, tok.client, cost) {
		return
	}
	switch rt.kind {
	case "drive":
		s.serveDrive(w, r)
	case "item":
		s.serveItem(w, r, rt)
	case "delta":
		s.serveDelta(w, r, rt, token, f != nil && f.Loop)
	case "subscription":
		s.serveSubscription(w, r, tok)
	}
}

func (s *Server) serveDrive(w http.ResponseWriter, r *http.Request) {
	root := &s.tree.nodes[0]
	body := map[string]any{
		"@odata.context":  s.GraphURL() + "/$metadata#drives/$entity",
		"id":              s.driveID,
		"driveType":       s.opts.driveType(),
		"name":            "OneDrive",
		"webUrl":          s.URL + "/personal/test_user/Documents",
		"createdDateTime": time.UnixMilli(root.created).UTC().Format(time.RFC3339),
		"owner":           map[string]any{"user": map[string]any{"id": s.userID, "displayName": "Test User"}},
		"quota": map[string]any{"total": int64(1) << 40, "used": root.size,
			"remaining": int64(1)<<40 - root.size, "deleted": 0, "state": "normal"},
	}
	b, _ := json.Marshal(body)
	s.writeJSON(w, r, http.StatusOK, b)
}

func (s *Server) serveItem(w http.ResponseWriter, r *http.Request, rt route) {
	i := int32(0)
	if rt.item != "" {
		var ok bool
		i, ok = s.tree.index(rt.item)
		if !ok || s.tree.nodes[i].deleted {
			s.graphError(w, r, http.StatusNotFound, "itemNotFound", "The resource could not be found.")
			return
		}
	}
	b := s.appendItem(nil, i, &s.tree.nodes[i], parseSelect(r.URL.Query().Get("$select")), false)
	s.writeJSON(w, r, http.StatusOK, b)
}

// setGraphHeaders sets the headers every Graph response carries.
func (s *Server) setGraphHeaders(w http.ResponseWriter, r *http.Request) {
	rid := randomGUID()
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = rid
	}
	h := w.Header()
	h.Set("request-id", rid)
	h.Set("client-request-id", crid)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Test","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"graphtest"}}`)
	h.Set("Cache-Control", "no-store, no-cache")
}

func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	s.setGraphHeaders(w, r)
	w.Header().Set("Content-Type", GraphContentType)
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// graphError writes Graph's error envelope; inner lists nested innerError codes.
func (s *Server) graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string, inner ...string) {
	s.setGraphHeaders(w, r)
	h := w.Header()
	ie := map[string]any{
		"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
		"request-id":        h.Get("request-id"),
		"client-request-id": h.Get("client-request-id"),
	}
	if len(inner) > 0 {
		ie["code"] = inner[0]
		nest := ie
		for _, c := range inner[1:] {
			next := map[string]any{"code": c}
			nest["innerError"] = next
			nest = next
		}
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": ie}})
	h.Set("Content-Type", GraphContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
