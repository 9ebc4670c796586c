package graphtest

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

var populateExts = []string{".txt", ".pdf", ".docx", ".xlsx", ".jpg", ".png", ".csv", ".bin"}

// Populate adds n items below the root in a single change of the drive:
// about 8% folders, nested breadth first with 50 to 200 items per folder
// (a million items reach a depth of about four), files with random sizes up
// to 1 MiB, random hashes and dates within the last year. Names embed the
// item index, so repeated calls never collide. The same seed on the same
// drive gives the same tree. A million items take well under a second and
// about 150 MB.
func (s *Server) Populate(n int, seed int64) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &s.tree
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	now := s.nowMilli()
	const year = 365 * 24 * 3600 * 1000
	t.head++
	v := t.head
	base := len(t.nodes)
	t.nodes = slices.Grow(t.nodes, n)
	t.log = slices.Grow(t.log, n)

	var names strings.Builder
	names.Grow(n * 16)
	ends := make([]int32, n)
	capacity := func() int { return 50 + rng.IntN(151) }
	queue := []int32{0}
	qi, left := 0, capacity()
	for k := 0; k < n; k++ {
		parent := queue[qi]
		folder := rng.IntN(100) < 8 || (qi == len(queue)-1 && left == 1)
		i := int32(len(t.nodes))
		nd := node{firstChild: none, folder: folder, ver: v, etag: 1, ctag: 1}
		nd.created = now - rng.Int64N(year)
		nd.modified = nd.created + rng.Int64N(now-nd.created+1)
		if folder {
			names.WriteString("Folder ")
			names.WriteString(strconv.Itoa(int(i)))
			queue = append(queue, i)
		} else {
			nd.size = rng.Int64N(1 << 20)
			for b := range nd.hash {
				nd.hash[b] = byte(rng.Uint32())
			}
			names.WriteString("file-")
			names.WriteString(strconv.Itoa(int(i)))
			names.WriteString(populateExts[rng.IntN(len(populateExts))])
		}
		ends[k] = int32(names.Len())
		t.nodes = append(t.nodes, nd)
		t.link(i, parent)
		t.log = append(t.log, change{ver: v, idx: i, at: now})
		if left--; left == 0 {
			qi++
			left = capacity()
		}
	}
	all := names.String() // one allocation shared by every name
	start := int32(0)
	for k := 0; k < n; k++ {
		t.nodes[base+k].name = all[start:ends[k]]
		start = ends[k]
	}
	// Folder sizes: children have higher indices than their parents.
	for i := len(t.nodes) - 1; i >= base; i-- {
		p := t.nodes[i].parent
		if int(p) >= base {
			t.nodes[p].size += t.nodes[i].size
		} else {
			t.bubble(p, t.nodes[i].size)
		}
	}
	t.live += n
}
