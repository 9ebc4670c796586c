package delta_test

import (
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// procRSSAnon reads RssAnon (anonymous resident memory: the Go heap, stacks
// and runtime structures, but not bbolt's file-backed mmap) of a process from
// /proc/<pid>/status; pid 0 is this process. It returns 0 where /proc has no
// such field (not Linux).
func procRSSAnon(pid int, buf []byte) uint64 {
	name := "/proc/self/status"
	if pid > 0 {
		name = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	n, _ := f.Read(buf)
	f.Close()
	b := buf[:n]
	i := bytes.Index(b, []byte("RssAnon:"))
	if i < 0 {
		return 0
	}
	b = b[i+len("RssAnon:"):]
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	b = bytes.TrimSuffix(bytes.TrimSpace(b), []byte("kB"))
	kb, _ := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	return kb << 10
}

// rssSampler records the peak RssAnon of this process, sampled every few
// milliseconds in a goroutine of its own, and the Go heap (objects plus free
// heap spans not yet returned to the OS) at the moment of the peak, which
// tells whether a peak is live data or garbage awaiting collection.
type rssSampler struct {
	stop chan struct{}
	done sync.WaitGroup

	peak        uint64 // RssAnon
	heapAtPeak  uint64 // /memory/classes/heap/objects:bytes
	liveAtPeak  uint64 // /gc/heap/live:bytes (live after the last GC)
	samples     int
	peakElapsed time.Duration // when the peak was seen, from the start
}

// startRSSSampler starts sampling every period.
func startRSSSampler(period time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		buf := make([]byte, 8<<10)
		ms := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		start := time.Now()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			v := procRSSAnon(0, buf)
			s.samples++
			if v > s.peak {
				s.peak = v
				s.peakElapsed = time.Since(start)
				metrics.Read(ms)
				s.heapAtPeak = sampleUint(ms[0])
				s.liveAtPeak = sampleUint(ms[1])
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling; the fields are final afterwards.
func (s *rssSampler) Stop() {
	close(s.stop)
	s.done.Wait()
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// gcCycles is the number of completed GC cycles so far.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return sampleUint(s[0])
}

// mib converts bytes to MiB.
func mib(b uint64) float64 { return float64(b) / (1 << 20) }
