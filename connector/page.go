package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// Item is one driveItem of a delta page.
type Item struct {
	ID       string // never empty
	Name     string // may be empty on deletions (OneDrive for Business omits it)
	ParentID string // parentReference.id; "" for the root
	DriveID  string // parentReference.driveId as sent; compare with SameDrive
	ETag     string
	CTag     string // "" when Graph did not send it (OneDrive for Business may drop it)
	Size     int64  // -1 when Graph did not send it (OneDrive for Business may drop it)
	Hash     string // file.hashes: quickXorHash, else sha256Hash, else sha1Hash; "" if none
	Folder   bool   // folder facet present
	File     bool   // file facet present
	Root     bool   // root facet present
	Deleted  bool   // deleted facet, @microsoft.graph.removed or @removed present
	Modified time.Time
	// Raw is the item exactly as Graph sent it. It shares memory with the page body and its
	// capacity is capped, so appending to it cannot overwrite a neighbour.
	Raw json.RawMessage
}

// Page is one delta page. A DeltaLink ends the round; otherwise NextLink is the next page
// (also after an empty Items).
type Page struct {
	Items     []Item
	NextLink  string
	DeltaLink string
}

// maxIDLen bounds item, parent and drive ids (Graph's are well under 200 bytes), so no id
// can make an index key, log line or error huge.
const maxIDLen = 1024

// DecodePage reads and decodes a delta page. It fails, returning no partial page, on invalid
// JSON, an item without an id or with an id (own, parent or drive) longer than 1 KiB, a field
// of the wrong type, or a page with neither an @odata.nextLink nor an @odata.deltaLink. Unknown properties and facets are ignored.
func DecodePage(r io.Reader) (Page, error) {
	var buf bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok {
		buf.Grow(l.Len() + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return Page{}, fmt.Errorf("read delta page: %w", err)
	}
	return decodePage(buf.Bytes())
}

var errNoLink = errors.New("delta page has neither @odata.nextLink nor @odata.deltaLink")

// decodePage decodes b in one pass; the items' Raw point into b.
func decodePage(b []byte) (Page, error) {
	s := &scanner{b: b}
	var p Page
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "value":
			if null, err := s.isNull(); null || err != nil {
				return err
			}
			if p.Items == nil {
				p.Items = make([]Item, 0, 256)
			}
			p.Items = p.Items[:0]
			return s.array(func() error {
				it, err := s.item()
				if err != nil {
					return fmt.Errorf("item %d: %w", len(p.Items), err)
				}
				p.Items = append(p.Items, it)
				return nil
			})
		case "@odata.nextLink":
			return s.link(&p.NextLink)
		case "@odata.deltaLink":
			return s.link(&p.DeltaLink)
		}
		return s.skip()
	})
	if err == nil && s.peek() != 0 {
		err = s.errorf("data after the page object")
	}
	if err == nil && p.NextLink == "" && p.DeltaLink == "" {
		err = errNoLink
	}
	if err != nil {
		return Page{}, err
	}
	return p, nil
}

// link reads an optional link and checks that it is an absolute http(s) URL.
func (s *scanner) link(dst *string) error {
	if null, err := s.isNull(); null || err != nil {
		*dst = ""
		return err
	}
	v, err := s.str()
	if err != nil {
		return err
	}
	if v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("link %s is not an absolute http(s) URL", shortText(v, maxQuoted))
		}
	}
	*dst = v
	return nil
}

// internString reads a string or null like optString, reusing *last when the value repeats
// (every item of a page names the same drive, siblings the same parent).
func (s *scanner) internString(field string, dst, last *string) error {
	if null, err := s.isNull(); null || err != nil {
		*dst = ""
		return err
	}
	if s.peek() != '"' {
		return fmt.Errorf("%s: want a string", field)
	}
	b, err := s.stringBytes()
	if err != nil {
		return err
	}
	if string(b) != *last {
		*last = string(b)
	}
	*dst = *last
	return nil
}

// optString reads a string or null.
func (s *scanner) optString(field string, dst *string) error {
	if null, err := s.isNull(); null || err != nil {
		*dst = ""
		return err
	}
	if s.peek() != '"' {
		return fmt.Errorf("%s: want a string", field)
	}
	v, err := s.str()
	*dst = v
	return err
}

// facet reads a facet: present when not null.
func (s *scanner) facet(dst *bool) error {
	null, err := s.isNull()
	if null || err != nil {
		*dst = false
		return err
	}
	*dst = true
	return s.skip()
}

// item decodes one driveItem object and keeps its bytes.
func (s *scanner) item() (Item, error) {
	var (
		it                          Item
		deleted, removed, atRemoved bool
		quickXor, sha256, sha1      string
		modified                    string
	)
	if s.peek() != '{' {
		return it, s.errorf("want an item object")
	}
	it.Size = -1
	start := s.i
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "id":
			return s.optString("id", &it.ID)
		case "name":
			return s.optString("name", &it.Name)
		case "eTag":
			return s.optString("eTag", &it.ETag)
		case "cTag":
			return s.optString("cTag", &it.CTag)
		case "lastModifiedDateTime":
			if null, err := s.isNull(); null || err != nil {
				modified, it.Modified = "", time.Time{}
				return err
			}
			if s.peek() != '"' {
				return errors.New("lastModifiedDateTime: want a string")
			}
			b, err := s.stringBytes()
			if err != nil {
				return err
			}
			if t, ok := parseTimeFast(b); ok {
				modified, it.Modified = "", t
				return nil
			}
			modified, it.Modified = string(b), time.Time{}
			return nil
		case "size":
			if null, err := s.isNull(); null || err != nil {
				it.Size = -1
				return err
			}
			v, err := s.int64()
			if err != nil {
				return fmt.Errorf("size: %w", err)
			}
			it.Size = v
			return nil
		case "folder":
			return s.facet(&it.Folder)
		case "root":
			return s.facet(&it.Root)
		case "deleted":
			return s.facet(&deleted)
		case "@microsoft.graph.removed":
			return s.facet(&removed)
		case "@removed":
			return s.facet(&atRemoved)
		case "file":
			quickXor, sha256, sha1 = "", "", ""
			null, err := s.isNull()
			if null || err != nil {
				it.File = false
				return err
			}
			it.File = true
			if s.peek() != '{' {
				return s.skip()
			}
			return s.object(func(key []byte) error {
				if string(key) != "hashes" || s.peek() != '{' {
					return s.skip()
				}
				return s.object(func(key []byte) error {
					switch string(key) {
					case "quickXorHash":
						return s.optString("quickXorHash", &quickXor)
					case "sha256Hash":
						return s.optString("sha256Hash", &sha256)
					case "sha1Hash":
						return s.optString("sha1Hash", &sha1)
					}
					return s.skip()
				})
			})
		case "parentReference":
			it.ParentID, it.DriveID = "", ""
			if null, err := s.isNull(); null || err != nil {
				return err
			}
			if s.peek() != '{' {
				return errors.New("parentReference: want an object")
			}
			return s.object(func(key []byte) error {
				switch string(key) {
				case "id":
					return s.internString("parentReference.id", &it.ParentID, &s.lastParent)
				case "driveId":
					return s.internString("parentReference.driveId", &it.DriveID, &s.lastDrive)
				}
				return s.skip()
			})
		}
		return s.skip()
	})
	if err != nil {
		if it.ID != "" {
			return Item{}, fmt.Errorf("id %s: %w", shortText(it.ID, maxQuoted), err)
		}
		return Item{}, err
	}
	if it.ID == "" {
		return Item{}, errors.New("item has no id")
	}
	if len(it.ID) > maxIDLen || len(it.ParentID) > maxIDLen || len(it.DriveID) > maxIDLen {
		return Item{}, fmt.Errorf("id %s: an id of the item longer than %d bytes", shortText(it.ID, 40), maxIDLen)
	}
	switch {
	case quickXor != "":
		it.Hash = quickXor
	case sha256 != "":
		it.Hash = sha256
	case sha1 != "":
		it.Hash = sha1
	}
	it.Deleted = deleted || removed || atRemoved
	if modified != "" {
		t, err := parseTime(modified)
		if err != nil {
			return Item{}, fmt.Errorf("id %s: lastModifiedDateTime %s: not an RFC 3339 time", shortText(it.ID, maxQuoted), shortText(modified, 64))
		}
		it.Modified = t
	}
	it.Raw = json.RawMessage(s.b[start:s.i:s.i])
	return it, nil
}

// parseTime parses an RFC 3339 time the fast path did not take.
func parseTime(v string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, v)
}

// parseTimeFast parses the shape Graph sends, "2025-01-10T08:00:00Z" with an optional
// fraction of up to 9 digits, without allocating. It returns false for anything else
// (offsets, out-of-range fields), which then goes through time.Parse.
func parseTimeFast(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
