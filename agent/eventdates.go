package agent

import (
	"bytes"
	"fmt"
	"time"
)

// EventDates returns the date of each event of a callback body as the agent builds it
// ({"message":{"events":[{"date":…},…]}}), for the event latency histogram. It runs for every
// delivered message, so it scans the body once without decoding what it skips (the events'
// Graph items are most of it): a third or less of the CPU of encoding/json. Keys are matched
// exactly, as the agent writes them, and what is skipped is not validated; a date that is
// null or empty is left out.
func EventDates(body []byte) ([]time.Time, error) {
	// The events are the last member of the message: their array is read on
	// its own from the first `,"events":[` that ends the body as the message
	// does, and the whole body is walked only when none does. (The search
	// goes forward: bytes.Index is several times faster than LastIndex.)
	for off := 0; ; {
		i := bytes.Index(body[off:], eventsKey)
		if i < 0 {
			break
		}
		sc := dateScanner{b: body, i: off + i + len(eventsKey) - 1}
		var out []time.Time
		if err := sc.array(func() error { return sc.event(&out) }); err == nil &&
			sc.expect('}') && sc.expect('}') {
			if sc.ws(); sc.i == len(sc.b) {
				return out, nil
			}
		}
		off += i + 1
	}
	sc := dateScanner{b: body}
	var out []time.Time
	err := sc.object(func(key []byte) error {
		if string(key) != "message" {
			return sc.skip()
		}
		return sc.object(func(key []byte) error {
			if string(key) != "events" {
				return sc.skip()
			}
			return sc.array(func() error { return sc.event(&out) })
		})
	})
	if err == nil {
		sc.ws()
		if sc.i != len(sc.b) {
			err = sc.fail("data after the body")
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eventsKey comes right before the message's events array, its last member
// ({"message":{…,"events":[…]}}). A key of a Graph item in raw.changes
// comes before it; inside a string its quotes would be escaped.
var eventsKey = []byte(`,"events":[`)

// event reads one event object, appending its date to out.
func (s *dateScanner) event(out *[]time.Time) error {
	return s.object(func(key []byte) error {
		if string(key) != "date" {
			return s.skip()
		}
		if s.literal("null") {
			return nil
		}
		v, err := s.str()
		if err != nil || len(v) == 0 {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return fmt.Errorf("event dates: %w", err)
		}
		*out = append(*out, t)
		return nil
	})
}

// dateScanner walks a JSON document for EventDates.
type dateScanner struct {
	b []byte
	i int
}

func (s *dateScanner) fail(what string) error {
	return fmt.Errorf("event dates: %s at byte %d", what, s.i)
}

func (s *dateScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// expect consumes c after white space.
func (s *dateScanner) expect(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal consumes word (after white space) when it comes next.
func (s *dateScanner) literal(word string) bool {
	s.ws()
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// str reads a string and returns its raw bytes between the quotes (escapes
// left as they are, not checked).
func (s *dateScanner) str() ([]byte, error) {
	if !s.expect('"') {
		return nil, s.fail("want a string")
	}
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return nil, s.fail("unterminated string")
		}
		if k := bytes.IndexByte(s.b[s.i:s.i+j], '\\'); k >= 0 {
			s.i += k + 2 // the escaped byte may be a quote
			continue
		}
		s.i += j + 1
		return s.b[start : s.i-1], nil
	}
}

// object reads an object, calling member with each key; member must
// consume the value.
func (s *dateScanner) object(member func(key []byte) error) error {
	if !s.expect('{') {
		return s.fail("want an object")
	}
	if s.expect('}') {
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if !s.expect(':') {
			return s.fail("want ':'")
		}
		if err := member(key); err != nil {
			return err
		}
		if s.expect('}') {
			return nil
		}
		if !s.expect(',') {
			return s.fail("want ',' or '}'")
		}
	}
}

// array reads an array, calling elem for each element; elem must consume it.
func (s *dateScanner) array(elem func() error) error {
	if !s.expect('[') {
		return s.fail("want an array")
	}
	if s.expect(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if s.expect(']') {
			return nil
		}
		if !s.expect(',') {
			return s.fail("want ',' or ']'")
		}
	}
}

// composite consumes an object or an array, matching brackets outside
// strings without checking what is between them.
func (s *dateScanner) composite() error {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		s.i++
		if depth == 0 {
			return nil
		}
	}
	return s.fail("unterminated object or array")
}

// skip consumes one value of any kind.
func (s *dateScanner) skip() error {
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("want a value")
	}
	switch s.b[s.i] {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		return s.composite()
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if s.i == start {
				return s.fail("want a value")
			}
			return nil
		}
		s.i++
	}
	if s.i == start {
		return s.fail("want a value")
	}
	return nil
}
