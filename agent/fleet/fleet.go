// Package fleet splits the drives of a tenant-wide instance between agents that share nothing
// but their configuration: each drive belongs to exactly one of `shards` agents, chosen by
// rendezvous (highest random weight) hashing of its drive id.
//
// The hash is part of the on-the-wire contract between agents of different versions during a
// rolling upgrade, so it never changes: the weight of drive d for shard s is the first 8 bytes,
// read big-endian, of
//
//	SHA-256("onedrive-agent/fleet/v1" || 0x00 || decimal(s) || 0x00 || lower(d))
//
// where decimal(s) is the shard number in ASCII without leading zeros and lower(d) is the drive
// id in lower case (Graph compares drive ids case-insensitively). The owner is the shard with
// the largest weight; a tie, which needs a 64-bit collision, goes to the lower shard number.
// Going from n to n+1 shards moves only the drives that the new shard wins, about 1/(n+1)
// of them, and every one of them to the new shard; going back moves exactly those back.
package fleet

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// hashDomain separates the fleet's hash from any other use of SHA-256; "v1" would change only
// with a new, differently named scheme.
const hashDomain = "onedrive-agent/fleet/v1"

// ErrBadShard reports an invalid [fleet] configuration.
var ErrBadShard = errors.New("invalid fleet configuration")

// Weight returns the rendezvous weight of driveID for shard (see the package comment).
func Weight(driveID string, shard int) uint64 {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(shard)))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(driveID)))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// Owner returns the shard, 0 … shards-1, that polls driveID. With shards ≤ 1 it is 0.
func Owner(driveID string, shards int) int {
	best, bestW := 0, uint64(0)
	for s := range max(shards, 1) {
		if w := Weight(driveID, s); s == 0 || w > bestW {
			best, bestW = s, w
		}
	}
	return best
}

// Membership is this agent's place in the fleet.
type Membership struct {
	Shards int // agents sharing the drives, at least 1
	Shard  int // this agent, 0 … Shards-1
}

// Validate checks 0 ≤ Shard < Shards.
func (m Membership) Validate() error {
	if m.Shards < 1 {
		return fmt.Errorf("%w: shards = %d: must be at least 1", ErrBadShard, m.Shards)
	}
	if m.Shard < 0 || m.Shard >= m.Shards {
		return fmt.Errorf("%w: shard = %d: must be 0 … %d (shards = %d)", ErrBadShard, m.Shard, m.Shards-1, m.Shards)
	}
	return nil
}

// Owns reports whether this agent polls driveID.
func (m Membership) Owns(driveID string) bool { return Owner(driveID, m.Shards) == m.Shard }

// ShardFromHostname returns the trailing number of a host name, as a Kubernetes StatefulSet
// names its pods (onedrive-agent-2 → 2). Only the first label of a dotted name counts. A name
// without a trailing number, or with one ≥ shards, is an error.
func ShardFromHostname(host string, shards int) (int, error) {
	label, _, _ := strings.Cut(strings.TrimSpace(host), ".")
	i := len(label)
	for i > 0 && label[i-1] >= '0' && label[i-1] <= '9' {
		i--
	}
	digits := label[i:]
	if digits == "" {
		return 0, fmt.Errorf("%w: shard = \"hostname\": host name %q does not end in a number (a StatefulSet pod is named like onedrive-agent-2)", ErrBadShard, host)
	}
	n, err := strconv.Atoi(digits) // leading zeros are fine: agent-007 is 7
	if err != nil || n >= shards {
		return 0, fmt.Errorf("%w: shard = \"hostname\": host name %q gives shard %s, but shards = %d (shards must be the StatefulSet's replicas)", ErrBadShard, host, digits, shards)
	}
	return n, nil
}

// ParseShard reads the shard setting: a number, or "hostname" (the trailing number of host,
// see ShardFromHostname). The result is checked against shards.
func ParseShard(value string, shards int, host string) (int, error) {
	v := strings.TrimSpace(value)
	if strings.EqualFold(v, "hostname") {
		return ShardFromHostname(host, shards)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: shard = %q: a number or \"hostname\"", ErrBadShard, value)
	}
	if err := (Membership{Shards: shards, Shard: n}).Validate(); err != nil {
		return 0, err
	}
	return n, nil
}
