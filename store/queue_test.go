package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestTx_Enqueue(t *testing.T) {
	db := mustInstance(t, Options{})
	var got []Message
	err := db.Update("a", func(tx *Tx) error {
		got = []Message{msg("m1"), msg("m2")}
		if err := tx.Enqueue(got...); err != nil {
			return err
		}
		n, err := tx.QueuedEvents()
		if n != 2 {
			t.Errorf("QueuedEvents inside the round = %d, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Key == 0 || got[1].Key != got[0].Key+1 {
		t.Errorf("assigned keys %d, %d: want increasing", got[0].Key, got[1].Key)
	}
	enqueue(t, db, "m3")
	if ids := queueIDs(t, db); !equal(ids, []string{"m1", "m2", "m3"}) {
		t.Errorf("queue = %v, want FIFO order", ids)
	}
	if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(Message{Events: 1}) }); err == nil {
		t.Error("Enqueue of a message without id succeeded")
	}
	// A failed round leaves nothing behind.
	err = db.Update("a", func(tx *Tx) error {
		if err := tx.Enqueue(msg("lost")); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("Update returned %v, want the callback's error", err)
	}
	if ids := queueIDs(t, db); len(ids) != 3 {
		t.Errorf("queue after a rolled-back round = %v", ids)
	}
	checkCounts(t, db)
}

func TestDB_Peek(t *testing.T) {
	db := mustInstance(t, Options{})
	if msgs, err := db.Peek("a", 10); err != nil || len(msgs) != 0 {
		t.Errorf("Peek of an empty queue = %v, %v", msgs, err)
	}
	if msgs, err := db.Peek("unknown", 10); err != nil || len(msgs) != 0 {
		t.Errorf("Peek of an unknown instance = %v, %v", msgs, err)
	}
	created := time.Date(2026, 11, 26, 10, 0, 0, 123, time.UTC)
	m := Message{ID: "m1", Events: 3, Body: []byte("body"), Created: created, LastError: "x"}
	if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(m) }); err != nil {
		t.Fatal(err)
	}
	enqueue(t, db, "m2", "m3")
	msgs, err := db.Peek("a", 2)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Peek(2) = %v, %v", msgs, err)
	}
	got := msgs[0]
	if got.ID != "m1" || got.Events != 3 || string(got.Body) != "body" || !got.Created.Equal(created) || got.LastError != "x" {
		t.Errorf("Peek returned %+v", got)
	}
	got.Body[0] = 'X' // a copy: changing it changes nothing stored
	again, _ := db.Peek("a", 1)
	if string(again[0].Body) != "body" {
		t.Errorf("stored body changed to %q", again[0].Body)
	}
}

func TestDB_Ack(t *testing.T) {
	db := mustInstance(t, Options{})
	enqueue(t, db, "m1", "m2", "m3", "m4")
	msgs, _ := db.Peek("a", 2)
	if err := db.Ack("a", append(keys(msgs), 12345)...); err != nil {
		t.Fatal(err)
	}
	if err := db.Ack("a", keys(msgs)...); err != nil {
		t.Errorf("second Ack of the same keys: %v", err)
	}
	if ids := queueIDs(t, db); !equal(ids, []string{"m3", "m4"}) {
		t.Errorf("queue after Ack = %v", ids)
	}
	st, _ := db.Stats("a")
	if st.QueuedMessages != 2 || st.QueuedEvents != 2 {
		t.Errorf("Stats after Ack = %+v", st)
	}
	if err := db.Ack("unknown", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ack on an unknown instance: %v, want ErrNotFound", err)
	}
	checkCounts(t, db)
}

func TestDB_Retry(t *testing.T) {
	db := mustInstance(t, Options{})
	enqueue(t, db, "m1")
	msgs, _ := db.Peek("a", 1)
	next := time.Now().Add(time.Minute).UTC()
	if err := db.Retry("a", msgs[0].Key, 3, next, "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Peek("a", 1)
	if got[0].Attempts != 3 || !got[0].NextAttempt.Equal(next) || got[0].LastError != "503 Service Unavailable" ||
		string(got[0].Body) != string(msgs[0].Body) || got[0].Key != msgs[0].Key {
		t.Errorf("after Retry: %+v", got[0])
	}
	if err := db.Retry("a", 99, 1, next, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Retry of an unknown key: %v, want ErrNotFound", err)
	}
}

func TestDB_Reject(t *testing.T) {
	db := mustInstance(t, Options{})
	enqueue(t, db, "m1", "m2", "m3")
	msgs, _ := db.Peek("a", 3)
	if err := db.Reject("a", msgs[1].Key, "400 Bad Request"); err != nil {
		t.Fatal(err)
	}
	if ids := queueIDs(t, db); !equal(ids, []string{"m1", "m3"}) {
		t.Errorf("queue after Reject = %v", ids)
	}
	dead, err := db.Dead("a")
	if err != nil || len(dead) != 1 || dead[0].ID != "m2" || dead[0].Reason != "400 Bad Request" || dead[0].Died.IsZero() {
		t.Errorf("Dead = %+v, %v", dead, err)
	}
	st, _ := db.Stats("a")
	if st.QueuedMessages != 2 || st.DeadMessages != 1 || st.DeadEvents != 1 {
		t.Errorf("Stats = %+v", st)
	}
	if err := db.Reject("a", msgs[1].Key, "again"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Reject: %v, want ErrNotFound", err)
	}
	checkCounts(t, db)
}

func TestDB_Split(t *testing.T) {
	parts := func(names ...string) []Message {
		out := make([]Message, len(names))
		for i, n := range names {
			out[i] = Message{ID: n, Events: 2, Body: []byte("part " + n)}
		}
		return out
	}
	t.Run("head", func(t *testing.T) {
		db := mustInstance(t, Options{})
		err := db.Update("a", func(tx *Tx) error {
			return tx.Enqueue(Message{ID: "big", Events: 6, Body: []byte("part big")}, msg("m2"))
		})
		if err != nil {
			t.Fatal(err)
		}
		head, _ := db.Peek("a", 1)
		if err := db.Split("a", head[0].Key, parts("p1", "p2", "p3")); err != nil {
			t.Fatal(err)
		}
		if ids := queueIDs(t, db); !equal(ids, []string{"p1", "p2", "p3", "m2"}) {
			t.Errorf("queue after Split = %v", ids)
		}
		got, _ := db.Peek("a", 3)
		if !got[0].Created.Equal(head[0].Created) {
			t.Errorf("part Created = %v, want the original's %v", got[0].Created, head[0].Created)
		}
		st, _ := db.Stats("a")
		if st.QueuedMessages != 4 || st.QueuedEvents != 7 {
			t.Errorf("Stats after Split = %+v, want 4 messages, 7 events", st)
		}
		// Split again, a part this time.
		if err := db.Split("a", got[1].Key, parts("p2a", "p2b")); err != nil {
			t.Fatal(err)
		}
		if ids := queueIDs(t, db); !equal(ids, []string{"p1", "p2a", "p2b", "p3", "m2"}) {
			t.Errorf("queue after a split of the second message = %v", ids)
		}
		checkCounts(t, db)
	})
	t.Run("errors", func(t *testing.T) {
		db := mustInstance(t, Options{})
		if err := db.Split("a", 7, parts("x")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Split of an unknown key: %v", err)
		}
		enqueue(t, db, "m1")
		head, _ := db.Peek("a", 1)
		if err := db.Split("a", head[0].Key, nil); err == nil {
			t.Error("Split into no parts succeeded")
		}
		if err := db.Split("a", head[0].Key, []Message{{Events: 1}}); err == nil {
			t.Error("Split into a part without id succeeded")
		}
		if ids := queueIDs(t, db); !equal(ids, []string{"m1"}) {
			t.Errorf("queue after failed Splits = %v", ids)
		}
	})
}

func TestDB_Stats(t *testing.T) {
	db := mustInstance(t, Options{})
	if st, err := db.Stats("a"); err != nil || st != (Stats{}) {
		t.Errorf("Stats of an empty queue = %+v, %v", st, err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := db.Update("a", func(tx *Tx) error {
		return tx.Enqueue(Message{ID: "m1", Events: 10, Created: t0}, Message{ID: "m2", Events: 5, Created: t0.Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := db.Stats("a")
	if st.QueuedMessages != 2 || st.QueuedEvents != 15 || !st.Oldest.Equal(t0) {
		t.Errorf("Stats = %+v", st)
	}
	msgs, _ := db.Peek("a", 1)
	_ = db.Ack("a", msgs[0].Key)
	if st, _ := db.Stats("a"); !st.Oldest.Equal(t0.Add(time.Hour)) || st.QueuedEvents != 5 {
		t.Errorf("Stats after Ack = %+v", st)
	}
	if st, err := db.Stats("nobody"); err != nil || st != (Stats{}) {
		t.Errorf("Stats of an unknown instance = %+v, %v", st, err)
	}
}

// TestDB_QueueModel runs random queue operations against a simple model
// and compares order and counters after each step.
func TestDB_QueueModel(t *testing.T) {
	db := mustInstance(t, Options{NoSync: true})
	type entry struct {
		id     string
		events int
	}
	var queue, dead []entry
	n := 0
	for step := range 400 {
		switch op := (step * 7919) % 11; {
		case op < 4:
			var msgs []Message
			for range op + 1 {
				n++
				e := entry{fmt.Sprintf("m%04d", n), n%3 + 1}
				queue = append(queue, e)
				msgs = append(msgs, Message{ID: e.id, Events: e.events})
			}
			if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(msgs...) }); err != nil {
				t.Fatal(err)
			}
		case op < 6 && len(queue) > 0:
			head, _ := db.Peek("a", 2)
			if err := db.Ack("a", keys(head)...); err != nil {
				t.Fatal(err)
			}
			queue = queue[len(head):]
		case op < 8 && len(queue) > 0:
			head, _ := db.Peek("a", 1)
			if err := db.Reject("a", head[0].Key, "no"); err != nil {
				t.Fatal(err)
			}
			dead = append(dead, queue[0])
			queue = queue[1:]
		case op < 9 && len(dead) > 0:
			if _, err := db.Replay("a", dead[0].id); err != nil {
				t.Fatal(err)
			}
			queue = append([]entry{dead[0]}, queue...)
			dead = dead[1:]
		case op < 10 && len(queue) > 0:
			head, _ := db.Peek("a", 1)
			n++
			p := []entry{{fmt.Sprintf("s%04da", n), 1}, {fmt.Sprintf("s%04db", n), 1}}
			if err := db.Split("a", head[0].Key, []Message{{ID: p[0].id, Events: 1}, {ID: p[1].id, Events: 1}}); err != nil {
				t.Fatal(err)
			}
			queue = append(p, queue[1:]...)
		}
		got := queueIDs(t, db)
		var want []string
		var events int64
		for _, e := range queue {
			want = append(want, e.id)
			events += int64(e.events)
		}
		if !equal(got, want) {
			t.Fatalf("step %d: queue %v, want %v", step, got, want)
		}
		st, _ := db.Stats("a")
		if st.QueuedMessages != int64(len(queue)) || st.QueuedEvents != events || st.DeadMessages != int64(len(dead)) {
			t.Fatalf("step %d: Stats %+v, model %d messages %d events %d dead", step, st, len(queue), events, len(dead))
		}
	}
	checkCounts(t, db)
}

func TestDB_PeekSkip(t *testing.T) {
	db := mustInstance(t, Options{})
	enqueue(t, db, "m1", "m2", "m3", "m4")
	all, err := db.Peek("a", 10)
	if err != nil || len(all) != 4 {
		t.Fatalf("Peek = %d messages, %v", len(all), err)
	}
	skipped := map[uint64]bool{all[0].Key: true, all[2].Key: true}
	got, err := db.PeekSkip("a", 10, func(k uint64) bool { return skipped[k] })
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	if !equal(ids, []string{"m2", "m4"}) {
		t.Errorf("PeekSkip = %v, want [m2 m4]", ids)
	}
	// Skipped messages do not count towards n.
	if got, _ := db.PeekSkip("a", 1, func(k uint64) bool { return k == all[0].Key }); len(got) != 1 || got[0].ID != "m2" {
		t.Errorf("PeekSkip(1) = %+v, want m2", got)
	}
}

// TestTx_EnqueueCopiesBodies: Enqueue keeps copies of the bodies, so a
// caller that reuses a body's memory once Enqueue returns (still inside the
// transaction, before bbolt writes the pages) does not change what is
// queued.
func TestTx_EnqueueCopiesBodies(t *testing.T) {
	db := mustInstance(t, Options{NoSync: true})
	const want = `{"id":"m1"}`
	buf := []byte(want)
	err := db.Update("a", func(tx *Tx) error {
		if err := tx.Enqueue(Message{ID: "m1", Events: 1, Body: buf}); err != nil {
			return err
		}
		copy(buf, "reused body")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := db.Peek("a", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || string(msgs[0].Body) != want {
		t.Errorf("queued %+v, want one message with body %s", msgs, want)
	}
}
