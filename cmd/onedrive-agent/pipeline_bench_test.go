//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// BenchmarkEndToEnd measures one incremental round from Graph's pages to the
// receiver, through the built binary:
//
//   - graphtest runs in a child process (this test binary re-executed), with
//     pages of 200 items (the agent asks for $top=500; the child's front
//     rewrites the first request, and the links keep $top=200);
//   - the receiver, in this process, decodes every body as JSON, counts its
//     events and answers 204;
//   - `onedrive-agent run` has one instance with max_events = 100; after its
//     first round (the empty drive's baseline) the child creates 50 folders
//     of 1,000 files each (50,050 CREATED events), and `onedrive-agent poll`
//     starts one incremental round (251 pages).
//
// The clock runs from the poll request to the last event at the receiver.
// Beside it, in the same run and alternating with it, the same workload goes
// through the binary built from ONEDRIVE_AGENT_BENCH_BASE (a git commit, or
// the path of a binary; default pipelineBaseRef, the tree before the
// pipelined rounds). It reports
//
//	events/s            events at the receiver per second (mean of the runs)
//	base-events/s       the same for the base binary
//	ratio               events/s ÷ base-events/s (goal ≥ 1.5)
//	cpu-s, base-cpu-s   the agent process's CPU time (utime + stime)
//	cpu-us/event        the agent's CPU per event (goal ≤ 35)
//	cpu-ratio           cpu-us/event ÷ base-cpu-us/event (both move with
//	                    the machine's speed; 35 µs was 0.51 of the base's 68)
//	peak-RssAnon-MiB    the agent's peak RssAnon, sampled every 5 ms (goal ≤ 64)
//	first-event-ms      from the poll request to the first event received
//
// ONEDRIVE_AGENT_BENCH_E2E_RUNS sets the runs per binary (default 2).
// ONEDRIVE_AGENT_BENCH_PROFILE=DIR builds the current binary with the
// benchprofile tag and writes cpu.pprof and allocs.pprof of its round there.
//
//	go test ./cmd/onedrive-agent -run '^$' -bench '^BenchmarkEndToEnd$' -benchtime 1x
func BenchmarkEndToEnd(b *testing.B) {
	runs := 2
	if v := os.Getenv("ONEDRIVE_AGENT_BENCH_E2E_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ONEDRIVE_AGENT_BENCH_E2E_RUNS=%q: want a positive number", v)
		}
		runs = n
	}
	profDir := os.Getenv("ONEDRIVE_AGENT_BENCH_PROFILE")
	cur := agentBinary(b)
	if profDir != "" {
		cur = buildAgent(b, "", "benchprofile")
	}
	baseRef := os.Getenv("ONEDRIVE_AGENT_BENCH_BASE")
	if baseRef == "" {
		baseRef = pipelineBaseRef
	}
	base := baseRef
	if _, err := os.Stat(baseRef); err != nil {
		base = buildAgent(b, baseRef, "")
	}
	g := startE2EGraph(b)

	var mine, theirs []e2eFigures
	var runLog []string
	b.ResetTimer()
	for range b.N {
		for i := range runs {
			order := []bool{false, true} // base first, then this tree
			if i%2 == 1 {
				order = []bool{true, false}
			}
			for _, current := range order {
				if current {
					fig := runEndToEnd(b, g, cur, profDir)
					mine = append(mine, fig)
					runLog = append(runLog, "this tree: "+fig.String())
				} else {
					fig := runEndToEnd(b, g, base, "")
					theirs = append(theirs, fig)
					runLog = append(runLog, "base:      "+fig.String())
				}
			}
		}
	}
	m, t := meanFigures(mine), meanFigures(theirs)
	b.ReportMetric(m.rate, "events/s")
	b.ReportMetric(t.rate, "base-events/s")
	b.ReportMetric(m.rate/t.rate, "ratio")
	b.ReportMetric(m.cpu.Seconds(), "cpu-s")
	b.ReportMetric(t.cpu.Seconds(), "base-cpu-s")
	b.ReportMetric(m.cpuPerEvent(), "cpu-us/event")
	b.ReportMetric(t.cpuPerEvent(), "base-cpu-us/event")
	b.ReportMetric(m.cpuPerEvent()/t.cpuPerEvent(), "cpu-ratio")
	b.ReportMetric(m.peakMiB, "peak-RssAnon-MiB")
	b.ReportMetric(t.peakMiB, "base-peak-RssAnon-MiB")
	b.ReportMetric(float64(m.first)/1e6, "first-event-ms")
	b.ReportMetric(float64(t.first)/1e6, "base-first-event-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d runs each; this tree %.0f events/s, base (%s) %.0f events/s: ratio %.2f (goal >= 1.5: %s)",
		len(mine), m.rate, baseRef, t.rate, m.rate/t.rate, verdict(m.rate/t.rate >= 1.5))
	b.Logf("CPU per event %.1f µs (goal <= 35: %s), base %.1f µs; peak RssAnon %.1f MiB (goal <= 64: %s), base %.1f MiB",
		m.cpuPerEvent(), verdict(m.cpuPerEvent() <= 35), t.cpuPerEvent(), m.peakMiB, verdict(m.peakMiB <= 64), t.peakMiB)
	// CPU per event moves with the machine's speed, and the two binaries'
	// move together: the goal of 35 µs was set against 68 µs measured for
	// the base's code, a ratio of 0.51.
	b.Logf("CPU per event against the base: %.2f (35 µs against the base's 68 µs when the goal was set: 0.51)",
		m.cpuPerEvent()/t.cpuPerEvent())
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average at the end: %s", strings.TrimSpace(string(la)))
	}
	b.Logf("runs in order:\n%s", strings.Join(runLog, "\n"))
}

// pipelineBaseRef is the commit the pipelined rounds started from.
const pipelineBaseRef = "9b3134f"

// e2eFolders × e2eFiles files are created for the measured round.
const (
	e2eFolders = 50
	e2eFiles   = 1000
	e2eEvents  = e2eFolders * (e2eFiles + 1)
)

// e2eFigures is what one run measured.
type e2eFigures struct {
	rate    float64       // events per second
	cpu     time.Duration // the agent's CPU during the round
	peakMiB float64       // the agent's peak RssAnon during the round
	first   time.Duration // poll request to the first event received
	took    time.Duration // poll request to the last event received
	events  int64
}

func (f e2eFigures) cpuPerEvent() float64 {
	if f.events == 0 {
		return 0
	}
	return float64(f.cpu.Microseconds()) / float64(f.events)
}

func (f e2eFigures) String() string {
	return fmt.Sprintf("%d events in %v (%.0f events/s, first after %v), CPU %v (%.1f µs/event), peak RssAnon %.1f MiB",
		f.events, f.took.Round(time.Millisecond), f.rate, f.first.Round(time.Millisecond), f.cpu, f.cpuPerEvent(), f.peakMiB)
}

func meanFigures(fs []e2eFigures) e2eFigures {
	var m e2eFigures
	for _, f := range fs {
		m.rate += f.rate / float64(len(fs))
		m.cpu += f.cpu / time.Duration(len(fs))
		m.first += f.first / time.Duration(len(fs))
		m.events += f.events / int64(len(fs))
		m.peakMiB = max(m.peakMiB, f.peakMiB)
	}
	return m
}

// runEndToEnd runs one agent of binary bin against a fresh drive of g and
// measures its incremental round.
func runEndToEnd(b *testing.B, g *e2eGraph, bin, profDir string) e2eFigures {
	b.Helper()
	info := g.reset()
	recv := newCountingReceiver(b)
	dir := b.TempDir()
	f := &fixture{t: b, bin: bin, dir: dir, dataDir: filepath.Join(dir, "data"), admin: freeAddr(b)}
	f.cfg = filepath.Join(dir, "agent.toml")
	f.write("secret", e2eSecret+"\n")
	f.write("agent.toml", fmt.Sprintf(`data_dir = %q

[log]
level = "info"

[admin]
listen = %q
%s[instance.poll]
interval = "1h"
[instance.callback]
url = %q
max_events = 100
`, f.dataDir, f.admin, appInstanceTOML("bench", info.LoginURL, info.GraphURL, info.DriveID), recv.srv.URL))
	pprofAddr := ""
	if profDir != "" {
		pprofAddr = freeAddr(b)
		os.Setenv("ONEDRIVE_AGENT_PPROF", pprofAddr)
	}
	p := f.start("run", "-c", f.cfg)
	if profDir != "" {
		os.Unsetenv("ONEDRIVE_AGENT_PPROF")
	}
	f.waitHealthy(p)
	waitUntil(b, 30*time.Second, "the baseline round", func() bool {
		s := f.status()
		return len(s.Instances) == 1 && s.Instances[0].LastSuccess != nil
	})
	g.create(e2eFolders, e2eFiles)
	runtime.GC()

	pid := p.pid()
	rss := startProcRSSSampler(pid, 5*time.Millisecond)
	var prof *profileFetch
	if profDir != "" {
		prof = startCPUProfile(b, pprofAddr, profDir)
	}
	// The clock and the CPU stop in the receiver's handler of the last
	// event, not when this goroutine next looks.
	var t1 time.Time
	var cpu1 time.Duration
	var cpu1Err error
	last := func() { t1 = time.Now(); cpu1, cpu1Err = readProcCPU(pid) }
	recv.last.Store(&last)
	cpu0, t0 := procCPU(b, pid), time.Now()
	pollDone := make(chan error, 1)
	go func() {
		code, out, errOut := f.cli("poll", "-c", f.cfg, "bench")
		if code != 0 {
			pollDone <- fmt.Errorf("poll: exit %d: %s %s", code, out, errOut)
			return
		}
		pollDone <- nil
	}()
	var pollErr error
	polled := false
	waitUntil(b, 5*time.Minute, fmt.Sprintf("%d events at the receiver", e2eEvents), func() bool {
		if !polled {
			select {
			case pollErr = <-pollDone:
				polled = true
				if pollErr != nil {
					b.Fatalf("%v\nagent log:\n%s", pollErr, p.stderr.String())
				}
			default:
			}
		}
		return recv.events.Load() >= e2eEvents
	})
	<-recv.lastDone
	if cpu1Err != nil {
		b.Fatal(cpu1Err)
	}
	peak := rss.stop()
	if !polled {
		if err := <-pollDone; err != nil {
			b.Fatal(err)
		}
	}
	if prof != nil {
		prof.finish(b)
		fetchProfile(b, pprofAddr, "allocs", filepath.Join(profDir, "allocs.pprof"))
	}
	// Anything beyond the expected events would be a duplicate.
	time.Sleep(200 * time.Millisecond)
	if n := recv.events.Load(); n != e2eEvents {
		b.Fatalf("the receiver got %d events, want %d", n, e2eEvents)
	}
	// Stop it without the helper's log line (benchmark logs are cut short).
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	if code, ok := p.wait(10 * time.Second); !ok || code != 0 {
		b.Fatalf("the agent did not exit 0 within 10s of SIGTERM (exit %d)", code)
	}
	took := t1.Sub(t0)
	return e2eFigures{
		rate:    float64(e2eEvents) / took.Seconds(),
		cpu:     cpu1 - cpu0,
		peakMiB: float64(peak) / (1 << 20),
		first:   recv.firstAfter(t0),
		took:    took,
		events:  e2eEvents,
	}
}

// buildAgent builds the agent binary of commit ref ("" = this tree) with
// the given build tags, statically, into a temporary folder.
func buildAgent(b *testing.B, ref, tags string) string {
	b.Helper()
	dir := b.TempDir()
	src := "."
	if ref != "" {
		top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			b.Fatalf("git rev-parse: %v", err)
		}
		tree := filepath.Join(dir, "src")
		if err := os.Mkdir(tree, 0o700); err != nil {
			b.Fatal(err)
		}
		archive := exec.Command("git", "-C", strings.TrimSpace(string(top)), "archive", ref)
		untar := exec.Command("tar", "-x", "-C", tree)
		pipe, err := archive.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		untar.Stdin = pipe
		var errb bytes.Buffer
		archive.Stderr, untar.Stderr = &errb, &errb
		if err := untar.Start(); err != nil {
			b.Fatal(err)
		}
		if err := archive.Run(); err != nil {
			b.Fatalf("git archive %s: %v\n%s", ref, err, errb.String())
		}
		if err := untar.Wait(); err != nil {
			b.Fatalf("untar %s: %v\n%s", ref, err, errb.String())
		}
		src = filepath.Join(tree, "cmd", "onedrive-agent")
	}
	out := filepath.Join(dir, "onedrive-agent")
	args := []string{"build", "-o", out}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, ".")...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the agent of %q: %v\n%s", ref, err, o)
	}
	return out
}

// countingReceiver decodes each body and counts its events.
type countingReceiver struct {
	srv    *httptest.Server
	events atomic.Int64
	epoch  time.Time    // when the receiver started (with its monotonic reading)
	first  atomic.Int64 // the first event, in ns since epoch (0: none yet)

	// last, when set, runs once in the handler of the body that brings the
	// count to target, before it answers (so before the agent acks it and
	// compacts its store); lastDone is closed after it.
	target   int64
	last     atomic.Pointer[func()]
	lastOnce sync.Once
	lastDone chan struct{}
}

// firstAfter is the time from t0 to the first event (on the monotonic
// clock: a step of the wall clock during a run does not count).
func (r *countingReceiver) firstAfter(t0 time.Time) time.Duration {
	return r.epoch.Add(time.Duration(r.first.Load())).Sub(t0)
}

func newCountingReceiver(b *testing.B) *countingReceiver {
	r := &countingReceiver{epoch: time.Now(), target: e2eEvents, lastDone: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m struct {
			Message struct {
				EventID string `json:"eventId"`
				Events  []struct {
					EventID   string          `json:"eventId"`
					EventType string          `json:"eventType"`
					Path      string          `json:"path"`
					Data      json.RawMessage `json:"data"`
				} `json:"events"`
			} `json:"message"`
		}
		if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.first.CompareAndSwap(0, int64(max(time.Since(r.epoch), 1)))
		if n := r.events.Add(int64(len(m.Message.Events))); n >= r.target {
			if last := r.last.Load(); last != nil {
				r.lastOnce.Do(func() {
					(*last)()
					close(r.lastDone)
				})
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(r.srv.Close)
	return r
}

// procRSSSampler samples RssAnon of a process.
type procRSSSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

func startProcRSSSampler(pid int, period time.Duration) *procRSSSampler {
	s := &procRSSSampler{done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		name := "/proc/" + strconv.Itoa(pid) + "/status"
		buf := make([]byte, 8<<10)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			if v := readRSSAnon(name, buf); v > s.peak {
				s.peak = v
			}
			select {
			case <-s.done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *procRSSSampler) stop() uint64 {
	close(s.done)
	s.wg.Wait()
	return s.peak
}

// readRSSAnon returns RssAnon in bytes from a /proc/<pid>/status file.
func readRSSAnon(name string, buf []byte) uint64 {
	fh, err := os.Open(name)
	if err != nil {
		return 0
	}
	n, _ := fh.Read(buf)
	fh.Close()
	s := string(buf[:n])
	i := strings.Index(s, "RssAnon:")
	if i < 0 {
		return 0
	}
	s = s[i+len("RssAnon:"):]
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "kB")), 10, 64)
	return kb << 10
}

// profileFetch is a CPU profile being taken from the agent's pprof server.
type profileFetch struct {
	done chan error
}

// startCPUProfile asks for a 30 s CPU profile; finish cuts it short by
// waiting for it (the agent is idle after the round).
func startCPUProfile(b *testing.B, addr, dir string) *profileFetch {
	p := &profileFetch{done: make(chan error, 1)}
	go func() {
		p.done <- fetchProfileErr(addr, "profile?seconds=15", filepath.Join(dir, "cpu.pprof"))
	}()
	time.Sleep(50 * time.Millisecond) // let the profile start
	return p
}

func (p *profileFetch) finish(b *testing.B) {
	if err := <-p.done; err != nil {
		b.Fatal(err)
	}
}

func fetchProfile(b *testing.B, addr, name, out string) {
	if err := fetchProfileErr(addr, name, out); err != nil {
		b.Fatal(err)
	}
}

func fetchProfileErr(addr, name, out string) error {
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Get("http://" + addr + "/debug/pprof/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof %s: %s", name, resp.Status)
	}
	return os.WriteFile(out, body, 0o600)
}

// The graph server of BenchmarkEndToEnd runs in a child process: this test
// binary, re-executed with e2eGraphEnv set, turns TestEndToEndGraphServer
// into the server. It reads commands on stdin, one per line, and answers
// each with a JSON line: "reset" (a fresh drive: e2eGraphInfo), "create F N"
// (F folders of N files under the root: {}).
const e2eGraphEnv = "ONEDRIVE_AGENT_BENCH_GRAPH_CHILD"

type e2eGraphInfo struct {
	GraphURL, LoginURL, DriveID string
}

// TestEndToEndGraphServer is the child process of BenchmarkEndToEnd, not a
// test: it skips without ONEDRIVE_AGENT_BENCH_GRAPH_CHILD.
func TestEndToEndGraphServer(t *testing.T) {
	if os.Getenv(e2eGraphEnv) == "" {
		t.Skip("the graph server process of BenchmarkEndToEnd")
	}
	var g *graphtest.Server
	defer func() {
		if g != nil {
			g.Close()
		}
	}()
	var front *httptest.Server
	enc := json.NewEncoder(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "reset":
			if g != nil {
				front.Close()
				g.Close()
			}
			g = graphtest.NewServer(graphtest.Options{PageSize: 200})
			g.AddClient(e2eClientID, e2eSecret, false)
			srv := g
			// The agent asks for $top=500: serve 200-item pages instead.
			// The server's links point at this front too (the agent
			// follows links on its Graph host only).
			front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if q.Has("$top") {
					q.Set("$top", "200")
					r.URL.RawQuery = q.Encode()
				}
				srv.ServeHTTP(w, r)
			}))
			g.URL = front.URL
			if err := enc.Encode(e2eGraphInfo{
				GraphURL: g.GraphURL(), LoginURL: g.LoginURL(), DriveID: g.DriveID(),
			}); err != nil {
				t.Fatal(err)
			}
		case "create":
			folders, _ := strconv.Atoi(f[1])
			files, _ := strconv.Atoi(f[2])
			root := g.Root()
			for i := range folders {
				dir := g.CreateFolder(root, fmt.Sprintf("folder-%03d", i))
				for j := range files {
					g.CreateFile(dir, fmt.Sprintf("file-%05d.txt", j), []byte(strconv.Itoa(i*files+j)))
				}
			}
			if err := enc.Encode(struct{}{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if front != nil {
		front.Close()
	}
}

// e2eGraph is the parent's handle on the child graph server.
type e2eGraph struct {
	b      *testing.B
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
}

func startE2EGraph(b *testing.B) *e2eGraph {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	g := &e2eGraph{b: b}
	g.cmd = exec.Command(exe, "-test.run=^TestEndToEndGraphServer$", "-test.bench=^$", "-test.timeout=0")
	g.cmd.Env = append(childEnv(), e2eGraphEnv+"=1")
	g.cmd.Stderr = &g.stderr
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	g.out = bufio.NewScanner(stdout)
	b.Cleanup(func() {
		_ = g.stdin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() { _ = g.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			_ = g.cmd.Process.Kill()
			<-done
		}
	})
	return g
}

// call sends one command and decodes the answer into v.
func (g *e2eGraph) call(cmd string, v any) {
	g.b.Helper()
	if _, err := fmt.Fprintln(g.stdin, cmd); err != nil {
		g.b.Fatal(err)
	}
	for g.out.Scan() {
		line := g.out.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		if err := json.Unmarshal(line, v); err != nil {
			g.b.Fatal(err)
		}
		return
	}
	g.b.Fatalf("graph server process: %v\n%s", g.out.Err(), g.stderr.String())
}

func (g *e2eGraph) reset() e2eGraphInfo {
	var info e2eGraphInfo
	g.call("reset", &info)
	return info
}

func (g *e2eGraph) create(folders, files int) {
	var ok struct{}
	g.call(fmt.Sprintf("create %d %d", folders, files), &ok)
}
