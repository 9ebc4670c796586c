package agent

import (
	"runtime/debug"
	"testing"
)

func TestGCBoost_AcquireRelease(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	b := newGCBoost(400, 96<<20)
	b.acquire()
	b.acquire() // a second instance's enumeration shares the boost
	if got := debug.SetGCPercent(400); got != 400 {
		t.Fatalf("GOGC during the boost = %d, want 400", got)
	}
	b.release()
	if got := debug.SetGCPercent(400); got != 400 {
		t.Fatalf("GOGC after one of two releases = %d, want 400", got)
	}
	b.release()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC after the last release = %d, want 100 restored", got)
	}
	if lim := debug.SetMemoryLimit(-1); lim == 96<<20 {
		t.Fatal("the soft memory limit was not restored")
	}
}
