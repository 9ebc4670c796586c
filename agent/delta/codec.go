package delta

import (
	"errors"

	"github.com/onedrive-agent/onedrive-agent/store/record"
)

// Staged records, pending events, work items and the round state are stored
// in the store's compact record form (package store/record): a version byte,
// then the fields in a fixed order. A damaged record gives an error wrapping
// errDamaged, never a panic or a huge allocation.

// errDamaged is wrapped by every error about a record that cannot be decoded.
var errDamaged = record.ErrDamaged

// errBadField is the cause recorded for a field with an impossible value.
var errBadField = errors.New("field out of range")
