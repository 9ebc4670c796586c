package store

import (
	"errors"
	"testing"
)

// rejectIDs rejects the queued messages with the given ids.
func rejectIDs(t *testing.T, db *DB, ids ...string) {
	t.Helper()
	msgs, _ := db.Peek("a", 1000)
	for _, id := range ids {
		for _, m := range msgs {
			if m.ID == id {
				if err := db.Reject("a", m.Key, "rejected "+id); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestDB_Replay(t *testing.T) {
	t.Run("all, at the head in their order", func(t *testing.T) {
		db := mustInstance(t, Options{})
		enqueue(t, db, "m1", "m2", "m3", "m4", "m5")
		rejectIDs(t, db, "m4", "m2") // rejection order differs from queue order
		msgs, _ := db.Peek("a", 1)
		if err := db.Retry("a", msgs[0].Key, 2, msgs[0].Created, "x"); err != nil {
			t.Fatal(err)
		}
		n, err := db.Replay("a")
		if err != nil || n != 2 {
			t.Fatalf("Replay = %d, %v", n, err)
		}
		if ids := queueIDs(t, db); !equal(ids, []string{"m2", "m4", "m1", "m3", "m5"}) {
			t.Errorf("queue after Replay = %v", ids)
		}
		head, _ := db.Peek("a", 1)
		if head[0].Attempts != 0 || !head[0].NextAttempt.IsZero() {
			t.Errorf("replayed message keeps its retry state: %+v", head[0])
		}
		if dead, _ := db.Dead("a"); len(dead) != 0 {
			t.Errorf("dead letters after Replay: %v", dead)
		}
		// Enqueue still appends at the tail; a second replay goes before everything.
		enqueue(t, db, "m6")
		rejectIDs(t, db, "m5")
		if _, err := db.Replay("a"); err != nil {
			t.Fatal(err)
		}
		if ids := queueIDs(t, db); !equal(ids, []string{"m5", "m2", "m4", "m1", "m3", "m6"}) {
			t.Errorf("queue after second Replay = %v", ids)
		}
		checkCounts(t, db)
	})
	t.Run("by id", func(t *testing.T) {
		db := mustInstance(t, Options{})
		enqueue(t, db, "m1", "m2", "m3", "m4")
		rejectIDs(t, db, "m1", "m2", "m3")
		n, err := db.Replay("a", "m3", "m1", "nope")
		if err != nil || n != 2 {
			t.Fatalf("Replay = %d, %v", n, err)
		}
		if ids := queueIDs(t, db); !equal(ids, []string{"m1", "m3", "m4"}) {
			t.Errorf("queue = %v", ids)
		}
		dead, _ := db.Dead("a")
		if len(dead) != 1 || dead[0].ID != "m2" {
			t.Errorf("Dead = %+v", dead)
		}
		checkCounts(t, db)
	})
	t.Run("empty queue", func(t *testing.T) {
		db := mustInstance(t, Options{})
		enqueue(t, db, "m1", "m2")
		rejectIDs(t, db, "m1", "m2")
		if n, err := db.Replay("a"); err != nil || n != 2 {
			t.Fatalf("Replay = %d, %v", n, err)
		}
		enqueue(t, db, "m3")
		if ids := queueIDs(t, db); !equal(ids, []string{"m1", "m2", "m3"}) {
			t.Errorf("queue = %v", ids)
		}
		if n, err := db.Replay("a"); err != nil || n != 0 {
			t.Errorf("Replay with no dead letters = %d, %v", n, err)
		}
	})
	t.Run("unknown instance", func(t *testing.T) {
		db := mustInstance(t, Options{})
		if _, err := db.Replay("zz"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Replay: %v, want ErrNotFound", err)
		}
	})
}

func TestDB_Purge(t *testing.T) {
	db := mustInstance(t, Options{})
	enqueue(t, db, "m1", "m2", "m3", "m4")
	rejectIDs(t, db, "m1", "m2", "m3")
	if n, err := db.Purge("a", "m2", "zz"); err != nil || n != 1 {
		t.Fatalf("Purge(m2) = %d, %v", n, err)
	}
	dead, _ := db.Dead("a")
	if len(dead) != 2 || dead[0].ID != "m1" || dead[1].ID != "m3" {
		t.Errorf("Dead after Purge = %+v", dead)
	}
	checkCounts(t, db)
	if n, err := db.Purge("a"); err != nil || n != 2 {
		t.Fatalf("Purge() = %d, %v", n, err)
	}
	st, _ := db.Stats("a")
	if st.DeadMessages != 0 || st.DeadEvents != 0 || st.QueuedMessages != 1 {
		t.Errorf("Stats after Purge = %+v", st)
	}
	if ids := queueIDs(t, db); !equal(ids, []string{"m4"}) {
		t.Errorf("queue after Purge = %v", ids)
	}
	checkCounts(t, db)
}
