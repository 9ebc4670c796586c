package graphtest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// round is one delta enumeration in progress: the items it lists, frozen when
// its first page was served; each page shows the items' state at that moment.
type round struct {
	id    string
	epoch uint64
	upto  uint64 // the version its deltaLink will carry
	items []int32
}

// roundCache keeps recent rounds so that nextLinks can be followed; the oldest
// are dropped (a nextLink into a dropped round gets 410, as Graph may answer).
type roundCache struct {
	next    uint64
	byID    map[string]*round
	order   []string
	entries int
}

const (
	maxRounds       = 64
	maxRoundEntries = 8 << 20
)

func newRoundCache() roundCache { return roundCache{byID: make(map[string]*round)} }

func (c *roundCache) add(r *round) {
	c.next++
	r.id = strconv.FormatUint(c.next, 36)
	c.byID[r.id] = r
	c.order = append(c.order, r.id)
	c.entries += len(r.items)
	for len(c.order) > 1 && (len(c.order) > maxRounds || c.entries > maxRoundEntries) {
		old := c.byID[c.order[0]]
		c.entries -= len(old.items)
		delete(c.byID, c.order[0])
		c.order = c.order[1:]
	}
}

// minUpto is the lowest version a cached round shows.
func (c *roundCache) minUpto() uint64 {
	m := ^uint64(0)
	for _, r := range c.byID {
		m = min(m, r.upto)
	}
	return m
}

func (c *roundCache) clear() {
	c.byID = make(map[string]*round)
	c.order, c.entries = nil, 0
}

// fullRound lists every live item (a delta without token).
func (s *Server) fullRound() *round {
	t := &s.tree
	items := make([]int32, 0, t.live)
	items = append(items, 0)
	for k := 0; k < len(items); k++ { // breadth first: parents before children
		for c := t.nodes[items[k]].firstChild; c != none; c = t.nodes[c].nextSib {
			items = append(items, c)
		}
	}
	switch s.opts.Order {
	case ChildFirst:
		slices.Reverse(items)
	case Shuffled:
		s.shuffle(items)
	}
	return s.finishRound(items)
}

// changeRound lists the items changed after version from, each once, plus
// (unless excluded) the live ancestor folders of every changed item.
// Descendants of a deleted folder are listed only with DeletedDescendants
// or when they changed otherwise too (say, moved into the folder first).
func (s *Server) changeRound(from uint64, withAncestors bool) *round {
	t := &s.tree
	seen := make([]uint64, (len(t.nodes)+63)/64)
	mark := func(i int32) bool {
		w, b := i/64, uint64(1)<<(i%64)
		if seen[w]&b != 0 {
			return false
		}
		seen[w] |= b
		return true
	}
	var items []int32
	for _, c := range t.log[t.since(from):] {
		// Unless DeletedDescendants, an item deleted with its folder is left
		// out when that deletion is its only change since the token.
		if n := &t.nodes[c.idx]; n.cascade && c.ver == n.ver && !s.opts.DeletedDescendants {
			continue
		}
		if mark(c.idx) {
			items = append(items, c.idx)
		}
	}
	if withAncestors {
		changed := len(items)
		for _, i := range items[:changed] {
			for p := t.nodes[i].parent; p != none && !t.nodes[p].deleted; p = t.nodes[p].parent {
				if !mark(p) {
					break
				}
				items = append(items, p)
			}
		}
	}
	switch s.opts.Order {
	case ParentFirst, ChildFirst:
		depth := make(map[int32]int, len(items))
		for _, i := range items {
			depth[i] = t.depth(i)
		}
		sign := 1
		if s.opts.Order == ChildFirst {
			sign = -1
		}
		slices.SortFunc(items, func(a, b int32) int {
			if d := sign * (depth[a] - depth[b]); d != 0 {
				return d
			}
			return int(a - b)
		})
	case Shuffled:
		s.shuffle(items)
	}
	return s.finishRound(items)
}

func (s *Server) shuffle(items []int32) {
	rng := rand.New(rand.NewPCG(uint64(s.opts.Seed), s.rounds.next))
	rng.Shuffle(len(items), func(a, b int) { items[a], items[b] = items[b], items[a] })
}

func (s *Server) finishRound(items []int32) *round {
	if n := s.opts.DuplicateEvery; n > 0 {
		for k, l := 0, len(items); k < l; k += n {
			items = append(items, items[k])
		}
	}
	r := &round{epoch: s.epoch, upto: s.tree.head, items: items}
	s.rounds.add(r)
	s.tree.keep = r.upto
	s.tree.prune(s.rounds.minUpto())
	return r
}

// deltaToken is a decoded token: a deltaLink (kind 'd') names a version, a
// nextLink (kind 'n') a position in a round.
type deltaToken struct {
	kind   byte
	epoch  uint64
	ver    uint64    // 'd'
	issued time.Time // 'd'
	round  string    // 'n'
	pos    int       // 'n'
	page   int       // 'n'
}

func (s *Server) encodeDeltaToken(ver uint64) string {
	raw := fmt.Sprintf("d.%d.%d.%d.%s", s.epoch, ver, s.now().UnixMilli(), randomHex(3))
	return "aW" + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func (s *Server) encodeNextToken(r *round, pos, page int) string {
	raw := fmt.Sprintf("n.%d.%s.%d.%d.%s", r.epoch, r.id, pos, page, randomHex(3))
	return "aW" + base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeDeltaToken(tok string) (deltaToken, bool) {
	var dt deltaToken
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "aW"))
	if err != nil || !strings.HasPrefix(tok, "aW") {
		return dt, false
	}
	f := strings.Split(string(raw), ".")
	num := func(k int) (uint64, bool) {
		v, err := strconv.ParseUint(f[k], 10, 64)
		return v, err == nil
	}
	var ok1, ok2, ok3 bool
	switch {
	case len(f) == 5 && f[0] == "d":
		dt.kind = 'd'
		dt.epoch, ok1 = num(1)
		dt.ver, ok2 = num(2)
		var ms uint64
		ms, ok3 = num(3)
		dt.issued = time.UnixMilli(int64(ms))
	case len(f) == 6 && f[0] == "n":
		dt.kind = 'n'
		dt.epoch, ok1 = num(1)
		dt.round = f[2]
		var pos, page uint64
		pos, ok2 = num(3)
		page, ok3 = num(4)
		dt.pos, dt.page = int(pos), int(page)
	}
	return dt, ok1 && ok2 && ok3
}
