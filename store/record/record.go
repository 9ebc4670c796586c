// Package record encodes values in the compact binary form of the
// database's records: a one-byte format version, then the fields in a fixed
// order. Integers are (u)varints, strings and byte slices are a uvarint
// length followed by the bytes, and times are a presence flag followed by
// Unix seconds (varint) and nanoseconds (uvarint).
//
// Decoding checks every length against what is left, so a damaged record
// yields an error wrapping ErrDamaged, never a panic or a huge allocation.
// The store uses it for its own records; agent/delta for the round records
// it keeps in the store.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrDamaged is wrapped by every decoding error.
var ErrDamaged = errors.New("damaged record")

// Encoder appends fields to a byte slice.
type Encoder struct{ b []byte }

// NewEncoder returns an Encoder whose buffer has room for size bytes.
func NewEncoder(size int) *Encoder { return &Encoder{b: make([]byte, 0, size)} }

// Data returns the encoded record.
func (e *Encoder) Data() []byte { return e.b }

// Uint appends an unsigned integer.
func (e *Encoder) Uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

// Int appends a signed integer.
func (e *Encoder) Int(v int64) { e.b = binary.AppendVarint(e.b, v) }

// Byte appends one byte (a version, a flag or a small enum).
func (e *Encoder) Byte(v byte) { e.b = append(e.b, v) }

// Bool appends a boolean as one byte.
func (e *Encoder) Bool(v bool) {
	if v {
		e.Byte(1)
	} else {
		e.Byte(0)
	}
}

// Str appends a length-prefixed string.
func (e *Encoder) Str(s string) {
	e.Uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// Bytes appends a length-prefixed byte slice.
func (e *Encoder) Bytes(p []byte) {
	e.Uint(uint64(len(p)))
	e.b = append(e.b, p...)
}

// Time appends a time; the zero time round-trips as the zero time.
func (e *Encoder) Time(t time.Time) {
	if t.IsZero() {
		e.Byte(0)
		return
	}
	e.Byte(1)
	e.Int(t.Unix())
	e.Uint(uint64(t.Nanosecond()))
}

// Decoder reads fields back. The first problem sticks: every later read
// returns a zero value, and Done reports it.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a Decoder over b. Byte slices it returns from Raw
// point into b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Fail records a problem (wrapped with ErrDamaged) unless one is recorded
// already.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %w", ErrDamaged, err)
	}
	d.b = nil
}

// Err returns the first problem met so far.
func (d *Decoder) Err() error { return d.err }

var errShort = errors.New("record is truncated")

// Uint reads an unsigned integer.
func (d *Decoder) Uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Int reads a signed integer.
func (d *Decoder) Int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.Fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Count reads a non-negative integer that must fit in an int32; what names
// it in the error.
func (d *Decoder) Count(what string) int {
	v := d.Uint()
	if v > math.MaxInt32 {
		d.Fail(fmt.Errorf("%s %d out of range", what, v))
		return 0
	}
	return int(v)
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.Fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// Bool reads a boolean written by Encoder.Bool.
func (d *Decoder) Bool() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.Fail(errors.New("bad boolean"))
	return false
}

// Raw returns the next length-prefixed field without copying.
func (d *Decoder) Raw() []byte {
	n := d.Uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.Fail(errShort)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// Str reads a length-prefixed string.
func (d *Decoder) Str() string { return string(d.Raw()) }

// maxStrs is the most strings one Strs call reads.
const maxStrs = 8

// Strs reads len(dst) (at most 8) consecutive length-prefixed strings into
// one allocation that they share: a record's names and ids cost one
// allocation instead of one each. On an error the strings are left alone.
func (d *Decoder) Strs(dst ...*string) {
	if len(dst) > maxStrs {
		panic("record: Strs reads at most 8 strings")
	}
	var views [maxStrs][]byte
	total := 0
	for i := range dst {
		views[i] = d.Raw()
		total += len(views[i])
	}
	if d.err != nil {
		return
	}
	var sb strings.Builder
	sb.Grow(total)
	for i := range dst {
		sb.Write(views[i])
	}
	all := sb.String()
	off := 0
	for i, p := range dst {
		*p = all[off : off+len(views[i])]
		off += len(views[i])
	}
}

// Bytes returns a copy of the next length-prefixed field (nil when empty).
func (d *Decoder) Bytes() []byte {
	p := d.Raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// Time reads a time written by Encoder.Time, in UTC.
func (d *Decoder) Time() time.Time {
	switch d.Byte() {
	case 0:
		return time.Time{}
	case 1:
	default:
		d.Fail(errors.New("bad time flag"))
		return time.Time{}
	}
	sec := d.Int()
	nsec := d.Uint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.Fail(fmt.Errorf("time nanoseconds %d out of range", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// Version reads the leading format byte and checks it.
func (d *Decoder) Version(want byte) {
	if v := d.Byte(); d.err == nil && v != want {
		d.Fail(fmt.Errorf("unknown record format %d (want %d)", v, want))
	}
}

// Done reports the first problem, or an error when bytes are left over.
func (d *Decoder) Done() error {
	if d.err == nil && len(d.b) != 0 {
		d.Fail(fmt.Errorf("%d unexpected trailing bytes", len(d.b)))
	}
	return d.err
}

// Fixed64 appends v as 8 bytes, big-endian (for hashes and keys).
func (e *Encoder) Fixed64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

// Fixed64 reads 8 bytes written by Encoder.Fixed64.
func (d *Decoder) Fixed64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.Fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
