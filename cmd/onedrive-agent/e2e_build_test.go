//go:build unix

package main

import (
	"debug/buildinfo"
	"debug/elf"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestBuildStaticAndStamped checks the binary scripts/build.sh makes: no
// dynamic loader (it runs on any Linux, whatever its C library), built with
// CGO_ENABLED=0, and `version` / `--version` print the version and the commit.
func TestBuildStaticAndStamped(t *testing.T) {
	bin := agentBinary(t)
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a program interpreter (PT_INTERP): it is dynamically linked", bin)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v", bin, libs)
		}
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	cgo := ""
	for _, s := range bi.Settings {
		if s.Key == "CGO_ENABLED" {
			cgo = s.Value
		}
	}
	if cgo != "0" {
		t.Errorf("built with CGO_ENABLED=%q, want 0", cgo)
	}

	line := regexp.MustCompile(`^onedrive-agent (\S+) \(commit ([0-9a-f]{7,}(-dirty)?|unknown), go[0-9.]+\S*, \w+/\w+\)\n$`)
	var commits []string
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		m := line.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("%v printed %q, want %s", args, out, line)
		}
		commits = append(commits, m[2])
	}
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		want := strings.TrimSpace(string(head))
		if !strings.HasPrefix(commits[0], want) {
			t.Errorf("version shows commit %q, the checkout is at %s", commits[0], want)
		}
	}
	if commits[0] != commits[1] {
		t.Errorf("version and --version disagree: %q, %q", commits[0], commits[1])
	}
}

// TestBuildInfoMetric checks onedrive_agent_build_info on /metrics.
func TestBuildInfoMetric(t *testing.T) {
	f := newFixture(t)
	p := f.start("run", "-c", f.cfg)
	f.waitHealthy(p)
	_, body, err := f.httpGet("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^onedrive_agent_build_info\{commit="[^"]+",goversion="go[^"]+",version="[^"]+"\} 1$`)
	if !re.MatchString(body) {
		t.Errorf("/metrics has no onedrive_agent_build_info line matching %s", re)
	}
	p.stop()
}
