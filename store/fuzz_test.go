package store

import (
	"os"
	"reflect"
	"testing"
	"time"
)

// Every record decoder must turn any input into a value or an error, never
// a panic; and what decodes must encode back to a value that decodes the
// same.

var fuzzTime = time.Date(2026, 11, 26, 10, 15, 2, 999, time.UTC)

func addSeeds(f *testing.F, valid ...[]byte) {
	for _, v := range valid {
		f.Add(v)
		f.Add(v[:len(v)/2])
		f.Add(append(append([]byte{}, v...), 0))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{9, 9, 9})
}

func FuzzDecodeItem(f *testing.F) {
	addSeeds(f, encodeItem(Item{ID: "id", ParentID: "p", Name: "n", ETag: "e", CTag: "c", Size: -5, Hash: "h", Folder: true, Modified: fuzzTime}),
		encodeItem(Item{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeItem(b)
		if err != nil {
			return
		}
		again, err := decodeItem(encodeItem(it))
		if err != nil || !reflect.DeepEqual(it, again) {
			t.Fatalf("round trip: %+v -> %+v, %v", it, again, err)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	addSeeds(f, encodeMessage(&Message{ID: "m", Events: 10, Body: []byte(`{"a":1}`), Created: fuzzTime, Attempts: 3, NextAttempt: fuzzTime, LastError: "e"}),
		encodeMessage(&Message{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(7, b)
		ev, everr := messageEvents(b)
		if err != nil {
			return
		}
		if everr != nil || ev != m.Events {
			t.Fatalf("messageEvents = %d, %v; full decode says %d", ev, everr, m.Events)
		}
		again, err := decodeMessage(7, encodeMessage(&m))
		if err != nil || !reflect.DeepEqual(m, again) {
			t.Fatalf("round trip: %+v -> %+v, %v", m, again, err)
		}
	})
}

func FuzzDecodeDeadLetter(f *testing.F) {
	addSeeds(f, encodeDead(&DeadLetter{Message: Message{ID: "m", Events: 1, Body: []byte("x")}, Reason: "400", Died: fuzzTime}))
	f.Fuzz(func(t *testing.T, b []byte) {
		dl, err := decodeDead(1, b)
		if err != nil {
			return
		}
		again, err := decodeDead(1, encodeDead(&dl))
		if err != nil || !reflect.DeepEqual(dl, again) {
			t.Fatalf("round trip: %+v -> %+v, %v", dl, again, err)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	addSeeds(f, encodeState(State{DriveID: "d", Scope: "s", Baselined: true, NeedsLogin: true, LastPoll: fuzzTime,
		LastSuccess: fuzzTime, LastPollError: "p", LastDeliveryError: "d", Resyncs: 3}), encodeState(State{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b)
		if err != nil {
			return
		}
		again, err := decodeState(encodeState(s))
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip: %+v -> %+v, %v", s, again, err)
		}
	})
}

func FuzzDecodeToken(f *testing.F) {
	addSeeds(f, encodeToken(Token{AccessToken: "a", RefreshToken: "r", TokenType: "Bearer", Expiry: fuzzTime}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := decodeToken(b)
		if err != nil {
			return
		}
		again, err := decodeToken(encodeToken(tok))
		if err != nil || !reflect.DeepEqual(tok, again) {
			t.Fatal("round trip differs") // no values: tokens are secrets, even fake ones
		}
	})
}

func FuzzDecodeInstance(f *testing.F) {
	addSeeds(f, encodeInstance(Instance{ID: 3, Name: "finance", Created: fuzzTime}))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeInstance(b)
		if err != nil {
			return
		}
		again, err := decodeInstance(encodeInstance(in))
		if err != nil || !reflect.DeepEqual(in, again) {
			t.Fatalf("round trip: %+v -> %+v, %v", in, again, err)
		}
	})
}

func FuzzDecodeCounters(f *testing.F) {
	c := newCounters()
	c.QueuedMsgs, c.QueuedEvents, c.Seq, c.Tail = 2, 20, 99, firstKey+2
	addSeeds(f, encodeCounters(c), encodeCounters(newCounters()))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCounters(b)
		if err != nil {
			return
		}
		again, err := decodeCounters(encodeCounters(c))
		if err != nil || again != c {
			t.Fatalf("round trip: %+v -> %+v, %v", c, again, err)
		}
	})
}

// FuzzOpen feeds arbitrary bytes as a database file to Open: it must
// return a database or an error, never panic or fault (bbolt's freelist
// rebuild would, on its own goroutine, if the pre-open checks missed a
// damaged page). Seeds: an empty file, zeros, and a real database.
func FuzzOpen(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 8192))
	path := f.TempDir() + "/seed.db"
	db, err := Open(path, Options{NoSync: true, NoAutoCompact: true})
	if err != nil {
		f.Fatal(err)
	}
	_, _ = db.EnsureInstance("a")
	_ = db.Update("a", func(tx *Tx) error {
		_ = tx.PutItem(Item{ID: "x", ParentID: "root"})
		return tx.Enqueue(Message{ID: "m", Events: 1, Body: make([]byte, 5000)}, Message{ID: "n", Events: 1})
	})
	_ = db.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		path := t.TempDir() + "/f.db"
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{NoSync: true, NoAutoCompact: true, Timeout: time.Second})
		if err != nil {
			return
		}
		defer db.Close()
		ins, _ := db.Instances()
		for _, in := range ins {
			_, _ = db.Peek(in.Name, 10)
			_, _ = db.Stats(in.Name)
		}
	})
}
