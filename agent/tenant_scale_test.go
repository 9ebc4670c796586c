//go:build linux

package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// The scale benchmark of a tenant-wide instance: N users' OneDrives of 20 items each (the root
// and 19 files and folders), polled at 200 requests per second with 8 drives at once. The fake
// tenant runs in a child process, so the memory and CPU measured are the agent's alone.
//
//	ONEDRIVE_AGENT_TENANT_SCALE=500,5000 go test ./agent/ -run TestTenantScale -v -timeout 30m
//
// It reports the time to discover and baseline every drive, the peak anonymous RSS, the
// database bytes per item, and one idle cycle (every drive polled once, nothing changed): its
// duration, its Graph requests and its CPU seconds.
func TestTenantScale(t *testing.T) {
	spec := os.Getenv("ONEDRIVE_AGENT_TENANT_SCALE")
	if spec == "" {
		t.Skip("set ONEDRIVE_AGENT_TENANT_SCALE=500,5000 to run the scale benchmark")
	}
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("ONEDRIVE_AGENT_TENANT_SCALE=%q", spec)
		}
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) { tenantScale(t, n) })
	}
}

// TestTenantScaleHelper is the child process: a fake tenant of N drives that prints its URL
// and serves until its standard input closes.
func TestTenantScaleHelper(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ONEDRIVE_AGENT_TENANT_HELPER"))
	if n <= 0 {
		t.Skip("the scale benchmark's fake tenant")
	}
	tn := graphtest.NewTenant(graphtest.TenantOptions{Seed: 1})
	defer tn.Close()
	for i := range n {
		d := tn.UserDrive(tn.AddUser(graphtest.TenantUser{UPN: fmt.Sprintf("user%05d@contoso.com", i)}))
		d.Populate(19, int64(i))
	}
	fmt.Printf("URL %s\n", tn.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Printf("REQUESTS %d\n", len(tn.Requests()))
}

func tenantScale(t *testing.T, drives int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestTenantScaleHelper$", "-test.timeout=1h")
	cmd.Env = append(os.Environ(), "ONEDRIVE_AGENT_TENANT_HELPER="+strconv.Itoa(drives))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	var url string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "URL "); ok {
			url = u
			break
		}
	}
	if url == "" {
		t.Fatal("the fake tenant did not start")
	}

	dir := t.TempDir()
	toml := tenantTOML(dir, testClientID, url, config.DriveAllUsers, 8)
	cfg, err := config.Parse(filepath.Join(dir, "agent.toml"), []byte(toml), nil)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "agent.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := New(Options{Config: cfg, DB: db, Version: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	peak := sampleRssAnon(t)
	ctx := context.Background()

	start := time.Now()
	cpu0 := cpuSeconds()
	res, err := a.Poll(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	baseline, baselineCPU := time.Since(start), cpuSeconds()-cpu0
	ds, err := a.Drives(ctx, "t")
	if err != nil || len(ds) != drives {
		t.Fatalf("%d drives known, want %d (%v)", len(ds), drives, err)
	}
	requests0 := a.metricsGraphRequests("t")

	start, cpu0 = time.Now(), cpuSeconds()
	idle, err := a.Poll(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	cycle, cycleCPU := time.Since(start), cpuSeconds()-cpu0
	cycleRequests := a.metricsGraphRequests("t") - requests0
	if idle.Events != 0 || cycleRequests != drives {
		t.Errorf("idle cycle: %d events, %d requests for %d drives", idle.Events, cycleRequests, drives)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	items := drives * 20
	t.Logf("%d drives × 20 items: baseline %v (%.1f CPU s, %d items), peak anonymous RSS %.1f MiB, database %.1f MiB = %d bytes per item; idle cycle %v, %d requests, %.2f CPU s",
		drives, baseline.Round(time.Millisecond), baselineCPU, res.Items, float64(peak())/(1<<20),
		float64(st.Size())/(1<<20), st.Size()/int64(items), cycle.Round(time.Millisecond), cycleRequests, cycleCPU)
	if p := peak(); p > 150<<20 {
		t.Errorf("peak anonymous RSS %.1f MiB, above 150 MiB", float64(p)/(1<<20))
	}
}

// metricsGraphRequests sums onedrive_agent_graph_requests_total of an instance.
func (a *Agent) metricsGraphRequests(instance string) int {
	mfs, err := a.metrics.reg.Gather()
	if err != nil {
		return -1
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "onedrive_agent_graph_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "instance" && l.GetValue() == instance {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}

// sampleRssAnon samples RssAnon of this process every 20 ms until the test ends and returns
// a function giving the peak so far, in bytes.
func sampleRssAnon(t *testing.T) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := rssAnon(); v > 0 {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(done) })
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return max(peak, rssAnon())
	}
}

func rssAnon() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
