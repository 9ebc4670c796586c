package store

import (
	"fmt"
	"testing"
	"time"
)

// children lists the ids under parent.
func children(t *testing.T, tx *Tx, parent string) []string {
	t.Helper()
	var ids []string
	if err := tx.Children(parent, func(it Item) error { ids = append(ids, it.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestTx_PutItem(t *testing.T) {
	db := mustInstance(t, Options{})
	mod := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	err := db.Update("a", func(tx *Tx) error {
		items := []Item{
			{ID: "root", Root: true, Folder: true},
			{ID: "f1", ParentID: "root", Name: "Docs", Folder: true},
			{ID: "f2", ParentID: "root", Name: "Pics", Folder: true},
			{ID: "a", ParentID: "f1", Name: "a.pdf", ETag: "e1", CTag: "c1", Size: 42, Hash: "h", Modified: mod},
			{ID: "b", ParentID: "f1", Name: "b.pdf"},
			// A parent id that is a prefix of another must not mix children.
			{ID: "f", ParentID: "root", Name: "F", Folder: true},
			{ID: "c", ParentID: "f", Name: "c.txt"},
		}
		for _, it := range items {
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return tx.PutItem(Item{})
	})
	if err == nil {
		t.Fatal("PutItem without id succeeded")
	}
	if err := db.View("a", func(tx *Tx) error {
		if n, _ := tx.ItemCount(); n != 0 {
			t.Errorf("ItemCount after a rolled-back round = %d", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err = db.Update("a", func(tx *Tx) error {
		for _, it := range []Item{
			{ID: "root", Root: true, Folder: true},
			{ID: "f1", ParentID: "root", Name: "Docs", Folder: true},
			{ID: "f2", ParentID: "root", Name: "Pics", Folder: true},
			{ID: "a", ParentID: "f1", Name: "a.pdf", ETag: "e1", CTag: "c1", Size: 42, Hash: "h", Modified: mod},
			{ID: "b", ParentID: "f1", Name: "b.pdf"},
			{ID: "f", ParentID: "root", Name: "F", Folder: true},
			{ID: "c", ParentID: "f", Name: "c.txt"},
		} {
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update("a", func(tx *Tx) error {
		got, ok, err := tx.Item("a")
		want := Item{ID: "a", ParentID: "f1", Name: "a.pdf", ETag: "e1", CTag: "c1", Size: 42, Hash: "h", Modified: mod}
		if !ok || err != nil || got != want {
			t.Errorf("Item(a) = %+v %v %v, want %+v", got, ok, err, want)
		}
		if _, ok, _ := tx.Item("nope"); ok {
			t.Error("Item(nope) found")
		}
		if ids := children(t, tx, "f1"); !equal(ids, []string{"a", "b"}) {
			t.Errorf("Children(f1) = %v", ids)
		}
		if ids := children(t, tx, "f"); !equal(ids, []string{"c"}) {
			t.Errorf("Children(f) = %v", ids)
		}
		// Move a to f2 and rename it: the children index follows.
		if err := tx.PutItem(Item{ID: "a", ParentID: "f2", Name: "moved.pdf"}); err != nil {
			return err
		}
		if ids := children(t, tx, "f1"); !equal(ids, []string{"b"}) {
			t.Errorf("Children(f1) after move = %v", ids)
		}
		if ids := children(t, tx, "f2"); !equal(ids, []string{"a"}) {
			t.Errorf("Children(f2) after move = %v", ids)
		}
		if n, _ := tx.ItemCount(); n != 7 {
			t.Errorf("ItemCount = %d, want 7", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

func TestTx_DeleteItem(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		for _, it := range []Item{{ID: "root", Root: true}, {ID: "d", ParentID: "root"}, {ID: "x", ParentID: "d"}} {
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		if err := tx.DeleteItem("d"); err != nil {
			return err
		}
		if err := tx.DeleteItem("d"); err != nil {
			t.Errorf("second DeleteItem: %v", err)
		}
		if ids := children(t, tx, "root"); len(ids) != 0 {
			t.Errorf("Children(root) after delete = %v", ids)
		}
		if _, ok, _ := tx.Item("x"); !ok {
			t.Error("DeleteItem cascaded to a child")
		}
		if n, _ := tx.ItemCount(); n != 2 {
			t.Errorf("ItemCount = %d, want 2", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

func TestTx_ForEachItem(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		for i := range 50 {
			if err := tx.PutItem(Item{ID: fmt.Sprintf("i%02d", i), ParentID: "root"}); err != nil {
				return err
			}
		}
		var got []string
		if err := tx.ForEachItem("i45", func(it Item) error { got = append(got, it.ID); return nil }); err != nil {
			return err
		}
		if !equal(got, []string{"i46", "i47", "i48", "i49"}) {
			t.Errorf("ForEachItem(after i45) = %v", got)
		}
		got = nil
		err := tx.ForEachItem("", func(it Item) error {
			got = append(got, it.ID)
			if len(got) == 3 {
				return Stop
			}
			return nil
		})
		if err != nil || !equal(got, []string{"i00", "i01", "i02"}) {
			t.Errorf("ForEachItem with Stop = %v, %v", got, err)
		}
		// Deleting every item while iterating visits each exactly once.
		seen := 0
		err = tx.ForEachItem("", func(it Item) error {
			seen++
			return tx.DeleteItem(it.ID)
		})
		if err != nil || seen != 50 {
			t.Errorf("delete while iterating visited %d items (%v), want 50", seen, err)
		}
		if n, _ := tx.ItemCount(); n != 0 {
			t.Errorf("ItemCount = %d", n)
		}
		err = tx.ForEachItem("", func(Item) error { return errTest })
		if err != nil {
			t.Errorf("ForEachItem of an empty index: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

func TestTx_ClearIndex(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		for i := range 10 {
			if err := tx.PutItem(Item{ID: fmt.Sprint(i), ParentID: "p"}); err != nil {
				return err
			}
		}
		if err := tx.ClearIndex(); err != nil {
			return err
		}
		if n, _ := tx.ItemCount(); n != 0 {
			t.Errorf("ItemCount after ClearIndex = %d", n)
		}
		if ids := children(t, tx, "p"); len(ids) != 0 {
			t.Errorf("Children after ClearIndex = %v", ids)
		}
		return tx.PutItem(Item{ID: "new", ParentID: "p"})
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

// TestTx_ChildIDs: the ids of a folder's children, in id order, follow
// moves and deletes; HasStaged tells a staged id from one that is not.
func TestTx_ChildIDs(t *testing.T) {
	db := mustInstance(t, Options{})
	err := db.Update("a", func(tx *Tx) error {
		for _, it := range []Item{{ID: "root", Root: true}, {ID: "d", ParentID: "root"}, {ID: "e", ParentID: "root"},
			{ID: "x2", ParentID: "d"}, {ID: "x1", ParentID: "d"}, {ID: "x3", ParentID: "d"}, {ID: "y", ParentID: "e"}} {
			if err := tx.PutItem(it); err != nil {
				return err
			}
		}
		if err := tx.PutItem(Item{ID: "x3", ParentID: "e"}); err != nil {
			return err
		}
		if err := tx.DeleteItem("x2"); err != nil {
			return err
		}
		for parent, want := range map[string]string{"d": "[x1]", "e": "[x3 y]", "root": "[d e]", "x1": "[]"} {
			ids := []string{}
			if err := tx.ChildIDs(parent, func(id string) error { ids = append(ids, id); return nil }); err != nil {
				return err
			}
			if got := fmt.Sprint(ids); got != want {
				t.Errorf("ChildIDs(%s) = %s, want %s", parent, got, want)
			}
		}
		if err := tx.PutStaged("x1", []byte("rec")); err != nil {
			return err
		}
		for id, want := range map[string]bool{"x1": true, "y": false, "": false} {
			if got, err := tx.HasStaged(id); err != nil || got != want {
				t.Errorf("HasStaged(%q) = %v, %v; want %v", id, got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
