package delta

import (
	"encoding/binary"
	"errors"
	"time"
)

// Staged records, pending events, work items and the round state are stored
// in a compact binary form: a one-byte format version, then the fields in a
// fixed order. Integers are (u)varints, strings are a uvarint length followed
// by the bytes, times are Unix nanoseconds (0 = the zero time). Decoding
// checks every length against what is left, so a damaged record gives an
// error, never a panic or a huge allocation.

// errDamaged is the cause reported when a stored record cannot be decoded.
var errDamaged = errors.New("damaged record")

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
		e.int(0)
		return
	}
	e.int(t.UnixNano())
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = errDamaged
	}
	d.b = nil
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
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
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) raw() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *dec) str() string { return string(d.raw()) }

// bytes returns a copy of a length-prefixed byte field, nil when empty.
func (d *dec) bytes() []byte {
	p := d.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *dec) time() time.Time {
	n := d.int()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (d *dec) version(want byte) {
	if d.byte() != want {
		d.fail()
	}
}

// done reports the first decoding problem, or trailing garbage.
func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errDamaged
	}
	return d.err
}
