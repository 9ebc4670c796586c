package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Item is an entry of the item index, which covers the whole drive (also
// what is out of scope), so that paths can be built from ids.
type Item struct {
	ID, ParentID, Name string // ParentID "" only for the root
	ETag, CTag         string
	Size               int64
	Hash               string // quickXorHash / sha1Hash / sha256Hash, whatever Graph gave
	Folder, Root       bool
	Modified           time.Time
}

// childPrefix is the children-index prefix of a parent: its length as a
// uvarint, then the id, so that one parent's prefix never matches another's.
func childPrefix(parentID string) []byte {
	p := binary.AppendUvarint(make([]byte, 0, len(parentID)+2), uint64(len(parentID)))
	return append(p, parentID...)
}

func childKey(parentID, id string) []byte {
	return append(childPrefix(parentID), id...)
}

// Item returns the index entry of id.
func (tx *Tx) Item(id string) (Item, bool, error) {
	v := tx.lookup(bktIndex, id)
	if v == nil {
		return Item{}, false, nil
	}
	it, err := decodeItem(v)
	if err != nil {
		return Item{}, false, recordError(tx.name+"/index", fmt.Sprintf("%q", id), err)
	}
	return it, true, nil
}

// HasItem reports whether the index has an entry for id, without decoding
// it.
func (tx *Tx) HasItem(id string) (bool, error) {
	return tx.lookup(bktIndex, id) != nil, nil
}

// PutItem adds or replaces the entry of it.ID and keeps the parent→children
// index in step (a changed ParentID moves the child entry).
func (tx *Tx) PutItem(it Item) error {
	if it.ID == "" {
		return errors.New("put item: empty id")
	}
	idx, err := tx.bucket(bktIndex)
	if err != nil {
		return err
	}
	ch, err := tx.bucket(bktChildren)
	if err != nil {
		return err
	}
	var oldParent string
	v := tx.get(idx, []byte(it.ID))
	existed := v != nil
	if existed {
		if oldParent, err = itemParent(v); err != nil {
			return recordError(tx.name+"/index", fmt.Sprintf("%q", it.ID), err)
		}
	}
	c, err := tx.counters()
	if err != nil {
		return err
	}
	if existed && oldParent != it.ParentID {
		if err := ch.Delete(childKey(oldParent, it.ID)); err != nil {
			return fmt.Errorf("put item %q: %w", it.ID, err)
		}
	}
	if !existed || oldParent != it.ParentID {
		if err := ch.Put(childKey(it.ParentID, it.ID), []byte{}); err != nil {
			return fmt.Errorf("put item %q: %w", it.ID, err)
		}
	}
	if !existed {
		c.Items++
	}
	tx.changed()
	if err := idx.Put([]byte(it.ID), encodeItem(it)); err != nil {
		return fmt.Errorf("put item %q: %w", it.ID, err)
	}
	return nil
}

// DeleteItem removes the entry of id (no error when absent). It does not
// touch the entries of the item's children.
func (tx *Tx) DeleteItem(id string) error {
	old, existed, err := tx.Item(id)
	if err != nil || !existed {
		return err
	}
	c, err := tx.counters()
	if err != nil {
		return err
	}
	ch, err := tx.bucket(bktChildren)
	if err != nil {
		return err
	}
	if ch == nil {
		return fmt.Errorf("delete item %q: read-only transaction", id)
	}
	if err := ch.Delete(childKey(old.ParentID, id)); err != nil {
		return fmt.Errorf("delete item %q: %w", id, err)
	}
	if err := tx.inst.Bucket(bktIndex).Delete([]byte(id)); err != nil {
		return fmt.Errorf("delete item %q: %w", id, err)
	}
	c.Items--
	tx.changed()
	return nil
}

// Children calls fn for each indexed item whose ParentID is parentID, in id
// order. fn may return Stop.
func (tx *Tx) Children(parentID string, fn func(Item) error) error {
	prefix := childPrefix(parentID)
	return tx.iterate(bktChildren, prefix, false, prefix, func(k, _ []byte) error {
		it, ok, err := tx.Item(string(k[len(prefix):]))
		if err != nil || !ok {
			return err
		}
		return fn(it)
	})
}

// ChildIDs calls fn with the id of each indexed child of parentID, in id
// order, without reading the children's entries. fn may return Stop, and
// may write.
func (tx *Tx) ChildIDs(parentID string, fn func(id string) error) error {
	prefix := childPrefix(parentID)
	return tx.iterate(bktChildren, prefix, false, prefix, func(k, _ []byte) error {
		return fn(string(k[len(prefix):]))
	})
}

// ForEachItem calls fn for each indexed item with an id greater than after
// ("" for all), in id order. fn may return Stop, and may write.
func (tx *Tx) ForEachItem(after string, fn func(Item) error) error {
	return tx.iterate(bktIndex, []byte(after), true, nil, func(k, v []byte) error {
		it, err := decodeItem(v)
		if err != nil {
			return recordError(tx.name+"/index", fmt.Sprintf("%q", k), err)
		}
		return fn(it)
	})
}

// ItemCount returns the number of indexed items, in O(1).
func (tx *Tx) ItemCount() (int, error) {
	c, err := tx.counters()
	if err != nil {
		return 0, err
	}
	return int(c.Items), nil
}

// ClearIndex removes every item entry.
func (tx *Tx) ClearIndex() error {
	c, err := tx.counters()
	if err != nil {
		return err
	}
	if err := tx.clearBucket(bktIndex); err != nil {
		return err
	}
	if err := tx.clearBucket(bktChildren); err != nil {
		return err
	}
	c.Items = 0
	tx.changed()
	return nil
}
