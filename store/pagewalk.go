package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// The page walk checks the B+tree of a bbolt file with plain reads, before
// bbolt maps it. With NoFreelistSync, bbolt rebuilds the freelist at open
// by walking every reachable page on a goroutine of its own, where a
// damaged page (a wrong page id, an element pointing outside its page, a
// child id past the end of the file) panics or faults beyond any recover()
// and kills the process. The walk finds exactly those defects first, with
// bounds-checked reads, so Open can report ErrCorrupt instead. It reads
// the live pages only (not the free ones), once.

const (
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	elemSize         = 16 // branch and leaf page elements are both 16 bytes
	inBucketSize     = 16 // root page id + sequence
	maxTreeDepth     = 64
)

type pageWalker struct {
	r    io.ReaderAt
	ps   uint64 // page size
	hwm  uint64 // pages below the high-water mark
	seen []uint64
	buf  []byte
}

// walkPages checks the tree of the file f described by meta m.
func walkPages(f *os.File, m boltMeta) error {
	w := &pageWalker{r: f, ps: uint64(m.pageSize), hwm: m.pgid, seen: make([]uint64, (m.pgid+63)/64)}
	if m.freelist != noFreelist {
		p, err := w.read(m.freelist, 0)
		if err != nil {
			return err
		}
		if p[8] != freelistPageFlag || p[9] != 0 {
			return fmt.Errorf("page %d: not a freelist page", m.freelist)
		}
	}
	_, err := w.tree(m.root, nil, nil, 0)
	return err
}

// read returns page id with all its overflow pages, after checking its
// bounds, its header id and that no other reference reached it before.
func (w *pageWalker) read(id uint64, depth int) ([]byte, error) {
	if depth > maxTreeDepth {
		return nil, fmt.Errorf("page %d: tree deeper than %d levels", id, maxTreeDepth)
	}
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d: out of bounds (%d pages)", id, w.hwm)
	}
	var hdr [pageHeaderSize]byte
	if _, err := w.r.ReadAt(hdr[:], int64(id*w.ps)); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	ne := binary.NativeEndian
	if got := ne.Uint64(hdr[0:]); got != id {
		return nil, fmt.Errorf("page %d: header says page %d", id, got)
	}
	span := uint64(ne.Uint32(hdr[12:])) + 1
	if span > w.hwm-id {
		return nil, fmt.Errorf("page %d: %d overflow pages run past the end", id, span-1)
	}
	for p := id; p < id+span; p++ {
		if w.seen[p/64]&(1<<(p%64)) != 0 {
			return nil, fmt.Errorf("page %d: referenced twice", p)
		}
		w.seen[p/64] |= 1 << (p % 64)
	}
	n := span * w.ps
	if uint64(cap(w.buf)) < n {
		w.buf = make([]byte, n)
	}
	buf := w.buf[:n]
	if _, err := w.r.ReadAt(buf, int64(id*w.ps)); err != nil {
		return nil, fmt.Errorf("page %d: %w", id, err)
	}
	return buf, nil
}

// tree checks the page id of a bucket's tree and everything below it,
// including the key order bbolt's walk verifies: keys increase along each
// page and stay within the range their parent's branch keys give (lo
// included, hi excluded; nil is unbounded). It returns the last key of the
// subtree.
func (w *pageWalker) tree(id uint64, lo, hi []byte, depth int) ([]byte, error) {
	p, err := w.read(id, depth)
	if err != nil {
		return nil, err
	}
	ne := binary.NativeEndian
	flags := ne.Uint16(p[8:])
	count := int(ne.Uint16(p[10:]))
	switch flags {
	case branchPageFlag:
		if err := checkElements(p, count, false); err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		type child struct {
			key []byte
			id  uint64
		}
		children := make([]child, count)
		for i := range children {
			off := pageHeaderSize + i*elemSize
			pos, ksize := ne.Uint32(p[off:]), ne.Uint32(p[off+4:])
			k := p[uint64(off)+uint64(pos) : uint64(off)+uint64(pos)+uint64(ksize)]
			children[i] = child{key: append([]byte(nil), k...), id: ne.Uint64(p[off+8:])}
		}
		prev, last := lo, []byte(nil)
		for i, c := range children {
			if err := checkKeyOrder(i, c.key, prev, hi); err != nil {
				return nil, fmt.Errorf("page %d: %w", id, err)
			}
			next := hi
			if i+1 < len(children) {
				next = children[i+1].key
			}
			if last, err = w.tree(c.id, c.key, next, depth+1); err != nil {
				return nil, err
			}
			prev = last
		}
		return last, nil
	case leafPageFlag:
		if err := checkElements(p, count, true); err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		prev := lo
		for i := range count {
			off := pageHeaderSize + i*elemSize
			pos, ksize := ne.Uint32(p[off+4:]), ne.Uint32(p[off+8:])
			k := p[uint64(off)+uint64(pos) : uint64(off)+uint64(pos)+uint64(ksize)]
			if err := checkKeyOrder(i, k, prev, hi); err != nil {
				return nil, fmt.Errorf("page %d: %w", id, err)
			}
			prev = k
		}
		var last []byte
		if count > 0 {
			last = append([]byte(nil), prev...)
		}
		roots, err := leafBuckets(p)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		return last, w.buckets(roots, depth)
	default:
		return nil, fmt.Errorf("page %d: unexpected page type %#x in a tree", id, flags)
	}
}

// checkKeyOrder applies bbolt's key order rules to key number i of a page.
func checkKeyOrder(i int, key, prev, hi []byte) error {
	switch {
	case i == 0 && prev != nil && bytes.Compare(prev, key) > 0:
		return fmt.Errorf("first key below its parent's key")
	case i > 0 && bytes.Compare(prev, key) >= 0:
		return fmt.Errorf("key %d not above the previous one", i)
	case hi != nil && bytes.Compare(key, hi) >= 0:
		return fmt.Errorf("key %d not below the next key of its parent", i)
	}
	return nil
}

// buckets checks the sub-buckets found on a leaf: inline ones in place,
// the others by their root page.
func (w *pageWalker) buckets(values [][]byte, depth int) error {
	for _, v := range values {
		root := binary.NativeEndian.Uint64(v)
		if root != 0 {
			if _, err := w.tree(root, nil, nil, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := v[inBucketSize:]
		if binary.NativeEndian.Uint16(inline[8:]) != leafPageFlag {
			return fmt.Errorf("inline bucket is not a leaf page")
		}
		sub, err := leafBuckets(inline)
		if err != nil {
			return fmt.Errorf("inline bucket: %w", err)
		}
		if depth > maxTreeDepth {
			return fmt.Errorf("buckets nested deeper than %d levels", maxTreeDepth)
		}
		if err := w.buckets(sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// leafBuckets checks the elements of a leaf page and returns copies of the
// values of its bucket entries.
func leafBuckets(p []byte) ([][]byte, error) {
	if len(p) < pageHeaderSize {
		return nil, fmt.Errorf("leaf page is truncated")
	}
	ne := binary.NativeEndian
	count := int(ne.Uint16(p[10:]))
	if err := checkElements(p, count, true); err != nil {
		return nil, err
	}
	var out [][]byte
	for i := range count {
		off := pageHeaderSize + i*elemSize
		if ne.Uint32(p[off:])&bucketLeafFlag == 0 {
			continue
		}
		pos, ksize, vsize := ne.Uint32(p[off+4:]), ne.Uint32(p[off+8:]), ne.Uint32(p[off+12:])
		start := uint64(off) + uint64(pos) + uint64(ksize)
		v := p[start : start+uint64(vsize)]
		if len(v) < inBucketSize {
			return nil, fmt.Errorf("element %d: bucket header of %d bytes", i, len(v))
		}
		if ne.Uint64(v) == 0 && len(v) < inBucketSize+pageHeaderSize {
			return nil, fmt.Errorf("element %d: inline bucket of %d bytes", i, len(v))
		}
		out = append(out, append([]byte(nil), v...))
	}
	return out, nil
}

// checkElements checks that count elements, and the keys (and values) they
// point at, lie inside p.
func checkElements(p []byte, count int, leaf bool) error {
	ne := binary.NativeEndian
	if uint64(pageHeaderSize)+uint64(count)*elemSize > uint64(len(p)) {
		return fmt.Errorf("%d elements do not fit in %d bytes", count, len(p))
	}
	for i := range count {
		off := pageHeaderSize + i*elemSize
		var end uint64
		if leaf {
			end = uint64(off) + uint64(ne.Uint32(p[off+4:])) + uint64(ne.Uint32(p[off+8:])) + uint64(ne.Uint32(p[off+12:]))
		} else {
			end = uint64(off) + uint64(ne.Uint32(p[off:])) + uint64(ne.Uint32(p[off+4:]))
		}
		if end > uint64(len(p)) {
			return fmt.Errorf("element %d points outside its page", i)
		}
	}
	return nil
}
