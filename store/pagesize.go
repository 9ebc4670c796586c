package store

import (
	"runtime"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// pageSize is the bbolt page size of a new store file, and of the copy a
// compaction writes (so an older file takes it at its next compaction; a
// file otherwise keeps the page size it was created with). A commit writes
// each dirty page with a pwrite of its own: with 4 KiB pages one incremental
// round of 50,000 new files wrote about 25,000 pages, and system calls were
// a sixth of the agent's CPU. 16 KiB pages took about a tenth off the CPU per
// event of that round (BenchmarkEndToEnd) for about 1 MiB more resident file
// pages in an idle agent (BenchmarkIdle: 22.4 MiB against 21.6 MiB).
const pageSize = 16 << 10

// mapSize is the store file's first mapping (address space only: the pages
// are read from the file as they are touched). bbolt maps a growing file
// again at each doubling of its size, and each new mapping copies every node
// the writing transaction has touched onto the heap and faults every page in
// again: a round that grows a small store to 150 MB did it a dozen times, and
// those copies were a tenth of its allocations. Mapped once, the file still
// grows only with its data (see setGrowth). On Windows a mapping sets the
// file's size, and a 32-bit process has little address space: both keep
// bbolt's default there.
var mapSize = func() int {
	if runtime.GOOS == "windows" || strconv.IntSize < 64 {
		return 0
	}
	return 1 << 30
}()

// setGrowth sets how much bbolt adds to the file each time it grows, from
// size, the data's high-water mark: half of it, between 64 KiB and bbolt's
// default of 16 MiB. With a mapping larger than the file, bbolt would
// otherwise add 16 MiB at a time to a small file; and each growth costs a
// truncate and an fsync, so the steps grow with the file (a round that takes
// a store from 1 MB to 150 MB grows it about a dozen times, as bbolt's own
// doubling did). It must be called by the writer (inside an update) or
// before any transaction starts.
func setGrowth(bdb *bolt.DB, size int64) {
	bdb.AllocSize = int(min(max(size/2, 64<<10), 16<<20))
}
