package agent

import (
	"errors"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/delta"
)

// TestCountingDB_NotifiesPerCommittedChunk: the dispatcher is woken after
// every committed transaction that queued events, so delivery starts with
// the round's first chunk, and never for a rolled-back one or one without
// events.
func TestCountingDB_NotifiesPerCommittedChunk(t *testing.T) {
	e := newTestEnv(t)
	in := e.agent.instances["finance"]
	for _, tc := range []struct {
		name   string
		events int
		fail   error
		want   int
	}{
		{"events committed", 3, nil, 1},
		{"no events", 0, nil, 0},
		{"rolled back", 3, errors.New("disk full"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			db := &countingDB{DB: in.db, in: in, notify: func() { n++ }}
			err := db.Update(func(tx delta.Tx) error {
				tx.(countingTx).c.pending[delta.Created] += tc.events
				return tc.fail
			})
			if !errors.Is(err, tc.fail) {
				t.Fatalf("Update = %v, want %v", err, tc.fail)
			}
			if n != tc.want {
				t.Errorf("notified %d times, want %d", n, tc.want)
			}
		})
	}
}
