package instore

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// TestHandle_CommittedPerChunk: the committed callback (the events metric,
// and the wake-up of the delivery loop) hears of every committed
// transaction that queued events, for the instance and for one of its
// drives, and never of a rolled-back one or one without events.
func TestHandle_CommittedPerChunk(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "agent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.EnsureInstance("finance"); err != nil {
		t.Fatal(err)
	}
	var got []map[string]int
	h := New(db, "finance", func(events map[string]int) { got = append(got, events) })
	for _, dbv := range []struct {
		name string
		db   delta.DB
	}{{"instance", h}, {"drive", h.Drive("b!drive-1")}} {
		for _, tc := range []struct {
			name   string
			events []delta.Event
			fail   error
			want   int
		}{
			{"events committed", []delta.Event{{Type: delta.Created}, {Type: delta.Created}, {Type: delta.Deleted}}, nil, 1},
			{"no events", nil, nil, 0},
			{"rolled back", []delta.Event{{Type: delta.Created}}, errors.New("disk full"), 0},
		} {
			t.Run(dbv.name+"/"+tc.name, func(t *testing.T) {
				got = nil
				err := dbv.db.Update(func(tx delta.Tx) error {
					if len(tc.events) > 0 {
						tx.(*Tx).Count(tc.events)
					}
					return tc.fail
				})
				if !errors.Is(err, tc.fail) {
					t.Fatalf("Update = %v, want %v", err, tc.fail)
				}
				if len(got) != tc.want {
					t.Fatalf("committed called %d times, want %d", len(got), tc.want)
				}
				if tc.want == 1 && (got[0][delta.Created] != 2 || got[0][delta.Deleted] != 1) {
					t.Errorf("counts %v", got[0])
				}
			})
		}
	}
}
