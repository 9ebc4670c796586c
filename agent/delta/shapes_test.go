package delta

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// The items below are shaped like the driveItems quoted in Microsoft's public issue
// trackers, each named next to its use, decoded by the connector as a real page would be.

// graphItems decodes driveItem objects the way the connector decodes a delta page.
func graphItems(t *testing.T, items ...string) []connector.Item {
	t.Helper()
	page := `{"value":[` + strings.Join(items, ",") + `],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/x"}`
	p, err := connector.DecodePage(strings.NewReader(page))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return p.Items
}

// rootNoFacet is the drive root as OneDrive for Business returned it in delta with a
// $select: a name "root" and a folder facet, but no root facet, no parentReference, no eTag
// and no lastModifiedDateTime (OneDrive/onedrive-api-docs#544).
const rootNoFacet = `{"@odata.type":"#microsoft.graph.driveItem","id":"R","name":"root",
	"fileSystemInfo":{"createdDateTime":"2017-03-07T23:00:54Z","lastModifiedDateTime":"2017-03-12T16:51:17Z"},
	"folder":{"childCount":4}}`

// TestRound_RootWithoutFacet: the known root sent without its facet stays the root: the
// round's real changes are reported, nothing is reported DELETED, and the index keeps a tree.
func TestRound_RootWithoutFacet(t *testing.T) {
	items := graphItems(t, rootNoFacet,
		`{"id":"A","name":"A","eTag":"1","folder":{"childCount":3},"parentReference":{"driveId":"drv","id":"R"}}`,
		`{"id":"n1","name":"new.txt","eTag":"2","size":5,"lastModifiedDateTime":"2026-11-26T10:00:00Z",
		  "file":{"hashes":{"quickXorHash":"q"}},"parentReference":{"driveId":"drv","id":"A"}}`,
		`{"id":"a1","name":"a.txt","eTag":"2","size":20,"lastModifiedDateTime":"2026-11-26T10:00:00Z",
		  "file":{"hashes":{"quickXorHash":"h2"}},"parentReference":{"driveId":"drv","id":"A"}}`,
	)
	want := []string{"UPDATED a1 /A/a.txt [content]", "CREATED n1 /A/new.txt"}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			events, db := runRound(t, baseTree(), v.shape(slices.Clone(items), false), nil, v.limits)
			if got := describeAll(events); !slices.Equal(got, want) {
				t.Errorf("events:\n got %q\nwant %q", got, want)
			}
			if root := db.s.items["R"]; !root.Root || root.ParentID != "" {
				t.Errorf("index root = %+v, want still the root", root)
			}
			checkIndexTree(t, db)
		})
	}
}

// TestRound_FirstEnumerationRootWithoutFacet: the first enumeration of a drive whose root
// comes as in OneDrive/onedrive-api-docs#544 (and whose files lack size, as in
// OneDrive/onedrive-api-docs#966) still indexes a tree under the root, so the next round
// reports with paths.
func TestRound_FirstEnumerationRootWithoutFacet(t *testing.T) {
	f := newLinkFeed()
	f.chain("fresh", "delta-1", graphItems(t, rootNoFacet,
		`{"id":"H","name":"hello.txt","eTag":"\"{D2AD},1\"","file":{"hashes":{"quickXorHash":"aCgD"}},
		  "fileSystemInfo":{"createdDateTime":"2017-03-12T16:51:16Z"},"parentReference":{"driveId":"drv","id":"R"}}`,
	), 10)
	f.chain("delta-1", "delta-2", graphItems(t, rootNoFacet,
		`{"id":"H","name":"hello2.txt","eTag":"\"{D2AD},2\"","file":{"hashes":{"quickXorHash":"aCgD"}},
		  "parentReference":{"driveId":"drv","id":"R"}}`,
	), 10)
	db := newFakeDB()
	r := newRound(f.fetch, Limits{})
	for _, want := range [][]string{nil, {"UPDATED H /hello2.txt <- /hello.txt [name]"}} {
		before := len(db.s.emitted)
		if _, err := r.Run(context.Background(), db, "fresh"); err != nil {
			t.Fatal(err)
		}
		if got := describeAll(db.s.emitted[before:]); !slices.Equal(got, want) {
			t.Errorf("events:\n got %q\nwant %q", got, want)
		}
	}
	if root := db.s.items["R"]; !root.Root {
		t.Errorf("index root = %+v", root)
	}
	checkIndexTree(t, db)
}

func TestRound_OmittedProperties(t *testing.T) {
	tree := baseTree()
	for i := range tree {
		if tree[i].ID == "a1" {
			tree[i].CTag = "c1"
		}
	}
	tests := []struct {
		name  string
		items []string
		want  []string
		date  time.Time // of the first event; zero: not checked
	}{
		{
			// OneDrive for Business delta leaves size out (OneDrive/onedrive-api-docs#966):
			// an unknown size is not a content change.
			name: "size missing",
			items: []string{`{"id":"a1","name":"a.txt","eTag":"2","cTag":"c1","lastModifiedDateTime":"2026-11-26T10:00:00Z",
				"file":{"hashes":{"quickXorHash":"h-a1"}},"parentReference":{"driveId":"drv","id":"A"}}`},
			want: []string{"UPDATED a1 /A/a.txt [metadata]"},
		},
		{
			// cTag dropped when parentReference is selected (OneDrive/onedrive-api-docs#570).
			name: "cTag missing",
			items: []string{`{"id":"a1","name":"a.txt","eTag":"2","size":10,"lastModifiedDateTime":"2026-11-26T10:00:00Z",
				"file":{"hashes":{"quickXorHash":"h-a1"}},"parentReference":{"driveId":"drv","id":"A"}}`},
			want: []string{"UPDATED a1 /A/a.txt [metadata]"},
		},
		{
			// A file facet without hashes (the removed file in wisecom-oy/atlas#145 carries
			// only {"file":{}}); a file item may come the same way.
			name: "hashes missing",
			items: []string{`{"id":"a1","name":"a.txt","eTag":"2","cTag":"c1","size":10,"lastModifiedDateTime":"2026-11-26T10:00:00Z",
				"file":{},"parentReference":{"driveId":"drv","id":"A"}}`},
			want: []string{"UPDATED a1 /A/a.txt [metadata]"},
		},
		{
			// A live item without lastModifiedDateTime (only fileSystemInfo, as the items of
			// OneDrive/onedrive-api-docs#544): the event is dated when the agent saw it.
			name: "lastModifiedDateTime missing",
			items: []string{`{"id":"n1","name":"n.txt","eTag":"1","file":{"hashes":{"quickXorHash":"q"}},
				"fileSystemInfo":{"createdDateTime":"2017-03-12T16:51:16Z"},"parentReference":{"driveId":"drv","id":"A"}}`},
			want: []string{"CREATED n1 /A/n.txt"},
			date: seen,
		},
		{
			// A tombstone without name or times (OneDrive/onedrive-api-docs#834): the path is
			// the one the index knew.
			name: "tombstone without name",
			items: []string{`{"@odata.type":"#oneDrive.item","id":"a1","parentReference":{"driveId":"drv","driveType":"business","id":"A"},
				"deleted":{"state":"deleted"}}`},
			want: []string{"DELETED a1 /A/a.txt"},
			date: seen,
		},
		{
			// A tombstone with year-one times and no parentReference id
			// (OneDrive/onedrive-api-docs#535).
			name: "tombstone with year-one time",
			items: []string{`{"id":"b1","createdDateTime":"0001-01-01T00:00:00-08:00","lastModifiedDateTime":"0001-01-01T00:00:00-08:00",
				"deleted":{"state":"deleted"}}`},
			want: []string{"DELETED b1 /A/B/b.txt"},
			date: seen,
		},
		{
			// A stray folder without a deleted facet and with a parentReference of another
			// drive that has no id (OneDrive/onedrive-api-docs#561): not the root, not indexed,
			// not reported.
			name: "stray parentless folder",
			items: []string{`{"parentReference":{"driveId":"f38c1bed489ee12f"},"webUrl":"xxx",
				"fileSystemInfo":{"createdDateTime":"2015-06-25T15:26:23.0766667Z","lastModifiedDateTime":"2017-02-24T18:06:26.67Z"},
				"folder":{"childCount":73},"id":"F38C1BED489EE12F!1108","size":25398299108}`},
			want: nil,
		},
		{
			// A stray parentless folder that happens to be named "root" is not taken for the
			// root once the real one is indexed.
			name:  "stray parentless folder named root",
			items: []string{`{"parentReference":{"driveId":"f38c1bed489ee12f"},"name":"root","folder":{"childCount":1},"id":"X!1","size":1}`},
			want:  nil,
		},
		{
			// The same shape for an indexed folder: it left the drive's tree, so it and what
			// was under it are reported DELETED.
			name:  "indexed folder turns parentless",
			items: []string{`{"parentReference":{"driveId":"f38c1bed489ee12f"},"folder":{"childCount":1},"id":"C","eTag":"7","size":1}`},
			want:  []string{"DELETED c1 /C/c.txt", "DELETED C /C"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, db := runRound(t, tree, [][]connector.Item{graphItems(t, tt.items...)}, nil, Limits{})
			if got := describeAll(events); !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
			roots := 0
			for _, it := range db.s.items {
				if it.Root {
					roots++
				}
			}
			if roots != 1 {
				t.Errorf("%d roots indexed", roots)
			}
			if !tt.date.IsZero() && (len(events) == 0 || !events[0].Date.Equal(tt.date)) {
				t.Errorf("date = %v, want %v", events, tt.date)
			}
			checkIndexTree(t, db)
		})
	}
}

// TestRound_OmittedSizeKeepsIndexedSize: after a round without size, a round with the
// unchanged size again is no content change either.
func TestRound_OmittedSizeKeepsIndexedSize(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	f := &feed{rounds: [][][]connector.Item{
		{graphItems(t, `{"id":"a1","name":"a.txt","eTag":"2","file":{"hashes":{"quickXorHash":"h-a1"}},"parentReference":{"driveId":"drv","id":"A"}}`)},
		{graphItems(t, `{"id":"a1","name":"a.txt","eTag":"3","size":10,"file":{"hashes":{"quickXorHash":"h-a1"}},"parentReference":{"driveId":"drv","id":"A"}}`)},
	}}
	r := &Round{Fetch: f.fetch, Emit: fakeEmit, Now: func() time.Time { return seen }}
	for i := 0; i < 2; i++ {
		if _, err := r.Run(context.Background(), db, "fresh"); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"UPDATED a1 /A/a.txt [metadata]", "UPDATED a1 /A/a.txt [metadata]"}
	if got := describeAll(db.s.emitted); !slices.Equal(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	if it := db.s.items["a1"]; it.Size != 10 {
		t.Errorf("indexed size = %d, want 10", it.Size)
	}
}
