package delta_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// The enumeration benchmark runs the fake Graph server in a child process
// (this test binary, re-executed), so that the RssAnon the benchmark samples
// in its own process is the agent's alone and the server's 1M-item tree does
// not count.

// benchGraphEnv carries the number of items the child populates its drive
// with; set, it turns TestBenchGraphServer into the server.
const benchGraphEnv = "DELTA_BENCH_GRAPH_CHILD"

// benchGraphInfo is what the child announces once its drive is populated.
type benchGraphInfo struct {
	URL, GraphURL, LoginURL string
	DriveID                 string
	AppToken                string // an app-only access token, for the fetch-and-decode reference
	Items                   int    // items below the root
	RSSAnon                 uint64 // the child's RssAnon after Populate and a GC
}

// benchGraphStats is the child's answer to "stats": its memory and CPU so far.
type benchGraphStats struct {
	RSSAnon uint64
	CPU     time.Duration // user + system
}

// TestBenchGraphServer is the child process of BenchmarkEnumerate, not a
// test: without DELTA_BENCH_GRAPH_CHILD it skips. It serves a drive of that
// many items until its stdin is closed and answers each line read from
// stdin with a benchGraphStats line.
func TestBenchGraphServer(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(benchGraphEnv))
	if n <= 0 {
		t.Skip("the graph server process of BenchmarkEnumerate")
	}
	s := graphtest.NewServer(graphtest.Options{})
	defer s.Close()
	s.Populate(n, 1)
	runtime.GC()
	debug.FreeOSMemory()
	buf := make([]byte, 8<<10)
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(benchGraphInfo{
		URL: s.URL, GraphURL: s.GraphURL(), LoginURL: s.LoginURL(), DriveID: s.DriveID(),
		AppToken: s.IssueAppToken(), Items: n, RSSAnon: procRSSAnon(0, buf),
	}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if err := enc.Encode(benchGraphStats{RSSAnon: procRSSAnon(0, buf), CPU: processCPU()}); err != nil {
			t.Fatal(err)
		}
	}
}

// benchGraph is the parent's handle on the child server.
type benchGraph struct {
	info   benchGraphInfo
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
}

// startBenchGraph re-executes the test binary as a graph server with n items
// and waits until it is populated. The server stops when b's cleanup runs.
func startBenchGraph(b *testing.B, n int) *benchGraph {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatalf("find the test binary: %v", err)
	}
	g := &benchGraph{}
	g.cmd = exec.Command(exe, "-test.run=^TestBenchGraphServer$", "-test.bench=^$", "-test.timeout=0")
	g.cmd.Env = append(os.Environ(), benchGraphEnv+"="+strconv.Itoa(n))
	g.cmd.Stderr = &g.stderr
	if g.stdin, err = g.cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	stdout, err := g.cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := g.cmd.Start(); err != nil {
		b.Fatalf("start the graph server process: %v", err)
	}
	b.Cleanup(g.stop)
	g.out = bufio.NewScanner(stdout)
	g.out.Buffer(make([]byte, 64<<10), 1<<20)
	if err := g.read(&g.info); err != nil {
		b.Fatalf("graph server process: %v\n%s", err, g.stderr.String())
	}
	return g
}

// read decodes the next JSON line of the child, skipping anything else the
// test framework may print.
func (g *benchGraph) read(v any) error {
	for g.out.Scan() {
		line := g.out.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		return json.Unmarshal(line, v)
	}
	if err := g.out.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// stats asks the child for its current memory and CPU time.
func (g *benchGraph) stats() (benchGraphStats, error) {
	var st benchGraphStats
	if _, err := fmt.Fprintln(g.stdin, "stats"); err != nil {
		return st, err
	}
	return st, g.read(&st)
}

// stop closes the child's stdin and waits for it to exit (killing it after
// a few seconds).
func (g *benchGraph) stop() {
	_ = g.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = g.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
}
