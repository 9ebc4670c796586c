package store

import (
	"errors"
	"testing"
)

func TestDriveState(t *testing.T) {
	db := mustInstance(t, Options{})
	put := func(drive, id, cursor string, seq *uint64) {
		t.Helper()
		err := db.Update("a", func(tx *Tx) error {
			d, err := tx.Drive(drive)
			if err != nil {
				return err
			}
			if again, _ := tx.Drive(drive); again != d {
				t.Error("a second Drive call gave another view")
			}
			if err := d.PutItem(Item{ID: id, ParentID: "root", Name: id}); err != nil {
				return err
			}
			if err := d.PutStaged(id, []byte("rec")); err != nil {
				return err
			}
			if err := d.SetCursor(cursor); err != nil {
				return err
			}
			if *seq, err = d.NextSeq(); err != nil {
				return err
			}
			return d.Enqueue(msg(drive + "/" + id))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var s1, s2, s3 uint64
	put("b!One", "x", "link-1", &s1)
	put("b!Two", "y", "link-2", &s2)
	put("B!ONE", "z", "link-1b", &s3) // the same drive, another letter case

	if s1 != 1 || s2 != 2 || s3 != 3 {
		t.Errorf("sequence %d %d %d: one sequence for the instance", s1, s2, s3)
	}
	if got := queueIDs(t, db); !equal(got, []string{"b!One/x", "b!Two/y", "B!ONE/z"}) {
		t.Errorf("one queue for the instance: %v", got)
	}
	err := db.View("a", func(tx *Tx) error {
		if n, _ := tx.ItemCount(); n != 0 {
			t.Errorf("the instance's own index has %d items", n)
		}
		if q, _ := tx.QueuedEvents(); q != 3 {
			t.Errorf("instance queued events %d", q)
		}
		one, err := tx.Drive("b!one")
		if err != nil {
			return err
		}
		if q, _ := one.QueuedEvents(); q != 3 {
			t.Errorf("a drive sees %d queued events, want the instance's 3", q)
		}
		if n, _ := one.ItemCount(); n != 2 {
			t.Errorf("drive one has %d items", n)
		}
		if c, _ := one.Cursor(); c != "link-1b" {
			t.Errorf("drive one cursor %q", c)
		}
		if n, _ := one.StagedCount(); n != 2 {
			t.Errorf("drive one staged %d", n)
		}
		if _, ok, _ := one.Item("y"); ok {
			t.Error("drive one sees drive two's item")
		}
		if _, err := tx.Drive("b!three"); !errors.Is(err, ErrNotFound) {
			t.Errorf("read-only view of a drive without state: %v", err)
		}
		ids, err := tx.DriveIDs()
		if !equal(ids, []string{"b!one", "b!two"}) {
			t.Errorf("drives %v (%v)", ids, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db) // the drive counters agree with a recount

	if err := db.Update("a", func(tx *Tx) error { return tx.DropDrive("B!One") }); err != nil {
		t.Fatal(err)
	}
	_ = db.View("a", func(tx *Tx) error {
		if ids, _ := tx.DriveIDs(); !equal(ids, []string{"b!two"}) {
			t.Errorf("after dropping one: %v", ids)
		}
		return nil
	})
	if got := queueIDs(t, db); len(got) != 3 {
		t.Errorf("dropping a drive dropped queued events: %v", got)
	}
	if err := db.Update("a", func(tx *Tx) error { return tx.DropDrive("b!never") }); err != nil {
		t.Errorf("dropping a drive without state: %v", err)
	}
}

func TestDriveRollback(t *testing.T) {
	db := mustInstance(t, Options{})
	boom := errors.New("boom")
	err := db.Update("a", func(tx *Tx) error {
		d, err := tx.Drive("b!x")
		if err != nil {
			return err
		}
		if err := d.PutItem(Item{ID: "i", ParentID: "root", Name: "i"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	_ = db.View("a", func(tx *Tx) error {
		if ids, _ := tx.DriveIDs(); len(ids) != 0 {
			t.Errorf("a rolled-back drive left state: %v", ids)
		}
		return nil
	})
	if _, err := (&Tx{parent: &Tx{}}).Drive("x"); err == nil {
		t.Error("a drive's drive was allowed")
	}
}

func TestDriveList(t *testing.T) {
	db := mustInstance(t, Options{})
	if err := db.Update("a", func(tx *Tx) error { return tx.SetDriveList([]byte(`[1]`)) }); err != nil {
		t.Fatal(err)
	}
	_ = db.View("a", func(tx *Tx) error {
		if b, err := tx.DriveList(); string(b) != `[1]` || err != nil {
			t.Errorf("drive list %q, %v", b, err)
		}
		return nil
	})
	_ = db.Update("a", func(tx *Tx) error {
		d, _ := tx.Drive("b!x")
		if err := d.SetDriveList([]byte("x")); err == nil {
			t.Error("a drive took a drive list")
		}
		return tx.SetDriveList(nil)
	})
	_ = db.View("a", func(tx *Tx) error {
		if b, _ := tx.DriveList(); b != nil {
			t.Errorf("deleted drive list reads %q", b)
		}
		return nil
	})
}
