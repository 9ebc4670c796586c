package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// fill enqueues n messages of size bytes for instance name, 1000 per round.
func fill(t testing.TB, db *DB, name string, n, size int) {
	t.Helper()
	body := make([]byte, size)
	for done := 0; done < n; {
		batch := make([]Message, min(1000, n-done))
		for i := range batch {
			batch[i] = Message{ID: fmt.Sprintf("%s-%09d", name, done+i), Events: 1, Body: body}
		}
		if err := db.Update(name, func(tx *Tx) error { return tx.Enqueue(batch...) }); err != nil {
			t.Fatal(err)
		}
		done += len(batch)
	}
}

// drain acknowledges every queued message of name, in order, and returns
// how many it saw.
func drain(t testing.TB, db *DB, name string, batch int) int {
	t.Helper()
	n := 0
	for {
		msgs, err := db.Peek(name, batch)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return n
		}
		if err := db.Ack(name, keys(msgs)...); err != nil {
			t.Fatal(err)
		}
		n += len(msgs)
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestDB_Compact drains a 100k-message queue: the last Ack compacts the
// file automatically, and everything else in it survives.
func TestDB_Compact(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{NoSync: true})
	id := db.ID()
	_, _ = db.EnsureInstance("a")
	_, _ = db.EnsureInstance("b")
	tok := Token{RefreshToken: "r"}
	if err := db.SaveToken("b", tok); err != nil {
		t.Fatal(err)
	}
	err := db.Update("b", func(tx *Tx) error {
		_, _ = tx.NextSeq()
		if err := tx.PutItem(Item{ID: "x", ParentID: "root", Name: "x"}); err != nil {
			return err
		}
		return tx.Enqueue(msg("b1"), msg("b2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	bq, _ := db.Peek("b", 2)
	if err := db.Reject("b", bq[1].Key, "bad"); err != nil {
		t.Fatal(err)
	}

	fill(t, db, "a", 100_000, 300)
	full := fileSize(t, path)
	if full < 32<<20 {
		t.Fatalf("file of 100k messages is only %d bytes", full)
	}
	lastKey := uint64(0)
	if m, _ := db.Peek("a", 1); len(m) == 1 {
		lastKey = m[0].Key + 99_999
	}
	if n := drain(t, db, "a", 1000); n != 100_000 {
		t.Fatalf("drained %d messages", n)
	}
	after := fileSize(t, path)
	t.Logf("file size: %d bytes full, %d after drain", full, after)
	if after > 1<<20 {
		t.Errorf("file after drain is %d bytes, want automatic compaction below 1 MiB", after)
	}

	// Everything else is still there, and the process lock still ours.
	if db.ID() != id {
		t.Errorf("ID changed to %s", db.ID())
	}
	if got, ok, _ := db.Token("b"); !ok || got != tok {
		t.Errorf("Token(b) after compaction = %+v %v", got, ok)
	}
	if ids, _ := db.Peek("b", 10); len(ids) != 1 || ids[0].ID != "b1" {
		t.Errorf("queue of b = %+v", ids)
	}
	if dead, _ := db.Dead("b"); len(dead) != 1 || dead[0].ID != "b2" {
		t.Errorf("dead letters of b = %+v", dead)
	}
	err = db.Update("a", func(tx *Tx) error {
		m := []Message{msg("next")}
		if err := tx.Enqueue(m...); err != nil {
			return err
		}
		if m[0].Key <= lastKey {
			t.Errorf("key after compaction %d reuses the range up to %d", m[0].Key, lastKey)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View("b", func(tx *Tx) error {
		if n, _ := tx.ItemCount(); n != 1 {
			t.Errorf("ItemCount(b) = %d", n)
		}
		return nil
	})
	if _, err := Open(path, Options{Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("Open during the compacted DB's life: %v, want ErrLocked", err)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("compaction left its temp file: %v", err)
	}
	checkCounts(t, db)
}

func TestDB_MaybeCompact(t *testing.T) {
	path := newPath(t)
	db := mustOpen(t, path, Options{NoSync: true, NoAutoCompact: true})
	_, _ = db.EnsureInstance("a")
	if did, err := db.MaybeCompact(); did || err != nil {
		t.Errorf("MaybeCompact of a small file = %v, %v", did, err)
	}
	fill(t, db, "a", 20_000, 1000)
	if did, err := db.MaybeCompact(); did || err != nil {
		t.Errorf("MaybeCompact of a full file = %v, %v", did, err)
	}
	drain(t, db, "a", 500)
	big := fileSize(t, path)
	if big < 16<<20 {
		t.Fatalf("drained file is %d bytes: NoAutoCompact ignored?", big)
	}
	did, err := db.MaybeCompact()
	if !did || err != nil {
		t.Fatalf("MaybeCompact of a drained file = %v, %v", did, err)
	}
	if small := fileSize(t, path); small > 1<<20 {
		t.Errorf("file after MaybeCompact is %d bytes", small)
	}
	// Compact works on demand too, also on a small file.
	enqueue(t, db, "m1")
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if ids := queueIDs(t, db); !equal(ids, []string{"m1"}) {
		t.Errorf("queue after Compact = %v", ids)
	}
	checkCounts(t, db)
	db.Close()
	if err := db.Compact(); !errors.Is(err, ErrClosed) {
		t.Errorf("Compact after Close: %v", err)
	}
}

// TestDB_AckDuringRoundDoesNotCompact: an Ack that empties the queue while
// the instance has a round in progress leaves the file alone; the first one
// after the round compacts it.
func TestDB_AckDuringRoundDoesNotCompact(t *testing.T) {
	for _, drive := range []string{"", "b!drive"} {
		t.Run("drive="+drive, func(t *testing.T) { testAckDuringRound(t, drive) })
	}
}

// testAckDuringRound runs TestDB_AckDuringRoundDoesNotCompact with the round
// state on the instance ("") or on one of its drives.
func testAckDuringRound(t *testing.T, drive string) {
	path := newPath(t)
	db := mustOpen(t, path, Options{NoSync: true})
	_, _ = db.EnsureInstance("a")
	fill(t, db, "a", 40_000, 300)
	setRound := func(b []byte) func(tx *Tx) error {
		return func(tx *Tx) error {
			if drive != "" {
				d, err := tx.Drive(drive)
				if err != nil {
					return err
				}
				tx = d
			}
			return tx.SetRoundState(b)
		}
	}
	if err := db.Update("a", setRound([]byte("round"))); err != nil {
		t.Fatal(err)
	}
	full := fileSize(t, path)
	if n := drain(t, db, "a", 1000); n != 40_000 {
		t.Fatalf("drained %d messages, want 40000", n)
	}
	if got := fileSize(t, path); got < full {
		t.Fatalf("file went from %d to %d bytes during a round: compacted", full, got)
	}
	err := db.Update("a", func(tx *Tx) error {
		if err := setRound(nil)(tx); err != nil {
			return err
		}
		return tx.Enqueue(msg("after"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := drain(t, db, "a", 1); n != 1 {
		t.Fatalf("drained %d messages, want 1", n)
	}
	if got := fileSize(t, path); got > full/4 {
		t.Errorf("file is %d bytes after the round's drain (%d before): not compacted", got, full)
	}
}

// TestDB_CompactMapsOnce: the copy is mapped large enough for the live
// data at once, so a compaction does not copy the nodes of its copy's
// transactions onto the heap at each growth of the file (bbolt does so on
// every new mapping): it allocates less than the data it copies.
func TestDB_CompactMapsOnce(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the copy keeps bbolt's default mapping on Windows")
	}
	db := mustInstance(t, Options{NoSync: true, NoAutoCompact: true})
	body := bytes.Repeat([]byte("x"), 2000)
	const n = 16000 // about 32 MB: two of the copy's transactions
	err := db.Update("a", func(tx *Tx) error {
		for i := range n {
			if err := tx.Enqueue(Message{ID: fmt.Sprint("m", i), Events: 1, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got, data := after.TotalAlloc-before.TotalAlloc, uint64(n*len(body)); got > data {
		t.Errorf("Compact allocated %d MB for %d MB of data, want less", got>>20, data>>20)
	}
	// The copy grows by 1 MB at a time: its file is about its data.
	if size := fileSize(t, db.path); size > int64(n*len(body))+8<<20 {
		t.Errorf("compacted file: %d MB; want at most 8 MB more than its %d MB of data", size>>20, n*len(body)>>20)
	}
	if msgs, err := db.Peek("a", n+1); err != nil || len(msgs) != n {
		t.Fatalf("after Compact: %d messages, %v", len(msgs), err)
	}
}
