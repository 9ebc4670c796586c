package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// bbolt file layout needed to check a file before bbolt maps it: each page
// starts with a 16-byte header; pages 0 and 1 hold a meta record (native
// byte order) that ends with an FNV-64a checksum of its first 56 bytes.
const (
	pageHeaderSize = 16
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	metaSumOffset  = 56
	noFreelist     = ^uint64(0)
)

// boltMeta is the part of a bbolt meta page the check needs.
type boltMeta struct {
	pageSize       uint32
	root, freelist uint64
	pgid, txid     uint64
}

// parseMeta validates the meta record at the start of buf (a page).
func parseMeta(buf []byte) (boltMeta, error) {
	if len(buf) < pageHeaderSize+metaSumOffset+8 {
		return boltMeta{}, errors.New("meta page is truncated")
	}
	m := buf[pageHeaderSize:]
	ne := binary.NativeEndian
	if ne.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("not a bbolt file (bad magic)")
	}
	if v := ne.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("unsupported bbolt format version %d", v)
	}
	h := fnv.New64a()
	h.Write(m[:metaSumOffset])
	if h.Sum64() != ne.Uint64(m[metaSumOffset:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	return boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}, nil
}

// damage marks a precheck finding as damage to the file (as opposed to an
// error opening or reading it).
type damage struct{ error }

// precheck looks at an existing database file without changing it and
// reports damage that would make bbolt fail, fault or panic later: both
// meta pages invalid, or a file shorter than the meta page says (a
// truncated copy), or a damaged page tree (see walkPages). A missing or
// empty file passes: bbolt initializes it. It reads the meta pages and the
// live pages, not the free ones.
func precheck(path string) error {
	f, err := safefile.OpenFile(path, "database", os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if errors.Is(err, safefile.ErrUnsafe) {
		return err
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil
	}
	if err := checkFile(f, fi.Size()); err != nil {
		return damage{err}
	}
	return nil
}

// checkFile does the work of precheck; every error it returns is damage.
func checkFile(f *os.File, size int64) error {
	readPage := func(off int64) []byte {
		buf := make([]byte, 4096)
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil
		}
		return buf[:n]
	}

	m0, err0 := parseMeta(readPage(0))
	var m1 boltMeta
	err1 := errors.New("second meta page not found")
	if err0 == nil && m0.pageSize >= 512 && m0.pageSize <= 1<<24 {
		m1, err1 = parseMeta(readPage(int64(m0.pageSize)))
	} else {
		// Find the second meta page the way bbolt does: try every page size.
		for i := 0; i <= 14; i++ {
			off := int64(1024) << i
			if off >= size {
				break
			}
			if m, err := parseMeta(readPage(off)); err == nil {
				m1, err1 = m, nil
				break
			}
		}
	}
	var m boltMeta
	switch {
	case err0 == nil && err1 == nil:
		m = m0
		if m1.txid > m0.txid {
			m = m1
		}
	case err0 == nil:
		m = m0
	case err1 == nil:
		m = m1
	default:
		return fmt.Errorf("both meta pages are invalid: %v; %v", err0, err1)
	}
	ps := uint64(m.pageSize)
	switch {
	case ps < 512 || ps > 1<<24 || ps&(ps-1) != 0:
		return fmt.Errorf("meta page has an impossible page size %d", ps)
	case m.pgid < 3 || m.root < 2 || m.root >= m.pgid:
		return fmt.Errorf("meta page has an impossible root page %d (of %d pages)", m.root, m.pgid)
	case m.freelist != noFreelist && (m.freelist < 2 || m.freelist >= m.pgid):
		return fmt.Errorf("meta page has an impossible freelist page %d (of %d pages)", m.freelist, m.pgid)
	case m.pgid > uint64(size)/ps:
		return fmt.Errorf("file is truncated: %d bytes, but its meta page says %d pages of %d bytes", size, m.pgid, ps)
	}
	return walkPages(f, m)
}
