package store

import (
	"fmt"
	"testing"
)

func TestTx_SetCursor(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		if c, err := tx.Cursor(); c != "" || err != nil {
			t.Errorf("Cursor of a new instance = %q, %v", c, err)
		}
		if err := tx.SetCursor("link1"); err != nil {
			return err
		}
		if c, _ := tx.Cursor(); c != "link1" {
			t.Errorf("Cursor = %q", c)
		}
		return tx.SetCursor("")
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View("a", func(tx *Tx) error {
		if c, _ := tx.Cursor(); c != "" {
			t.Errorf("Cursor after SetCursor(\"\") = %q", c)
		}
		return nil
	})
}

func TestTx_SetRoundState(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		if b, _ := tx.RoundState(); b != nil {
			t.Errorf("RoundState of a new instance = %q", b)
		}
		in := []byte("page 3")
		if err := tx.SetRoundState(in); err != nil {
			return err
		}
		in[0] = 'X'
		b, _ := tx.RoundState()
		if string(b) != "page 3" {
			t.Errorf("RoundState = %q", b)
		}
		b[0] = 'Y'
		if again, _ := tx.RoundState(); string(again) != "page 3" {
			t.Errorf("RoundState is not a copy: %q", again)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update("a", func(tx *Tx) error { return tx.SetRoundState(nil) })
	_ = db.View("a", func(tx *Tx) error {
		if b, _ := tx.RoundState(); b != nil {
			t.Errorf("RoundState after delete = %q", b)
		}
		return nil
	})
}

func TestTx_PutStaged(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		for i := range 5 {
			if err := tx.PutStaged(fmt.Sprintf("s%d", i), []byte{byte(i)}); err != nil {
				return err
			}
		}
		if err := tx.PutStaged("s2", []byte("last wins")); err != nil {
			return err
		}
		if n, _ := tx.StagedCount(); n != 5 {
			t.Errorf("StagedCount = %d, want 5", n)
		}
		if rec, ok, _ := tx.Staged("s2"); !ok || string(rec) != "last wins" {
			t.Errorf("Staged(s2) = %q, %v", rec, ok)
		}
		if _, ok, _ := tx.Staged("zz"); ok {
			t.Error("Staged(zz) found")
		}
		var ids []string
		if err := tx.ForEachStaged("s2", func(id string, rec []byte) error { ids = append(ids, id); return nil }); err != nil {
			return err
		}
		if !equal(ids, []string{"s3", "s4"}) {
			t.Errorf("ForEachStaged(after s2) = %v", ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
	err = db.Update("a", func(tx *Tx) error {
		if err := tx.ClearStaged(); err != nil {
			return err
		}
		if n, _ := tx.StagedCount(); n != 0 {
			t.Errorf("StagedCount after clear = %d", n)
		}
		return tx.PutStaged("again", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

func TestTx_PutPending(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		for _, k := range []string{"3", "1", "2", "5", "4"} {
			if err := tx.PutPending([]byte(k), []byte("rec"+k)); err != nil {
				return err
			}
		}
		var got []string
		// Consume in order, deleting each record as it is handled.
		err := tx.ForEachPending(nil, func(k, rec []byte) error {
			got = append(got, string(k)+"="+string(rec))
			return tx.DeletePending(k)
		})
		if err != nil {
			return err
		}
		if !equal(got, []string{"1=rec1", "2=rec2", "3=rec3", "4=rec4", "5=rec5"}) {
			t.Errorf("ForEachPending = %v", got)
		}
		n := 0
		_ = tx.ForEachPending(nil, func(k, rec []byte) error { n++; return nil })
		if n != 0 {
			t.Errorf("%d pending records left", n)
		}
		_ = tx.PutPending([]byte("a"), nil)
		_ = tx.PutPending([]byte("b"), nil)
		got = nil
		_ = tx.ForEachPending([]byte("a"), func(k, rec []byte) error { got = append(got, string(k)); return nil })
		if !equal(got, []string{"b"}) {
			t.Errorf("ForEachPending(after a) = %v", got)
		}
		return tx.ClearPending()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTx_NextSeq(t *testing.T) {
	db := mustInstance(t, Options{})
	var last uint64
	for range 3 {
		err := db.Update("a", func(tx *Tx) error {
			s, err := tx.NextSeq()
			if s <= last {
				t.Errorf("NextSeq = %d after %d", s, last)
			}
			last = s
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A rolled-back round does not consume numbers... but never reuses a committed one.
	_ = db.Update("a", func(tx *Tx) error { _, _ = tx.NextSeq(); return errTest })
	_ = db.Update("a", func(tx *Tx) error {
		if s, _ := tx.NextSeq(); s != last+1 {
			t.Errorf("NextSeq after rollback = %d, want %d", s, last+1)
		}
		return nil
	})
	if err := db.View("a", func(tx *Tx) error { _, err := tx.NextSeq(); return err }); err == nil {
		t.Error("NextSeq in a View succeeded")
	}
}

// TestTx_PointReadsFollowWrites: point reads (kept cursors) see the writes
// made between them, a bucket deleted and created again, and records read
// earlier in the transaction stay as they were.
func TestTx_PointReadsFollowWrites(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		check := func(id, want string) {
			t.Helper()
			rec, ok, err := tx.Staged(id)
			if has, _ := tx.HasStaged(id); err != nil || has != ok || (want == "") == ok || string(rec) != want {
				t.Errorf("Staged(%q) = %q, %v, %v (HasStaged %v); want %q", id, rec, ok, err, has, want)
			}
		}
		check("m", "")
		if err := tx.PutStaged("m", []byte("one")); err != nil {
			return err
		}
		kept, _, _ := tx.Staged("m")
		check("m", "one")
		// Enough records after it to split its leaf when the tree grows.
		for i := range 3000 {
			if err := tx.PutStaged(fmt.Sprintf("z%05d", i), make([]byte, 100)); err != nil {
				return err
			}
		}
		if err := tx.PutStaged("m", []byte("two")); err != nil {
			return err
		}
		check("m", "two")
		check("z02999", string(make([]byte, 100)))
		if string(kept) != "one" {
			t.Errorf("a record read before later writes changed to %q", kept)
		}
		if err := tx.ClearStaged(); err != nil {
			return err
		}
		check("m", "")
		if err := tx.PutStaged("n", []byte("three")); err != nil {
			return err
		}
		check("n", "three")
		check("m", "")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

// TestTx_ForEachPendingKeysStay: a key ForEachPending hands to fn stays
// valid and unchanged past fn, through the transaction's later writes
// (deletes, and enough puts to split the leaves it came from), as a round
// sorting its events keeps the keys it consumed.
func TestTx_ForEachPendingKeysStay(t *testing.T) {
	db := mustInstance(t, Options{NoSync: true})
	put := func(tx *Tx, from, n int) error {
		for i := range n {
			if err := tx.PutPending(fmt.Appendf(nil, "k%05d", from+i), make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	}
	// Half the records committed before (their keys are read from the
	// file), half put in the transaction that iterates.
	if err := db.Update("a", func(tx *Tx) error { return put(tx, 0, 200) }); err != nil {
		t.Fatal(err)
	}
	err := db.Update("a", func(tx *Tx) error {
		if err := put(tx, 200, 200); err != nil {
			return err
		}
		var kept [][]byte
		err := tx.ForEachPending(nil, func(k, _ []byte) error {
			kept = append(kept, k)
			return tx.DeletePending(k)
		})
		if err != nil {
			return err
		}
		if err := put(tx, 400, 3000); err != nil {
			return err
		}
		if len(kept) != 400 {
			t.Fatalf("ForEachPending visited %d records, want 400", len(kept))
		}
		for i, k := range kept {
			if want := fmt.Sprintf("k%05d", i); string(k) != want {
				t.Fatalf("key %d kept past fn reads %q, want %q", i, k, want)
			}
		}
		return tx.ClearPending()
	})
	if err != nil {
		t.Fatal(err)
	}
}
