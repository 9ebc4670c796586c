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

func TestDecoder_Strs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
	}{
		{"several", []string{"id-1", "", "parent", "a name é", ""}},
		{"all empty", []string{"", "", ""}},
		{"one", []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncoder(0)
			for _, s := range tt.in {
				e.Str(s)
			}
			e.Uint(7)
			d := NewDecoder(e.Data())
			got := make([]string, len(tt.in))
			ptrs := make([]*string, len(got))
			for i := range got {
				got[i] = "unset"
				ptrs[i] = &got[i]
			}
			d.Strs(ptrs...)
			if n := d.Uint(); n != 7 {
				t.Errorf("the field after the strings = %d, want 7", n)
			}
			if err := d.Done(); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tt.in[i] {
					t.Errorf("string %d = %q, want %q", i, got[i], tt.in[i])
				}
			}
		})
	}
	t.Run("short", func(t *testing.T) {
		e := NewEncoder(0)
		e.Str("only one")
		d := NewDecoder(e.Data())
		var a, b string
		d.Strs(&a, &b)
		if err := d.Done(); !errors.Is(err, ErrDamaged) {
			t.Errorf("Done() = %v, want ErrDamaged", err)
		}
	})
}
