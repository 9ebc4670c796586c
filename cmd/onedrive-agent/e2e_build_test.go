//go:build unix

package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	p := f.run()
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

// TestReleaseScript builds one release target with scripts/release.sh and
// checks the stamped version and SHA256SUMS. (All four targets are what
// `scripts/release.sh` builds by default; one keeps the test short.)
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the linux/amd64 release binary")
	}
	dist := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "release.sh"), "v9.9.9-test")
	cmd.Env = append(os.Environ(), "TARGETS=linux/amd64", "DIST="+dist,
		"PATH="+filepath.Join(runtime.GOROOT(), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
	name := "onedrive-agent-v9.9.9-test-linux-amd64"
	bin := filepath.Join(dist, name)
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "onedrive-agent v9.9.9-test (commit ") {
		t.Errorf("%s version: %q, %v", name, out, err)
	}
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x  %s\n", sha256.Sum256(data), name)
	if !strings.Contains(string(sums), want) {
		t.Errorf("SHA256SUMS:\n%s\nlacks %q", sums, want)
	}
}
