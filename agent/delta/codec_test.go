package delta

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

func TestStaged_RoundTrip(t *testing.T) {
	for _, s := range []staged{
		{ID: "x"},
		{ID: "a1", Name: "a.txt", ParentID: "A", ETag: "e", CTag: "c", Hash: "h", Size: -1, Modified: t0,
			Folder: true, Root: true, Deleted: true, Inferred: true, Raw: []byte(`{"id":"a1"}`)},
		{ID: "b1", Name: "b", HasBefore: true, B: before{Existed: true, Folder: true, Root: true, PathOK: true, InScope: true,
			ParentID: "B", Name: "old", ETag: "1", CTag: "2", Hash: "3", Size: 1 << 40, Modified: t1, Path: "/x/old"}},
	} {
		got, err := decodeStaged(s.ID, encodeStaged(&s))
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
}

func TestRoundState_RoundTrip(t *testing.T) {
	s := &roundState{ID: 42, Phase: phaseEvents, Mode: modeReconcile, Resync: true, ResyncNext: true, BeforeStaged: true, Next: "n", Delta: "d",
		Pages: 7, Items: 9, Seen: seen, Pos: "p", Seq: 3, Events: 5, Emitted: 2, DriveID: "drv"}
	for i := range 20 {
		s.remember(string(rune('a' + i)))
	}
	if len(s.Recent) != recentLinks || !s.seen("t") || s.seen("a") {
		t.Fatalf("recent links: %d, t %v, a %v", len(s.Recent), s.seen("t"), s.seen("a"))
	}
	got, err := decodeRound(encodeRound(s))
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}

// TestRoundState_EmitFormat: a round in the emit phase that has handed
// events over is written in a format of its own, which versions that deleted
// each emitted event refuse (they would emit those events again); any other
// state keeps the first format. A format that does not match the state is
// damage.
func TestRoundState_EmitFormat(t *testing.T) {
	tests := []struct {
		name string
		st   roundState
		want byte
	}{
		{"events phase", roundState{ID: 1, Phase: phaseEvents, Pos: "item-9"}, fmtRound},
		{"emit phase, nothing emitted", roundState{ID: 1, Phase: phaseEmit}, fmtRound},
		{"emit phase, events emitted", roundState{ID: 1, Phase: phaseEmit, Pos: "\x01\x00\x02\x01item-9", Emitted: 256}, fmtRoundEmitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeRound(&tt.st)
			if b[0] != tt.want {
				t.Fatalf("format %d, want %d", b[0], tt.want)
			}
			got, err := decodeRound(b)
			if err != nil || !reflect.DeepEqual(*got, tt.st) {
				t.Fatalf("round trip: %+v, %v", got, err)
			}
			b[0] = fmtRound + fmtRoundEmitted - b[0] // the other format
			if _, err := decodeRound(b); !errors.Is(err, errDamaged) {
				t.Errorf("with the other format: %v, want errDamaged", err)
			}
		})
	}
}

func TestEvent_RoundTrip(t *testing.T) {
	for _, ev := range []Event{
		{Type: Created, ItemID: "a", ParentID: "p", Name: "n", Folder: true, Path: "/n", Date: t0, Raw: []byte(`{}`)},
		{Type: Updated, ItemID: "a", Path: "/m", OldPath: "/n", Changes: []string{"parent", "name", "content", "metadata"}},
		{Type: Deleted, ItemID: "a", Path: "/n", Date: seen},
	} {
		got, err := decodeEvent(encodeEvent(&ev))
		if err != nil || !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip of %+v: %+v, %v", ev, got, err)
		}
	}
}

// TestEvent_RawStaged: an event whose raw item is its staged record's keeps
// no copy of it; stagedRaw finds it in the staged record; a pending event of
// the previous format (with its raw item) still decodes.
func TestEvent_RawStaged(t *testing.T) {
	raw := []byte(`{"id":"a1","name":"a.txt"}`)
	ev := Event{Type: Created, ItemID: "a1", Path: "/a.txt", Date: t0, Raw: raw, rawStaged: true}
	rec := encodeEvent(&ev)
	if bytes.Contains(rec, raw) {
		t.Errorf("the pending event keeps a copy of the raw item")
	}
	got, err := decodeEvent(rec)
	if err != nil || !got.rawStaged || got.Raw != nil {
		t.Fatalf("decoded %+v, %v; want rawStaged without Raw", got, err)
	}
	for _, s := range []staged{
		{ID: "a1", Name: "a.txt", ParentID: "A", ETag: "e", CTag: "c", Hash: "h", Size: 5, Modified: t0, Raw: raw},
		{ID: "a1", Raw: raw, HasBefore: true, B: before{Existed: true, Name: "old", Path: "/old"}},
	} {
		if got, err := stagedRaw(s.ID, encodeStaged(&s)); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("stagedRaw of %+v = %q, %v", s, got, err)
		}
	}
	if _, err := stagedRaw("x", []byte{fmtStaged, 0, 3}); !errors.Is(err, errDamaged) {
		t.Errorf("stagedRaw of a damaged record: %v, want errDamaged", err)
	}
	v1 := encodeEvent(&Event{Type: Deleted, ItemID: "b", Path: "/b", Raw: raw})
	v1 = append(v1[:len(v1)-len(raw)-2], v1[len(v1)-len(raw)-1:]...) // drop the flag
	v1[0] = 1
	if got, err := decodeEvent(v1); err != nil || got.ItemID != "b" || !bytes.Equal(got.Raw, raw) || got.rawStaged {
		t.Errorf("format 1 event: %+v, %v", got, err)
	}
}

func TestEventKey_Order(t *testing.T) {
	ordered := []Event{
		{Type: Deleted, ItemID: "z", Path: "/a/b/c"},
		{Type: Deleted, ItemID: "a", Path: "/a/b"},
		{Type: Deleted, ItemID: "b", Path: "/a/c"},
		{Type: Deleted, ItemID: "a0", Path: "/a"},
		{Type: Updated, ItemID: "z", Path: "/z"},
		{Type: Created, ItemID: "a", Path: "/a"},
		{Type: Created, ItemID: "b", Path: "/b"},
		{Type: Updated, ItemID: "y", Path: "/a/y"},
		{Type: Created, ItemID: "x", Path: "/a/x"},
	}
	for i := 1; i < len(ordered); i++ {
		if bytes.Compare(eventKey(&ordered[i-1]), eventKey(&ordered[i])) >= 0 {
			t.Errorf("%s should sort before %s", describe(ordered[i-1]), describe(ordered[i]))
		}
	}
}

func TestDecode_Damaged(t *testing.T) {
	rec := encodeStaged(&staged{ID: "a", Name: "name", Raw: []byte("raw")})
	for i := range rec {
		if _, err := decodeStaged("a", rec[:i]); !errors.Is(err, errDamaged) {
			t.Errorf("truncated at %d: %v", i, err)
		}
	}
	if _, err := decodeStaged("a", append(rec, 0)); !errors.Is(err, errDamaged) {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := decodeRound([]byte{fmtRound, 1, 9, 0, 0}); err == nil {
		t.Error("bad phase accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encodeStaged(&staged{ID: "a", Name: "n", HasBefore: true, B: before{Path: "/p"}}))
	f.Add(encodeRound(&roundState{ID: 1, Recent: []uint64{1, 2}}))
	f.Add(encodeEvent(&Event{Type: Updated, Changes: []string{"name"}}))
	f.Add(encodeWork(&work{Folder: "f", OldPath: "/o", OldOK: true}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := decodeStaged("id", b); err == nil {
			if got, err := decodeStaged("id", encodeStaged(&s)); err != nil || !reflect.DeepEqual(got, s) {
				t.Errorf("staged re-encoding differs: %+v %+v %v", s, got, err)
			}
		}
		decodeRound(b)
		decodeEvent(b)
		decodeWork(b)
	})
}

func TestPaths_Of(t *testing.T) {
	db := seedDB(t, baseTree(), "")
	db.s.items["x1"] = store.Item{ID: "x1", ParentID: "missing", Name: "x"}
	db.s.items["c1"] = store.Item{ID: "c1", ParentID: "c2", Name: "c1", Folder: true}
	db.s.items["c2"] = store.Item{ID: "c2", ParentID: "c1", Name: "c2", Folder: true}
	db.s.items["y1"] = store.Item{ID: "y1", ParentID: "c1", Name: "y"}
	p := newPaths(&fakeTx{s: db.s})
	for _, c := range []struct {
		id, want string
		ok       bool
	}{{"R", "", true}, {"A", "/A", true}, {"b1", "/A/B/b.txt", true}, {"d1", "/Out/D/d.txt", true}, {"x1", "", false}, {"y1", "", false}} {
		got, ok, err := p.of(db.s.items[c.id])
		if err != nil || got != c.want || ok != c.ok {
			t.Errorf("path of %s: %q %v %v; want %q %v", c.id, got, ok, err, c.want, c.ok)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 120000: "120,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInProgress(t *testing.T) {
	db := seedDB(t, baseTree(), "delta-0")
	if _, ok, err := InProgress(&fakeTx{s: db.s}); ok || err != nil {
		t.Fatalf("no round: %v %v", ok, err)
	}
	f := newLinkFeed()
	f.chain("delta-0", "delta-1", []connector.Item{del("a1"), del("c1")}, 1)
	f.fail["delta-0/p-1"] = errors.New("offline")
	newRound(f.fetch, Limits{BufferItems: 1}).Run(t.Context(), db, "fresh")
	p, ok, err := InProgress(&fakeTx{s: db.s})
	want := Progress{Phase: "fetch", Mode: "incremental", Pages: 1, Items: 1, Started: seen}
	if !ok || err != nil || p != want {
		t.Errorf("progress %+v %v %v, want %+v", p, ok, err, want)
	}
}
