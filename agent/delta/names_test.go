package delta

import (
	"path"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

func TestSegment(t *testing.T) {
	tests := []struct{ name, want string }{
		{"report.pdf", "report.pdf"},
		{"100% done.docx", "100% done.docx"},
		{"Ünïcödé ✓", "Ünïcödé ✓"},
		{"...", "..."},
		{".hidden", ".hidden"},
		{"", "%00"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"a/b", "a%2Fb"},
		{"../../etc", "..%2F..%2Fetc"},
		{`a\b`, "a%5Cb"},
		{"tab\there", "tab%09here"},
		{"nl\n", "nl%0A"},
		{"esc\x1b[31m", "esc%1B[31m"},
		{"del\x7f", "del%7F"},
		{"c1\u009b", "c1%C2%9B"},
		{"bad\xffutf8", "bad%EF%BF%BDutf8"},
	}
	for _, tt := range tests {
		if got := segment(tt.name); got != tt.want {
			t.Errorf("segment(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// underFolder is the folder scope of the configuration: the folder and what is under it.
func underFolder(folder string) func(string) bool {
	return func(p string) bool { return p == folder || strings.HasPrefix(p, folder+"/") }
}

// TestRound_ForgedNames: names with '/', '..' or control characters are reported under the
// item's real parent and cannot move an item into or out of the folder scope, for this
// agent's scope check or for a receiver that cleans paths.
func TestRound_ForgedNames(t *testing.T) {
	items := []connector.Item{
		gi("x1", "R", "A/forged-in.txt", "etag=2"),    // really at the root: out of scope
		gi("x2", "C", "../A/forged-in.txt", "etag=2"), // really under /C: out of scope
		gi("x3", "A", "../../C/forged-out.txt", "etag=2"),
		gi("x4", "A", "..", "dir", "etag=2"),
		gi("x5", "x4", "in-dotdot.txt", "etag=2"),
		gi("x6", "A", "ctl\x1b[2J\r\nname", "etag=2"),
	}
	want := []string{
		"CREATED x3 /A/..%2F..%2FC%2Fforged-out.txt",
		"CREATED x4 /A/%2E%2E",
		"CREATED x6 /A/ctl%1B[2J%0D%0Aname",
		"CREATED x5 /A/%2E%2E/in-dotdot.txt",
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			events, db := runRound(t, baseTree(), v.shape(slices.Clone(items), false), underFolder("/A"), v.limits)
			if got := describeAll(events); !slices.Equal(got, want) {
				t.Errorf("events:\n got %q\nwant %q", got, want)
			}
			for _, ev := range events {
				if c := path.Clean(ev.Path); c != ev.Path || !strings.HasPrefix(c, "/A/") {
					t.Errorf("%s: path %q cleans to %q, outside /A", ev.ItemID, ev.Path, c)
				}
			}
			checkIndexTree(t, db)
		})
	}
}

// FuzzItemPath: whatever the names, a built path has exactly one segment per level of the
// index, each segment non-empty, not "." or "..", free of separators and control
// characters, so no reader can resolve it outside the item's real folder.
func FuzzItemPath(f *testing.F) {
	for _, s := range []string{"a", "", ".", "..", "a/b", "../x", `..\x`, "\x00", "\x1b[31m", "%2F", "\xff", "\u2215", "a\u0085b"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, folderName, name string) {
		tree := []connector.Item{
			gi("R", "", "root", "root"),
			gi("F", "R", folderName, "dir"),
			gi("I", "F", name),
			gi("J", "R", name),
		}
		db := seedDB(t, tree, "")
		err := db.View(func(tx Tx) error {
			p := newPaths(tx)
			for _, c := range []struct {
				id    string
				depth int
			}{{"F", 1}, {"I", 2}, {"J", 1}} {
				it, _, _ := tx.Item(c.id)
				got, ok, err := p.of(it)
				if err != nil || !ok {
					t.Fatalf("path of %s: %v %v", c.id, ok, err)
				}
				checkBuiltPath(t, got, c.depth)
			}
			folder, _, _ := p.folder("F")
			item, _, _ := tx.Item("I")
			ip, _, _ := p.of(item)
			if !strings.HasPrefix(ip, folder+"/") || path.Dir(ip) != folder {
				t.Fatalf("item path %q is not directly under its folder %q", ip, folder)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func checkBuiltPath(t *testing.T, p string, depth int) {
	t.Helper()
	if path.Clean(p) != p || !strings.HasPrefix(p, "/") {
		t.Fatalf("path %q is not clean (cleans to %q)", p, path.Clean(p))
	}
	segs := strings.Split(p[1:], "/")
	if len(segs) != depth {
		t.Fatalf("path %q has %d segments, want %d", p, len(segs), depth)
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsRune(s, '\\') || !utf8.ValidString(s) {
			t.Fatalf("path %q has segment %q", p, s)
		}
		for _, r := range s {
			if unicode.IsControl(r) {
				t.Fatalf("path %q carries control character %U", p, r)
			}
		}
	}
}
