package delta

import (
	"errors"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// StoreDriveDB returns the DB of one drive of instance name in db, for an instance that
// watches many drives: the drive's own index, cursor and round (store.Tx.Drive), the
// instance's queue, so a round's events join the one queue of the instance and QueuedEvents
// (MaxQueue) counts the whole instance. The drive's state is created on first use.
func StoreDriveDB(db *store.DB, name, driveID string) DB {
	return driveDB{db: db, name: name, drive: driveID}
}

type driveDB struct {
	db          *store.DB
	name, drive string
}

func (d driveDB) Update(fn func(Tx) error) error {
	return d.db.Update(d.name, func(tx *store.Tx) error {
		dtx, err := tx.Drive(d.drive)
		if err != nil {
			return err
		}
		return fn(dtx)
	})
}

func (d driveDB) View(fn func(Tx) error) error {
	var missing bool // the drive has no state yet (not an ErrNotFound of fn's)
	view := func() error {
		return d.db.View(d.name, func(tx *store.Tx) error {
			dtx, err := tx.Drive(d.drive)
			if err != nil {
				missing = errors.Is(err, store.ErrNotFound)
				return err
			}
			return fn(dtx)
		})
	}
	err := view()
	if missing {
		// A drive never polled: create its (empty) state, then read it.
		if err = d.Update(func(Tx) error { return nil }); err == nil {
			err = view()
		}
	}
	return err
}
