package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Records are stored in a compact binary form: a one-byte format version,
// then the fields in a fixed order. Integers are (u)varints, strings and byte
// slices are a uvarint length followed by the bytes, times are a presence
// flag followed by Unix seconds (varint) and nanoseconds (uvarint).
// Decoding checks every length against what is left, so garbage yields an
// error, never a panic or a huge allocation.

// errShort is the cause reported when a record ends before its last field.
var errShort = errors.New("record is truncated")

// enc appends fields to a byte slice.
type enc struct{ b []byte }

func (e *enc) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) byte(v byte)   { e.b = append(e.b, v) }

func (e *enc) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) bytes(p []byte) {
	e.uint(uint64(len(p)))
	e.b = append(e.b, p...)
}

func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte(0)
		return
	}
	e.byte(1)
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// dec reads fields back; the first problem sticks in err and every later
// read returns a zero value.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a non-negative int that must fit in an int32.
func (d *dec) count(what string) int {
	v := d.uint()
	if v > math.MaxInt32 {
		d.fail(fmt.Errorf("%s %d out of range", what, v))
		return 0
	}
	return int(v)
}

func (d *dec) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// raw returns the next length-prefixed field without copying.
func (d *dec) raw() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string { return string(d.raw()) }

// bytes returns a copy of the next length-prefixed field (nil when empty).
func (d *dec) bytes() []byte {
	p := d.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *dec) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
	default:
		d.fail(errors.New("bad time flag"))
		return time.Time{}
	}
	sec := d.int()
	nsec := d.uint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail(fmt.Errorf("time nanoseconds %d out of range", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// version reads the leading format byte and checks it.
func (d *dec) version(want byte) {
	if v := d.byte(); d.err == nil && v != want {
		d.fail(fmt.Errorf("unknown record format %d (want %d)", v, want))
	}
}

// done reports the first error, or an error when bytes are left over.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d unexpected trailing bytes", len(d.b)))
	}
	return d.err
}

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
