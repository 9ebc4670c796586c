package record

import (
	"errors"
	"testing"
	"time"
)

func sample() []byte {
	e := NewEncoder(0)
	e.Byte(3)
	e.Uint(1 << 40)
	e.Int(-5)
	e.Bool(true)
	e.Str("héllo")
	e.Bytes([]byte{0, 1, 2})
	e.Time(time.Date(2026, 11, 26, 10, 15, 2, 123, time.UTC))
	e.Time(time.Time{})
	e.Fixed64(0xdeadbeef)
	return e.Data()
}

func TestDecoder_RoundTrip(t *testing.T) {
	d := NewDecoder(sample())
	d.Version(3)
	if v := d.Uint(); v != 1<<40 {
		t.Errorf("Uint = %d", v)
	}
	if v := d.Int(); v != -5 {
		t.Errorf("Int = %d", v)
	}
	if !d.Bool() {
		t.Error("Bool = false")
	}
	if s := d.Str(); s != "héllo" {
		t.Errorf("String = %q", s)
	}
	if b := d.Bytes(); string(b) != "\x00\x01\x02" {
		t.Errorf("Bytes = %v", b)
	}
	if tm := d.Time(); !tm.Equal(time.Date(2026, 11, 26, 10, 15, 2, 123, time.UTC)) {
		t.Errorf("Time = %v", tm)
	}
	if tm := d.Time(); !tm.IsZero() {
		t.Errorf("zero Time = %v", tm)
	}
	if v := d.Fixed64(); v != 0xdeadbeef {
		t.Errorf("Fixed64 = %x", v)
	}
	if err := d.Done(); err != nil {
		t.Fatal(err)
	}
}

func TestDecoder_Damaged(t *testing.T) {
	rec := sample()
	for i := 0; i < len(rec); i++ { // every truncation
		if err := decodeAll(rec[:i]); !errors.Is(err, ErrDamaged) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrDamaged", i, err)
		}
	}
	if err := decodeAll(append(rec, 0)); !errors.Is(err, ErrDamaged) {
		t.Fatalf("trailing byte: err = %v, want ErrDamaged", err)
	}
	d := NewDecoder(sample())
	d.Version(4)
	if !errors.Is(d.Done(), ErrDamaged) {
		t.Fatal("a wrong version is not reported")
	}
}

func decodeAll(b []byte) error {
	d := NewDecoder(b)
	d.Version(3)
	d.Uint()
	d.Int()
	d.Bool()
	d.Str()
	d.Bytes()
	d.Time()
	d.Time()
	d.Fixed64()
	return d.Done()
}

func FuzzDecoder(f *testing.F) {
	f.Add(sample())
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = decodeAll(b) // must not panic or allocate without bound
		d := NewDecoder(b)
		for d.Err() == nil && len(d.Raw()) >= 0 && d.Err() == nil {
			if d.Done() == nil {
				break
			}
		}
	})
}
