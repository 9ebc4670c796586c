//go:build linux

package main

// Benchmarks of the running binary (Linux: they read /proc). They run only
// with -bench:
//
//	go test ./cmd/onedrive-agent -run '^$' -bench . -benchtime 1x
//
// BenchmarkIdle watches an idle agent for one minute by default
// (ONEDRIVE_AGENT_BENCH_IDLE=10s for a quicker, rougher figure).

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// Goals of the runtime issue.
const (
	goalPeakRSSMiB    = 24.0
	goalIdleCPUPerH   = 1.0 // seconds of CPU per hour
	goalStartupMillis = 200.0
)

// userHZ is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const userHZ = 100

// procCPU returns utime+stime of pid.
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	d, err := readProcCPU(pid)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// readProcCPU is procCPU for any goroutine: it returns the error.
func readProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are
	// counted from the closing parenthesis.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %q", pid, s)
	}
	// fields[0] is field 3 (state); utime is field 14, stime 15.
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// procSchedCPU returns the CPU time of all of pid's threads from
// /proc/<pid>/task/*/schedstat (nanoseconds, unlike the 10 ms ticks of
// /proc/<pid>/stat). Threads that ended are not counted.
func procSchedCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	files, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no schedstat for pid %d: %v", pid, err)
	}
	var sum time.Duration
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			tb.Fatalf("parse %s: %q", name, b)
		}
		sum += time.Duration(ns)
	}
	return sum
}

// procStatusKB returns a "Vm…" field of /proc/<pid>/status in KiB.
func procStatusKB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb
		}
	}
	tb.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}

func verdict(ok bool) string {
	if ok {
		return "goal met"
	}
	return "GOAL MISSED"
}

// idleFigures is what one idle measurement found.
type idleFigures struct {
	peakMiB, rssMiB          float64
	cpu, sched, window       time.Duration
	pollsDuringIdle          int
	cpuPerHour, schedPerHour float64
}

// measureIdle starts `run`, waits for every instance's first poll, lets it
// settle, and watches it for idle.
func measureIdle(b *testing.B, f *fixture, instances int, idle time.Duration) idleFigures {
	return measureIdleWith(b, f, instances, idle, nil, nil)
}

// measureIdleWith is measureIdle calling atStart and atEnd (when not nil) at the edges of
// the idle window.
func measureIdleWith(b *testing.B, f *fixture, instances int, idle time.Duration, atStart, atEnd func()) idleFigures {
	p := f.start("run", "-c", f.cfg)
	pid := p.pid()
	f.waitHealthy(p)
	waitUntil(b, 20*time.Second, "the first polls", func() bool {
		s := f.status()
		for _, in := range s.Instances {
			if in.LastSuccess == nil {
				return false
			}
		}
		return len(s.Instances) == instances
	})
	// Let the start settle (GC after the baseline), then measure.
	time.Sleep(2 * time.Second)
	if atStart != nil {
		atStart()
	}
	cpu0, sched0, t0, polls0 := procCPU(b, pid), procSchedCPU(b, pid), time.Now(), f.deltaRequests()
	time.Sleep(idle)
	cpu1, sched1, t1, polls := procCPU(b, pid), procSchedCPU(b, pid), time.Now(), f.deltaRequests()-polls0
	if atEnd != nil {
		atEnd()
	}
	fig := idleFigures{
		peakMiB: procStatusKB(b, pid, "VmHWM") / 1024, rssMiB: procStatusKB(b, pid, "VmRSS") / 1024,
		cpu: cpu1 - cpu0, sched: sched1 - sched0, window: t1.Sub(t0), pollsDuringIdle: polls,
	}
	p.stop()
	hour := float64(time.Hour) / float64(fig.window)
	fig.cpuPerHour, fig.schedPerHour = fig.cpu.Seconds()*hour, fig.sched.Seconds()*hour
	return fig
}

// BenchmarkIdle: an agent with two instances (graphtest over HTTPS with its
// CA in [network].ca_file, interval 1h) after their first poll, left alone.
// Reports peak RSS (VmHWM) and CPU time over the idle window, extrapolated
// to an hour, beside the same agent with no instance at all (the floor: Go
// runtime, store, admin API, metrics).
func BenchmarkIdle(b *testing.B) {
	idle := benchIdleWindow(b)
	for range b.N {
		floorFix := newFixtureWith(b, false, nil)
		floor := measureIdle(b, floorFix, 0, min(idle, 10*time.Second))

		f := newFixtureWith(b, true, []string{"finance", "legal"})
		// A drive of a realistic small size, so the index is not empty.
		root := f.graph.Root()
		for i := range 20 {
			dir := f.graph.CreateFolder(root, fmt.Sprintf("dir-%02d", i))
			for j := range 25 {
				f.graph.CreateFile(dir, fmt.Sprintf("file-%03d.txt", j), []byte{byte(i), byte(j)})
			}
		}
		fig := measureIdle(b, f, 2, idle)

		b.ReportMetric(fig.peakMiB, "peak-RSS-MiB")
		b.ReportMetric(fig.rssMiB, "idle-RSS-MiB")
		b.ReportMetric(floor.peakMiB, "floor-peak-RSS-MiB")
		b.ReportMetric(fig.cpuPerHour, "idle-CPU-s/h")
		b.ReportMetric(fig.schedPerHour, "idle-sched-CPU-s/h")
		b.ReportMetric(0, "ns/op")
		b.Logf("peak RSS (VmHWM) %.1f MiB, goal <= %.0f MiB: %s; RSS at the end %.1f MiB; "+
			"the agent without instances: %.1f MiB (ratio %.2f)",
			fig.peakMiB, goalPeakRSSMiB, verdict(fig.peakMiB <= goalPeakRSSMiB), fig.rssMiB,
			floor.peakMiB, fig.peakMiB/floor.peakMiB)
		b.Logf("CPU %v over %v idle = %.2f s/hour, goal <= %.0f s/hour: %s (USER_HZ resolution: 10 ms)",
			fig.cpu, fig.window.Round(time.Millisecond), fig.cpuPerHour, goalIdleCPUPerH, verdict(fig.cpuPerHour <= goalIdleCPUPerH))
		b.Logf("CPU by schedstat (ns resolution) %v = %.3f s/hour; without instances %.3f s/hour",
			fig.sched.Round(time.Microsecond), fig.schedPerHour, floor.schedPerHour)
		b.Logf("%d Graph delta requests during the idle window (want 0: the interval is 1h)", fig.pollsDuringIdle)
	}
}

// benchIdleWindow is the idle window: one minute, or $ONEDRIVE_AGENT_BENCH_IDLE.
func benchIdleWindow(b *testing.B) time.Duration {
	s := os.Getenv("ONEDRIVE_AGENT_BENCH_IDLE")
	if s == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		b.Fatalf("ONEDRIVE_AGENT_BENCH_IDLE: %v", err)
	}
	return d
}

// BenchmarkStartup: time from exec of `run` (a fresh data_dir, so the
// instance polls at start) to the first delta request graphtest sees,
// beside the time to exec `onedrive-agent version` to its exit (the floor
// of starting the process at all).
func BenchmarkStartup(b *testing.B) {
	bin := agentBinary(b)
	const rounds = 7
	var floor, startup []time.Duration
	for range b.N {
		for range rounds {
			t0 := time.Now()
			p := startProc(b, bin, "version")
			if code, ok := p.wait(10 * time.Second); !ok || code != 0 {
				b.Fatalf("version: exit %d", code)
			}
			floor = append(floor, time.Since(t0))

			f := newFixture(b)
			p = f.start("run", "-c", f.cfg)
			var first time.Time
			waitUntil(b, 10*time.Second, "the first delta request", func() bool {
				for _, r := range f.graph.Requests() {
					if r.Class == graphtest.ClassDelta {
						first = r.Time
						return true
					}
				}
				return false
			})
			startup = append(startup, first.Sub(p.started))
			p.stop()
			os.RemoveAll(filepath.Join(f.dir, "data"))
		}
	}
	med := func(d []time.Duration) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	worst := func(d []time.Duration) time.Duration {
		m := d[0]
		for _, x := range d {
			m = max(m, x)
		}
		return m
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(med(startup)), "ms-to-first-poll")
	b.ReportMetric(ms(worst(startup)), "ms-to-first-poll-max")
	b.ReportMetric(ms(med(floor)), "ms-exec-floor")
	b.ReportMetric(0, "ns/op")
	b.Logf("exec to first delta request: median %v, max %v over %d starts, goal <= %.0f ms: %s",
		med(startup).Round(time.Microsecond), worst(startup).Round(time.Microsecond), len(startup), goalStartupMillis,
		verdict(ms(worst(startup)) <= goalStartupMillis))
	b.Logf("exec of `version` to its exit (process start floor): median %v; startup is %.1fx the floor",
		med(floor).Round(time.Microsecond), float64(med(startup))/float64(med(floor)))
}
