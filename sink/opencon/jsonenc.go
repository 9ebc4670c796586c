package opencon

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// This file holds the small append-based JSON writer that forms message
// bodies. It writes the same bytes encoding/json would for strings, except
// that it does not escape <, > and & (encoding/json's HTML escaping), which
// receivers do not need: the output equals an encoding/json Encoder's with
// SetEscapeHTML(false), invalid UTF-8 becoming U+FFFD.

const hexDigits = "0123456789abcdef"

// AppendString appends s as a quoted JSON string.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript; encoding/json escapes them.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendStrings appends ss as a JSON array of strings; nil gives [].
func AppendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// TimeLayout is RFC 3339 in UTC with seconds precision, the format of every
// time in a message body.
const TimeLayout = "2006-01-02T15:04:05Z"

// AppendTime appends t as a quoted RFC 3339 UTC time with seconds precision.
func AppendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"')
}

// AppendID appends "<prefix><seq zero-padded to 12 digits>" without quotes.
func AppendID(b []byte, prefix string, seq uint64) []byte {
	b = append(b, prefix...)
	var digits [20]byte
	d := strconv.AppendUint(digits[:0], seq, 10)
	for i := len(d); i < 12; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}
