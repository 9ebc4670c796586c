package graphtest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestServer_FullEnumeration(t *testing.T) {
	s := NewServer(Options{PageSize: 3})
	defer s.Close()
	smallTree(s)
	tok := s.IssueToken()

	items, deltaLink, pages := deltaRound(t, s.DeltaURL(), tok)
	if pages < 3 {
		t.Errorf("pages = %d, want at least 3 with page size 3", pages)
	}
	if !strings.HasPrefix(deltaLink, s.URL+"/v1.0/drives/") {
		t.Errorf("deltaLink %q is not absolute on the server", deltaLink)
	}
	tree := s.Tree()
	got := ids(items)
	if len(got) != len(tree) {
		t.Fatalf("got %d items, drive has %d: %v", len(got), len(tree), got)
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("item %s listed twice", id)
		}
		seen[id] = true
		if _, ok := tree[id]; !ok {
			t.Errorf("item %s is not in the drive", id)
		}
	}
	root := items[0]
	if root["id"] != s.Root() || root["root"] == nil || root["name"] != "root" {
		t.Errorf("first item is not the root: %v", root)
	}
	if parentID(root) != "" {
		t.Errorf("root parentReference has an id: %v", root["parentReference"])
	}
	for _, it := range items[1:] {
		if e := tree[it["id"].(string)]; parentID(it) != e.ParentID || it["name"] != e.Name || it["eTag"] != e.ETag {
			t.Errorf("item %v does not match the drive entry %+v", it, e)
		}
	}
}

func TestServer_DeltaCoalescing(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	_, link, _ := deltaRound(t, s.DeltaURL(), tok)

	// An unchanged drive: one request, no items.
	s.ResetRequests()
	items, link2, pages := deltaRound(t, link, tok)
	if len(items) != 0 || pages != 1 || s.Count(ClassDelta, 0) != 1 {
		t.Fatalf("unchanged drive: %d items, %d pages, %d requests", len(items), pages, s.Count(ClassDelta, 0))
	}

	before := s.Tree()[m["b1"]]
	s.Modify(m["b1"], []byte("v2"))
	s.Modify(m["b1"], []byte("v3 longer"))
	s.Rename(m["b1"], "renamed.txt")
	items, _, _ = deltaRound(t, link2, tok)
	got := byID(items)
	if n := strings.Count(strings.Join(ids(items), ","), m["b1"]); n != 1 {
		t.Fatalf("b1 listed %d times, want once: %v", n, ids(items))
	}
	b1 := got[m["b1"]]
	if b1["name"] != "renamed.txt" || b1["size"] != float64(len("v3 longer")) || b1["eTag"] == before.ETag {
		t.Errorf("b1 not in its latest state: %v", b1)
	}
	for _, anc := range []string{m["B"], m["A"], s.Root()} {
		if got[anc] == nil {
			t.Errorf("ancestor %s missing from %v", anc, ids(items))
		}
	}
	if len(items) != 4 {
		t.Errorf("items = %v, want b1 and its three ancestors", ids(items))
	}

	// ExcludeAncestors and Prefer: deltaExcludeParent both drop them.
	s.Configure(func(o *Options) { o.ExcludeAncestors = true })
	items, _, _ = deltaRound(t, link2, tok)
	if len(items) != 1 {
		t.Errorf("ExcludeAncestors: items = %v, want only b1", ids(items))
	}
}

func TestServer_FolderRenameEmitsOnlyFolder(t *testing.T) {
	s := NewServer(Options{ExcludeAncestors: true})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	_, link, _ := deltaRound(t, s.DeltaURL(), tok)
	s.Rename(m["A"], "A2")
	s.Move(m["B"], m["C"])
	items, _, _ := deltaRound(t, link, tok)
	if got, want := ids(items), []string{m["A"], m["B"]}; !sameSet(got, want) {
		t.Fatalf("items = %v, want only the folders %v", got, want)
	}
	if parentID(byID(items)[m["B"]]) != m["C"] {
		t.Errorf("B not under C: %v", byID(items)[m["B"]])
	}
	if p, _ := s.Lookup("/C/B/b1.txt"); p != m["b1"] {
		t.Errorf("Lookup after move = %q, want %q", p, m["b1"])
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestServer_Ordering(t *testing.T) {
	for _, order := range []Order{ParentFirst, ChildFirst, Shuffled} {
		s := NewServer(Options{Order: order, Seed: 7})
		m := smallTree(s)
		tok := s.IssueToken()
		full, link, _ := deltaRound(t, s.DeltaURL(), tok)
		s.Modify(m["b2"], []byte("x"))
		change, _, _ := deltaRound(t, link, tok)
		for name, items := range map[string][]map[string]any{"full": full, "change": change} {
			pos := map[string]int{}
			for k, it := range items {
				pos[it["id"].(string)] = k
			}
			parentFirst, childFirst := true, true
			for _, it := range items {
				if p, ok := pos[parentID(it)]; ok {
					parentFirst = parentFirst && p < pos[it["id"].(string)]
					childFirst = childFirst && p > pos[it["id"].(string)]
				}
			}
			switch order {
			case ParentFirst:
				if !parentFirst {
					t.Errorf("ParentFirst %s round: a child precedes its parent: %v", name, ids(items))
				}
			case ChildFirst:
				if !childFirst {
					t.Errorf("ChildFirst %s round: a parent precedes its child: %v", name, ids(items))
				}
			case Shuffled:
				if name == "full" && (parentFirst || childFirst) {
					t.Errorf("Shuffled full round is sorted: %v", ids(items))
				}
			}
		}
		s.Close()
	}
}

func TestServer_DeletedFacets(t *testing.T) {
	for _, personal := range []bool{false, true} {
		for _, descendants := range []bool{false, true} {
			s := NewServer(Options{Personal: personal, DeletedDescendants: descendants, ExcludeAncestors: true})
			m := smallTree(s)
			tok := s.IssueToken()
			_, link, _ := deltaRound(t, s.DeltaURL(), tok)
			s.Delete(m["top"])
			s.Delete(m["A"])
			items, _, _ := deltaRound(t, link, tok)
			want := []string{m["top"], m["A"]}
			if descendants {
				want = append(want, m["a1"], m["B"], m["b1"], m["b2"])
			}
			if !sameSet(ids(items), want) {
				t.Errorf("personal=%v descendants=%v: items %v, want %v", personal, descendants, ids(items), want)
			}
			for _, it := range items {
				del, _ := it["deleted"].(map[string]any)
				if del["state"] != "deleted" {
					t.Errorf("no deleted facet: %v", it)
				}
				_, hasName := it["name"]
				_, hasSize := it["size"]
				if it["cTag"] != nil || hasName != personal || hasSize == personal {
					t.Errorf("personal=%v: deleted item has wrong properties: %v", personal, it)
				}
				if parentID(it) == "" {
					t.Errorf("deleted item lacks parentReference.id: %v", it)
				}
			}
			if _, ok := s.Lookup("/A/B"); ok || s.Len() != 2 {
				t.Errorf("after deletes Len = %d, /A/B still found = %v", s.Len(), ok)
			}
			s.Close()
		}
	}
}

func TestServer_TokenLatestAndSelect(t *testing.T) {
	s := NewServer(Options{LinkStyle: FunctionLinks})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	p := fetchPage(t, s.DeltaURL()+"?token=latest", tok)
	if len(p.Value) != 0 || !strings.Contains(p.Delta, "delta(token='") {
		t.Fatalf("token=latest: %d items, deltaLink %q", len(p.Value), p.Delta)
	}
	s.Touch(m["a1"])
	items, link, _ := deltaRound(t, p.Delta+"?$select=id,name", tok)
	if len(items) == 0 {
		t.Fatal("no items after Touch")
	}
	for _, it := range items {
		for k := range it {
			if k != "id" && k != "name" {
				t.Errorf("$select=id,name but item has %q: %v", k, it)
			}
		}
	}
	if !strings.Contains(link, "$select=id%2Cname") {
		t.Errorf("deltaLink %q does not carry $select", link)
	}
}

func TestServer_PagingKnobs(t *testing.T) {
	s := NewServer(Options{PageSize: 4, EmptyPageEvery: 1, DuplicateEvery: 3, DeletePageSize: 2, ExcludeAncestors: true})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	var empty int
	u := s.DeltaURL()
	var all []map[string]any
	for {
		p := fetchPage(t, u, tok)
		if len(p.Value) == 0 && p.Next != "" {
			empty++
		}
		all = append(all, p.Value...)
		if p.Delta != "" {
			u = p.Delta
			break
		}
		u = p.Next
	}
	if empty == 0 {
		t.Error("EmptyPageEvery=1 produced no empty page")
	}
	if len(all) <= len(s.Tree()) {
		t.Errorf("DuplicateEvery=3: %d items for %d entries, want duplicates", len(all), len(s.Tree()))
	}
	s.Delete(m["a1"])
	s.Delete(m["b1"])
	s.Delete(m["b2"])
	p := fetchPage(t, u+"&$top=50", tok)
	if len(p.Value) != 2 {
		t.Errorf("DeletePageSize=2: first page of deletions has %d items", len(p.Value))
	}
}

func TestServer_Routes(t *testing.T) {
	s := NewServer(Options{Personal: true})
	defer s.Close()
	smallTree(s)
	user, app := s.IssueToken(), s.IssueAppToken()
	for _, path := range []string{"/me/drive", "/users/u1/drive", "/sites/s1/drive", "/drives/" + s.DriveID()} {
		resp, b := get(t, s.GraphURL()+path, user)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"driveType":"personal"`) ||
			!strings.Contains(string(b), `"id":"`+s.DriveID()+`"`) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != GraphContentType {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
	for _, path := range []string{"/me/drive/root/delta", "/users/x/drive/root/delta",
		"/groups/g/drive/root/delta", "/drives/" + s.DriveID() + "/items/" + s.Root() + "/delta"} {
		if items, _, _ := deltaRound(t, s.GraphURL()+path, user); len(items) != len(s.Tree()) {
			t.Errorf("%s: %d items", path, len(items))
		}
	}
	resp, b := get(t, s.GraphURL()+"/me/drive", app)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("/me with app token: %d %s", resp.StatusCode, b)
	}
	decodeGraphErr(t, b)
	if resp, _ := get(t, s.GraphURL()+"/users/u1/drive", app); resp.StatusCode != 200 {
		t.Errorf("/users/u1/drive with app token: %d", resp.StatusCode)
	}
	if resp, b := get(t, s.GraphURL()+"/drives/nope/root/delta", user); resp.StatusCode != 404 {
		t.Errorf("unknown drive: %d %s", resp.StatusCode, b)
	}
	resp, b = get(t, s.DeltaURL()+"?token=2026-01-01T00:00:00Z", user)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("timestamp token on a personal drive: %d %s", resp.StatusCode, b)
	}
}

func TestServer_TimestampToken(t *testing.T) {
	clk := newClock()
	s := NewServer(Options{Now: clk.Now, ExcludeAncestors: true})
	defer s.Close()
	m := smallTree(s)
	clk.Advance(time.Hour)
	mark := clk.Now()
	clk.Advance(time.Minute)
	s.Touch(m["b2"])
	items, _, _ := deltaRound(t, s.DeltaURL()+"?token="+mark.Format(time.RFC3339), s.IssueToken())
	if got := ids(items); len(got) != 1 || got[0] != m["b2"] {
		t.Errorf("changes since %s: %v, want only b2", mark, got)
	}
}

func TestNewTLSServer(t *testing.T) {
	s := NewTLSServer(Options{AllowAnonymous: true})
	defer s.Close()
	if !strings.HasPrefix(s.GraphURL(), "https://") {
		t.Fatalf("GraphURL = %s", s.GraphURL())
	}
	resp, err := s.Client().Get(s.DeltaURL())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("anonymous GET over TLS: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestServer_ItemRoutes(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	resp, b := get(t, s.GraphURL()+"/me/drive/items/"+m["b1"]+"?$select=id,cTag", tok)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"cTag":`) || strings.Contains(string(b), `"name"`) {
		t.Errorf("GET item with $select: %d %s", resp.StatusCode, b)
	}
	if resp, _ := get(t, s.GraphURL()+"/me/drive/root", tok); resp.StatusCode != 200 {
		t.Errorf("GET root: %d", resp.StatusCode)
	}
	s.Delete(m["b1"])
	if resp, _ := get(t, s.GraphURL()+"/me/drive/items/"+m["b1"], tok); resp.StatusCode != 404 {
		t.Errorf("GET deleted item: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.GraphURL()+"/nothing/here", tok); resp.StatusCode != 400 || s.Count(ClassOther, 400) != 1 {
		t.Errorf("unknown route: %d, counted %d", resp.StatusCode, s.Count(ClassOther, 400))
	}
}

// TestServer_OmitInDelta: the properties named in OmitInDelta are left out of delta items,
// with and without $select, while a GET of the item still carries them.
func TestServer_OmitInDelta(t *testing.T) {
	omit := []string{"root", "size", "cTag", "lastModifiedDateTime", "hashes"}
	s := NewServer(Options{OmitInDelta: omit, CTagInDelta: true})
	defer s.Close()
	m := smallTree(s)
	tok := s.IssueToken()
	for _, query := range []string{"", "?$select=id,name,size,cTag,lastModifiedDateTime,file,folder,root,parentReference"} {
		items, _, _ := deltaRound(t, s.DeltaURL()+query, tok)
		for _, it := range items {
			for _, k := range []string{"root", "size", "cTag", "lastModifiedDateTime"} {
				if _, ok := it[k]; ok {
					t.Errorf("query %q: delta item %v carries %s", query, it["name"], k)
				}
			}
			if f, ok := it["file"].(map[string]any); ok && f["hashes"] != nil {
				t.Errorf("query %q: delta item %v carries file.hashes", query, it["name"])
			}
			if it["name"] == nil {
				t.Errorf("query %q: delta item %v lost its name", query, it["id"])
			}
		}
	}
	resp, b := get(t, s.GraphURL()+"/me/drive/items/"+m["b1"], tok)
	for _, k := range []string{`"size"`, `"cTag"`, `"lastModifiedDateTime"`, `"quickXorHash"`} {
		if resp.StatusCode != 200 || !strings.Contains(string(b), k) {
			t.Errorf("GET item outside delta lacks %s: %d %s", k, resp.StatusCode, b)
		}
	}
}
