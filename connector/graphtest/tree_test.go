package graphtest

import (
	"encoding/base64"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestQuickXorHash(t *testing.T) {
	// Vectors published with rclone's quickxorhash package (input, hash).
	vectors := []struct{ in, out string }{
		{"", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{"Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="},
		{"eAV52qE=", "eChAHrQRCgAAAAAABQAAAAAAAAA="},
		{"2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="},
		{"NbYXsp5/K6mR+NmHwExjvWeWDJFnXTKWVlzYHoesp2E=", "wjuAuWDiq04qDt1R8hHWDDcwVoQ="},
	}
	for _, v := range vectors {
		in, err := base64.StdEncoding.DecodeString(v.in)
		if err != nil {
			t.Fatal(err)
		}
		sum := quickXorHash(in)
		if got := base64.StdEncoding.EncodeToString(sum[:]); got != v.out {
			t.Errorf("quickXorHash(%q) = %s, want %s", v.in, got, v.out)
		}
	}
}

func TestServer_Mutations(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	m := smallTree(s)
	v := s.Version()
	before := s.Tree()

	s.Touch(m["a1"])
	after := s.Tree()[m["a1"]]
	if after.ETag == before[m["a1"]].ETag || after.CTag != before[m["a1"]].CTag || after.QuickXorHash != before[m["a1"]].QuickXorHash {
		t.Errorf("Touch: eTag must change, cTag and hash stay: %+v -> %+v", before[m["a1"]], after)
	}
	s.Modify(m["a1"], []byte("new content"))
	mod := s.Tree()[m["a1"]]
	if mod.CTag == after.CTag || mod.ETag == after.ETag || mod.Size != 11 {
		t.Errorf("Modify: %+v", mod)
	}
	if s.Version() != v+2 {
		t.Errorf("Version = %d, want %d", s.Version(), v+2)
	}
	if root := s.Tree()[s.Root()]; root.Size != int64(len("new content")+len("b1b2top")) {
		t.Errorf("root size = %d", root.Size)
	}
	s.MoveRename(m["B"], s.Root(), "B2")
	paths := s.Paths()
	if paths["/B2/b1.txt"] != m["b1"] || paths["/A/B/b1.txt"] != "" {
		t.Errorf("paths after MoveRename: %v", paths)
	}
	if e, ok := s.Item(m["A"]); !ok || e.Size != 11 || e.Path != "/A" {
		t.Errorf("Item(A) = %+v, %v", e, ok)
	}
	mustPanic(t, "duplicate name", func() { s.CreateFile(s.Root(), "top.TXT", nil) })
	mustPanic(t, "move into itself", func() { s.Move(m["A"], m["A"]) })
	mustPanic(t, "unknown id", func() { s.Touch("nope") })
	s.Delete(m["A"])
	mustPanic(t, "deleted id", func() { s.Touch(m["a1"]) })
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	fn()
}

func TestServer_Populate(t *testing.T) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("GRAPHTEST_POPULATE")); err == nil {
		n = v // e.g. GRAPHTEST_POPULATE=1000000 go test -run Populate -v ./connector/graphtest
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	s := NewServer(Options{PageSize: 999})
	defer s.Close()
	start := time.Now()
	s.Populate(n, 1)
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	t.Logf("Populate(%d): %v, heap +%d MB", n, took, (int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))>>20)
	if s.Len() != n+1 {
		t.Fatalf("Len = %d, want %d", s.Len(), n+1)
	}
	items, _, pages := deltaRound(t, s.DeltaURL(), s.IssueToken())
	if len(items) != n+1 || pages != (n+1+998)/999 {
		t.Errorf("enumeration: %d items in %d pages", len(items), pages)
	}
	seen := map[string]bool{s.Root(): true}
	for _, it := range items[1:] { // parent first: every parent already seen
		if !seen[parentID(it)] {
			t.Fatalf("item %v listed before its parent", it)
		}
		seen[it["id"].(string)] = true
	}
	var total int64
	for _, it := range items {
		if it["file"] != nil {
			total += int64(it["size"].(float64))
		}
	}
	if root := items[0]; int64(root["size"].(float64)) != total {
		t.Errorf("root size %v, files total %d", root["size"], total)
	}
}
