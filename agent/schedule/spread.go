package schedule

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"strings"
	"time"
)

// Fraction returns key's fixed place in a period, in [0, 1) as a 64-bit binary fraction: the
// first 8 bytes, big-endian, of SHA-256("onedrive-agent/spread/v1" 0x00 lower(key)). The same
// key (a drive id, compared without case as Graph does) gets the same place in every process
// and version, and many keys spread evenly.
func Fraction(key string) uint64 {
	h := sha256.New()
	h.Write([]byte("onedrive-agent/spread/v1"))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(key)))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// Offset returns key's fixed offset within period, in [0, period).
func Offset(key string, period time.Duration) time.Duration {
	if period <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(Fraction(key), uint64(period))
	return time.Duration(hi)
}

// NextSpread returns the first poll of key strictly after after: the schedule's slots shifted
// by key's offset within the gap between slots (the interval; for a cron schedule, the gap
// between its next two slots). Polls of many drives on one schedule then trickle evenly over
// the interval instead of all falling on the slot. A shifted poll may end up to one gap past
// the end of an active-hours window.
func (s *Schedule) NextSpread(key string, after time.Time) time.Time {
	gap := s.interval
	if gap == 0 {
		first := s.Next(after)
		gap = s.Next(first).Sub(first)
	}
	off := Offset(key, gap)
	return s.Next(after.Add(-off)).Add(off)
}
