package delta_test

import (
	"slices"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestGraph_DroppedProperties runs rounds over HTTP against a drive whose delta answers drop
// the root facet, size, lastModifiedDateTime and file hashes, as Graph does at times
// (OneDrive/onedrive-api-docs#544, #966, #834): the baseline still builds a tree under the
// root, and later rounds report exactly the real changes, nothing DELETED.
func TestGraph_DroppedProperties(t *testing.T) {
	e := newEnv(t, graphtest.Options{OmitInDelta: []string{"root", "size", "lastModifiedDateTime", "hashes"}}, delta.Baseline, nil)
	if evs := e.poll(t); len(evs) != 0 {
		t.Fatalf("baseline reported %v", e.describe(evs))
	}
	e.s.Modify(e.ids["a"], []byte("new content"))
	e.ids["n"] = e.s.CreateFile(e.ids["B"], "n.txt", []byte("n"))
	e.s.Rename(e.ids["c"], "c2.txt")
	e.s.Touch(e.ids["d"])
	evs := e.poll(t)
	got := e.describe(evs)
	want := []string{
		"UPDATED a /A/a.txt [metadata]", // content unknown: neither size, cTag nor hashes came
		"UPDATED c /C/c2.txt <- /C/c.txt [name]",
		"UPDATED d /Out/D/d.txt [metadata]",
		"CREATED n /A/B/n.txt",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	for _, ev := range evs {
		if ev.Date.Year() < 2000 {
			t.Errorf("%s: date %v", ev.ItemID, ev.Date)
		}
	}
	checkOrder(t, evs)
}
