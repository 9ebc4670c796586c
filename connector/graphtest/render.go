package graphtest

import (
	"encoding/base64"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// selection is a parsed $select: nil means every property.
type selection map[string]bool

func parseSelect(v string) selection {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	sel := selection{}
	for _, p := range strings.Split(v, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "*" {
			return nil
		}
		sel[p] = true
	}
	return sel
}

// without returns the selection less the named properties; a nil selection (every
// property) is spelled out first.
func (sel selection) without(names []string) selection {
	out := selection{}
	if sel == nil {
		for _, p := range strings.Split("name,eTag,cTag,size,createdDateTime,lastModifiedDateTime,webUrl,createdBy,lastModifiedBy,"+
			"parentReference,fileSystemInfo,folder,file,root,package", ",") {
			out[strings.ToLower(p)] = true
		}
	} else {
		for k := range sel {
			out[k] = true
		}
	}
	for _, n := range names {
		delete(out, strings.ToLower(n))
	}
	return out
}

// has reports whether property name is selected. id and deleted always are,
// so that clients can always tell what an item is and whether it is gone.
func (sel selection) has(name string) bool {
	if sel == nil || name == "id" || name == "deleted" {
		return true
	}
	return sel[strings.ToLower(name)]
}

// jsonObject appends members of a JSON object to a byte slice.
type jsonObject struct {
	b     []byte
	first bool
}

func (o *jsonObject) open()  { o.b = append(o.b, '{'); o.first = true }
func (o *jsonObject) close() { o.b = append(o.b, '}'); o.first = false }

func (o *jsonObject) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = appendJSONString(o.b, k)
	o.b = append(o.b, ':')
}

func (o *jsonObject) str(k, v string) { o.key(k); o.b = appendJSONString(o.b, v) }
func (o *jsonObject) num(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}
func (o *jsonObject) raw(k, v string) { o.key(k); o.b = append(o.b, v...) }
func (o *jsonObject) obj(k string)    { o.key(k); o.open() }
func (o *jsonObject) end()            { o.b = append(o.b, '}'); o.first = false }
func (o *jsonObject) time(k string, ms int64) {
	o.str(k, time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.999Z"))
}

func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
	return append(b, '"')
}

var mimeTypes = map[string]string{
	".txt": "text/plain", ".csv": "text/csv", ".pdf": "application/pdf",
	".json": "application/json", ".xml": "application/xml", ".zip": "application/zip",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

func mimeType(name string) string {
	if m, ok := mimeTypes[strings.ToLower(path.Ext(name))]; ok {
		return m
	}
	return "application/octet-stream"
}

// appendItem appends item i in state n (the live node or an earlier state of
// it) as a driveItem. inDelta applies delta's omissions (no cTag on business
// drives).
func (s *Server) appendItem(b []byte, i int32, n *node, sel selection, inDelta bool) []byte {
	hashes := true
	if inDelta && len(s.opts.OmitInDelta) > 0 {
		sel = sel.without(s.opts.OmitInDelta)
		hashes = !slices.Contains(s.opts.OmitInDelta, "hashes")
	}
	t := &s.tree
	o := jsonObject{b: b}
	o.open()
	o.str("id", t.id(i))
	if n.deleted {
		s.appendDeleted(&o, i, n, sel)
		o.close()
		return o.b
	}
	if sel.has("name") {
		o.str("name", n.name)
	}
	if sel.has("eTag") {
		o.str("eTag", s.etag(i, n))
	}
	if sel.has("cTag") && (s.opts.Personal || (!n.folder && (!inDelta || s.opts.CTagInDelta))) {
		o.str("cTag", s.ctag(i, n))
	}
	if sel.has("size") {
		o.num("size", n.size)
	}
	if sel.has("createdDateTime") {
		o.time("createdDateTime", n.created)
	}
	if sel.has("lastModifiedDateTime") {
		o.time("lastModifiedDateTime", n.modified)
	}
	if sel.has("webUrl") {
		o.str("webUrl", s.URL+"/personal/test_user/Documents"+url.PathEscape(t.path(i)))
	}
	for _, by := range []string{"createdBy", "lastModifiedBy"} {
		if sel.has(by) {
			o.obj(by)
			o.obj("user")
			o.str("id", s.userID)
			o.str("displayName", "Test User")
			o.end()
			o.end()
		}
	}
	if sel.has("parentReference") {
		s.appendParent(&o, n, true)
	}
	if sel.has("fileSystemInfo") {
		o.obj("fileSystemInfo")
		o.time("createdDateTime", n.created)
		o.time("lastModifiedDateTime", n.modified)
		o.end()
	}
	if n.folder && sel.has("folder") {
		o.obj("folder")
		o.num("childCount", int64(n.children))
		o.end()
	}
	if !n.folder && sel.has("file") {
		o.obj("file")
		o.str("mimeType", mimeType(n.name))
		if hashes {
			o.obj("hashes")
			o.str("quickXorHash", base64.StdEncoding.EncodeToString(n.hash[:]))
			o.end()
		}
		o.end()
	}
	if i == 0 && sel.has("root") {
		o.raw("root", "{}")
	}
	o.close()
	return o.b
}

// appendDeleted writes a deleted item the way delta does: business drops name
// and cTag, personal drops size and cTag.
func (s *Server) appendDeleted(o *jsonObject, i int32, n *node, sel selection) {
	if s.opts.Personal && sel.has("name") {
		o.str("name", n.name)
	}
	if !s.opts.Personal && sel.has("size") {
		o.num("size", n.size)
	}
	if sel.has("lastModifiedDateTime") {
		o.time("lastModifiedDateTime", n.modified)
	}
	if sel.has("parentReference") {
		s.appendParent(o, n, false)
	}
	if n.folder && sel.has("folder") {
		o.raw("folder", `{"childCount":0}`)
	}
	if !n.folder && sel.has("file") {
		o.raw("file", "{}")
	}
	o.raw("deleted", `{"state":"deleted"}`)
}

// appendParent writes parentReference: drive id and type, the parent id
// (none for the root) and, when configured, the parent's path.
func (s *Server) appendParent(o *jsonObject, n *node, live bool) {
	t := &s.tree
	o.obj("parentReference")
	o.str("driveType", s.opts.driveType())
	o.str("driveId", s.driveID)
	if p := n.parent; p != none {
		o.str("id", t.id(p))
		if live && s.opts.ParentPath {
			o.str("path", "/drive/root:"+escapePath(t.path(p)))
		}
	}
	o.end()
}

func escapePath(p string) string {
	if p == "/" {
		return ""
	}
	segs := strings.Split(p, "/")
	for k, seg := range segs {
		segs[k] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}
