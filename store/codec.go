package store

import (
	"encoding/binary"
	"errors"
)

// Records are encoded with package store/record (a version byte, then the
// fields in a fixed order); queue keys are 8 bytes big-endian.

// errShort is the cause reported when a record ends before its last field.
var errShort = errors.New("record is truncated")

// u64key encodes a queue key: 8 bytes big-endian, so byte order is numeric order.
func u64key(v uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], v)
	return k[:]
}

// keyU64 decodes a queue key; ok is false when the key is not 8 bytes.
func keyU64(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}
