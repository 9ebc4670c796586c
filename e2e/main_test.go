package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// agentBin is the onedrive-agent binary built once by TestMain.
var agentBin string

// TestMain builds the real binary from this checkout into a temporary
// folder, runs the tests and removes it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onedrive-agent-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		bin, err := buildAgent(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build onedrive-agent:", err)
			return 1
		}
		agentBin = bin
		return m.Run()
	}()
	os.Exit(code)
}

// buildAgent runs `go build` of ./cmd/onedrive-agent into dir, static like
// the released binaries.
func buildAgent(dir string) (string, error) {
	name := "onedrive-agent"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(dir, name)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goCmd, "build", "-o", out, "./cmd/onedrive-agent")
	cmd.Dir = ".." // the module root: this package is <root>/e2e
	// As released: static (scripts/build.sh).
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, b)
	}
	return out, nil
}
