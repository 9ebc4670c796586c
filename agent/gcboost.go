package agent

import (
	"runtime/debug"
	"sync"
)

// gcBoost lets the garbage collector run less often while a full
// enumeration (a first round or a resync) runs: such a round allocates a few
// KB per item while its live heap stays small, so at the default GOGC the
// collector runs hundreds of times per million items and doubles the CPU
// per item. A soft memory limit keeps the heap bounded meanwhile. Rounds of
// several instances share the boost; the last one to end restores the
// settings.
type gcBoost struct {
	mu        sync.Mutex
	n         int
	oldGC     int
	oldLimit  int64
	percent   int
	softLimit int64
}

// newGCBoost returns a boost to GOGC=percent under a soft memory limit.
func newGCBoost(percent int, softLimit int64) *gcBoost {
	return &gcBoost{percent: percent, softLimit: softLimit}
}

// acquire raises GOGC until the matching release.
func (b *gcBoost) acquire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		b.oldLimit = debug.SetMemoryLimit(-1)
		if b.softLimit < b.oldLimit {
			debug.SetMemoryLimit(b.softLimit)
		}
		b.oldGC = debug.SetGCPercent(b.percent)
	}
	b.n++
}

// release ends one acquire.
func (b *gcBoost) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n--
	if b.n == 0 {
		debug.SetGCPercent(b.oldGC)
		debug.SetMemoryLimit(b.oldLimit)
	}
}
