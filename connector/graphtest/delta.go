package graphtest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// serveDelta answers a delta request: token "" starts a full enumeration,
// "latest" returns an empty page with a deltaLink at the head, a timestamp
// (business drives) or a deltaLink token starts a change round, a nextLink
// token continues a round. loop makes the page's nextLink the requested URL.
func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, rt route, token string, loop bool) {
	q := r.URL.Query()
	sel := parseSelect(q.Get("$select"))
	size := s.opts.PageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 {
		size = min(top, maxPageSize)
	}
	ancestors := !s.opts.ExcludeAncestors &&
		!strings.Contains(strings.ToLower(r.Header.Get("Prefer")), "deltaexcludeparent")
	var rd *round
	pos, page := 0, 0
	switch {
	case token == "":
		rd = s.fullRound()
	case token == "latest":
		s.writePage(w, r, nil, 0, sel, "", s.link(r, rt, s.encodeDeltaToken(s.tree.head)))
		return
	default:
		if ts, err := time.Parse(time.RFC3339, token); err == nil {
			if s.opts.Personal {
				s.graphError(w, r, http.StatusBadRequest, "invalidRequest", "Timestamp tokens are not supported on this drive.")
				return
			}
			rd = s.changeRound(s.tree.versionAt(ts), ancestors)
			break
		}
		dt, ok := decodeDeltaToken(token)
		if !ok {
			s.graphError(w, r, http.StatusBadRequest, "invalidRequest", "Invalid delta token.")
			return
		}
		if dt.epoch != s.epoch {
			s.gone(w, r, rt)
			return
		}
		if dt.kind == 'd' {
			switch {
			case dt.ver > s.tree.head:
				s.graphError(w, r, http.StatusBadRequest, "invalidRequest", "Invalid delta token.")
				return
			case s.opts.TokenMaxVersions > 0 && s.tree.head-dt.ver > s.opts.TokenMaxVersions,
				s.opts.TokenMaxAge > 0 && s.now().Sub(dt.issued) > s.opts.TokenMaxAge:
				s.gone(w, r, rt)
				return
			}
			rd = s.changeRound(dt.ver, ancestors)
			break
		}
		rd = s.rounds.byID[dt.round]
		if rd == nil {
			s.gone(w, r, rt)
			return
		}
		if dt.pos > len(rd.items) {
			s.graphError(w, r, http.StatusBadRequest, "invalidRequest", "Invalid delta token.")
			return
		}
		pos, page = dt.pos, dt.page
	}
	var items []int32
	var upto uint64
	var next, deltaLink string
	if n := s.opts.EmptyPageEvery; n > 0 && pos < len(rd.items) && page%(n+1) == n {
		next = s.link(r, rt, s.encodeNextToken(rd, pos, page+1))
	} else {
		items, pos = s.takePage(rd, pos, size)
		upto = rd.upto
		if pos < len(rd.items) {
			next = s.link(r, rt, s.encodeNextToken(rd, pos, page+1))
		} else {
			deltaLink = s.link(r, rt, s.encodeDeltaToken(rd.upto))
		}
	}
	if loop {
		next, deltaLink = s.URL+r.URL.RequestURI(), ""
	}
	s.writePage(w, r, items, upto, sel, next, deltaLink)
}

// takePage takes up to size items from pos; with DeletePageSize set, a page
// that holds a deleted item ends after DeletePageSize items.
func (s *Server) takePage(rd *round, pos, size int) ([]int32, int) {
	var out []int32
	hasDeleted := false
	dps := s.opts.DeletePageSize
	for pos < len(rd.items) && len(out) < size {
		if dps > 0 && hasDeleted && len(out) >= dps {
			break
		}
		i := rd.items[pos]
		pos++
		out = append(out, i)
		hasDeleted = hasDeleted || s.tree.view(i, rd.upto).deleted
	}
	return out, pos
}

// query returns the OData options of a delta request that links carry on.
func linkQuery(r *http.Request) string {
	q := r.URL.Query()
	var parts []string
	for _, k := range []string{"$select", "$top", "$expand"} {
		if v := q.Get(k); v != "" {
			parts = append(parts, k+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

// link builds an absolute nextLink or deltaLink in the configured style.
func (s *Server) link(r *http.Request, rt route, token string) string {
	q := linkQuery(r)
	if s.opts.LinkStyle == FunctionLinks {
		l := s.URL + rt.prefix + "/root/delta(token='" + token + "')"
		if q != "" {
			l += "?" + q
		}
		return l
	}
	if q != "" {
		q += "&"
	}
	return s.URL + rt.prefix + "/root/delta?" + q + "token=" + token
}

// gone answers 410 resyncRequired with a Location that starts a fresh enumeration.
func (s *Server) gone(w http.ResponseWriter, r *http.Request, rt route) {
	loc := s.URL + rt.prefix + "/root/delta"
	if q := linkQuery(r); q != "" {
		loc += "?" + q
	}
	w.Header().Set("Location", loc)
	s.graphError(w, r, http.StatusGone, "resyncRequired",
		"Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd. Upload any local changes that the server doesn't know about.",
		"resyncChangesApplyDifferences")
}

// writePage writes a delta page showing items as they were at version upto.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, items []int32, upto uint64, sel selection, next, deltaLink string) {
	b := make([]byte, 0, 256+len(items)*640)
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, s.GraphURL()+"/$metadata#Collection(driveItem)")
	if next != "" {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, next)
	}
	b = append(b, `,"value":[`...)
	for k, i := range items {
		if k > 0 {
			b = append(b, ',')
		}
		b = s.appendItem(b, i, s.tree.view(i, upto), sel, true)
	}
	b = append(b, ']')
	if deltaLink != "" {
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendJSONString(b, deltaLink)
	}
	b = append(b, '}')
	s.writeJSON(w, r, http.StatusOK, b)
}
