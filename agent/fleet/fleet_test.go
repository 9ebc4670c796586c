package fleet

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"
)

// driveIDs returns n ids shaped like business drive ids ("b!" + 64 base64url characters),
// the same on every run.
func driveIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		a := sha256.Sum256([]byte("drive " + strconv.Itoa(i)))
		b := sha256.Sum256(a[:])
		ids[i] = "b!" + base64.RawURLEncoding.EncodeToString(append(a[:], b[:16]...))
	}
	return ids
}

// TestGolden pins the hash: these values were computed from the formula in the package
// comment with sha256sum (e.g. printf 'onedrive-agent/fleet/v1\x000\x00b!abcdef0123456789' |
// sha256sum). If this test fails, agents of different versions would disagree on who owns a
// drive: do not update the values, restore the hash.
func TestGolden(t *testing.T) {
	weights := []struct {
		id    string
		shard int
		want  uint64
	}{
		{"b!AbCdEf0123456789", 0, 0x58855814b02c3c6f},
		{"b!abcdef0123456789", 0, 0x58855814b02c3c6f}, // case does not matter
		{"b!AbCdEf0123456789", 1, 0xaa3259f210c5aba3},
		{"b!ZZZ-site-library", 0, 0x8f86bb7f6633ed22},
		{"b!ZZZ-site-library", 1, 0x36be01211791b795},
		{"0123456789ABCDEF", 0, 0xf10df98998341514},
	}
	for _, w := range weights {
		if got := Weight(w.id, w.shard); got != w.want {
			t.Errorf("Weight(%q, %d) = %#x, want %#x", w.id, w.shard, got, w.want)
		}
	}
	owners := []struct {
		id     string
		shards int
		want   int
	}{
		{"b!AbCdEf0123456789", 1, 0},
		{"b!AbCdEf0123456789", 3, 1},
		{"b!AbCdEf0123456789", 4, 3},
		{"b!AbCdEf0123456789", 7, 3},
		{"b!ZZZ-site-library", 3, 2},
		{"b!ZZZ-site-library", 7, 6},
		{"0123456789ABCDEF", 4, 0},
		{"anything", 0, 0},
	}
	for _, o := range owners {
		if got := Owner(o.id, o.shards); got != o.want {
			t.Errorf("Owner(%q, %d) = %d, want %d", o.id, o.shards, got, o.want)
		}
	}
}

func TestBalance(t *testing.T) {
	ids := driveIDs(5000)
	for _, shards := range []int{2, 3, 4, 7} {
		counts := make([]int, shards)
		for _, id := range ids {
			counts[Owner(id, shards)]++
		}
		fair := len(ids) / shards
		for s, n := range counts {
			// Binomial spread is about sqrt(5000·p·(1-p)) ≤ 36 drives; 8 % of the fair share
			// is well over three of those.
			if n < fair*92/100 || n > fair*108/100 {
				t.Errorf("%d shards: shard %d owns %d drives, fair share %d (counts %v)", shards, s, n, fair, counts)
			}
		}
	}
}

func TestReshard(t *testing.T) {
	ids := driveIDs(5000)
	for _, tt := range []struct{ from, to int }{{3, 4}, {1, 2}, {4, 5}} {
		moved := 0
		for _, id := range ids {
			before, after := Owner(id, tt.from), Owner(id, tt.to)
			if before == after {
				continue
			}
			moved++
			if after != tt.to-1 {
				t.Fatalf("%d→%d shards: %s moved from %d to %d, not to the new shard", tt.from, tt.to, id, before, after)
			}
			if Owner(id, tt.from) != before {
				t.Fatal("Owner is not deterministic")
			}
		}
		pct := float64(moved) * 100 / float64(len(ids))
		t.Logf("%d→%d shards: %d of %d drives move (%.1f %%)", tt.from, tt.to, moved, len(ids), pct)
		if tt.from == 3 && pct > 35 {
			t.Errorf("3→4 shards moves %.1f %% of the drives, at most 35 %% allowed", pct)
		}
		if want := 100 / float64(tt.to); pct < want-5 || pct > want+5 {
			t.Errorf("%d→%d shards moves %.1f %%, expected about %.0f %%", tt.from, tt.to, pct, want)
		}
	}
}

func TestShardFromHostname(t *testing.T) {
	tests := []struct {
		host   string
		shards int
		want   int
		ok     bool
	}{
		{"onedrive-agent-0", 3, 0, true},
		{"onedrive-agent-2", 3, 2, true},
		{"onedrive-agent-2.onedrive-agent.prod.svc.cluster.local", 3, 2, true},
		{"agent007", 8, 7, true},
		{"onedrive-agent-3", 3, 0, false},
		{"onedrive-agent", 3, 0, false},
		{"node-2a", 3, 0, false},
		{"", 3, 0, false},
		{"agent-99999999999999999999999", 3, 0, false},
	}
	for _, tt := range tests {
		got, err := ShardFromHostname(tt.host, tt.shards)
		if (err == nil) != tt.ok || got != tt.want || (err != nil && !errors.Is(err, ErrBadShard)) {
			t.Errorf("ShardFromHostname(%q, %d) = %d, %v", tt.host, tt.shards, got, err)
		}
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		value  string
		shards int
		want   int
		ok     bool
	}{
		{"0", 1, 0, true},
		{"2", 3, 2, true},
		{"3", 3, 0, false},
		{"-1", 3, 0, false},
		{"HostName", 4, 3, true},
		{"two", 3, 0, false},
		{"0", 0, 0, false},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.value, tt.shards, "onedrive-agent-3")
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseShard(%q, %d) = %d, %v", tt.value, tt.shards, got, err)
		}
	}
	m := Membership{Shards: 3, Shard: 1}
	owned := 0
	for _, id := range driveIDs(300) {
		if m.Owns(id) {
			owned++
			if Owner(id, 3) != 1 {
				t.Fatal("Owns disagrees with Owner")
			}
		}
	}
	if owned == 0 || owned == 300 {
		t.Errorf("shard 1 of 3 owns %d of 300", owned)
	}
}
