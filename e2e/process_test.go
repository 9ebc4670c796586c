package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Agent runs the built binary as `onedrive-agent run -c <config>` and talks
// to it the way an operator does: signals, the admin API, the command line.
// Its stderr goes to a log file whose tail is printed when the test fails.
type Agent struct {
	t       testing.TB
	cfgPath string
	dataDir string
	admin   string // http://host:port
	logPath string

	cmd    *exec.Cmd
	done   chan struct{}
	waited error
	Starts int
	Kills  int
	// KillTimes are the moments of every SIGKILL.
	KillTimes []time.Time
}

// NewAgent prepares (does not start) an agent for the configuration at
// cfgPath. The process is killed when the test ends, if still running.
func NewAgent(t testing.TB, cfgPath string, cfg AgentConfig) *Agent {
	a := &Agent{t: t, cfgPath: cfgPath, dataDir: cfg.DataDir, admin: "http://" + cfg.AdminAddr,
		logPath: filepath.Join(filepath.Dir(cfgPath), "agent.log")}
	t.Cleanup(func() {
		if a.Running() {
			a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("agent log (last lines of %s):\n%s", a.logPath, tail(a.logPath, 40))
		}
	})
	return a
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Start starts the process and waits until GET /healthz answers 200.
func (a *Agent) Start() {
	a.t.Helper()
	if err := a.start(); err != nil {
		a.t.Fatalf("start agent: %v\n%s", err, tail(a.logPath, 30))
	}
}

func (a *Agent) start() error {
	if a.Running() {
		return errors.New("already running")
	}
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "---- start %d at %s\n", a.Starts+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(agentBin, "run", "-c", a.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "ONEDRIVE_AGENT_CONFIG=")
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	a.cmd, a.done, a.waited = cmd, make(chan struct{}), nil
	a.Starts++
	done := a.done
	go func() {
		a.waited = cmd.Wait()
		logf.Close()
		close(done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("exited at start: %v", a.waited)
		default:
		}
		if a.healthy() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("no /healthz within 20s")
}

func (a *Agent) healthy() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.admin+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Running reports whether the process runs.
func (a *Agent) Running() bool {
	if a.done == nil {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// Kill ends the process with SIGKILL (kill -9) and waits for it.
func (a *Agent) Kill() {
	if !a.Running() {
		return
	}
	a.cmd.Process.Kill()
	<-a.done
	a.Kills++
	a.KillTimes = append(a.KillTimes, time.Now())
}

// Stop asks the process to stop (SIGTERM) and returns its exit status; the
// test fails when it takes longer than 20 s.
func (a *Agent) Stop() int {
	a.t.Helper()
	if !a.Running() {
		return exitStatus(a.waited)
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		a.t.Errorf("agent did not stop within 20s of SIGTERM")
		a.Kill()
	}
	return exitStatus(a.waited)
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		return -1
	}
}

// PollResult is the admin API's answer to a poll.
type PollResult struct {
	Items    int  `json:"items"`
	Events   int  `json:"events"`
	Pages    int  `json:"pages"`
	Resynced bool `json:"resynced"`
	Paused   bool `json:"paused"`
}

// Poll runs a round through the admin API and waits for its end.
func (a *Agent) Poll(name string) (PollResult, error) {
	return a.action("POST", "/v1/instances/"+name+"/poll")
}

// Resync asks for a reconciling resync through the admin API.
func (a *Agent) Resync(name string) (PollResult, error) {
	return a.action("POST", "/v1/instances/"+name+"/resync")
}

func (a *Agent) action(method, path string) (PollResult, error) {
	tok, err := os.ReadFile(filepath.Join(a.dataDir, "admin.token"))
	if err != nil {
		return PollResult{}, err
	}
	req, _ := http.NewRequest(method, a.admin+path, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	var res PollResult
	err = a.do(req, &res)
	return res, err
}

// Status is the part of GET /v1/status (status --json) the tests read.
type Status struct {
	Running   bool `json:"running"`
	PID       int  `json:"pid"`
	Instances []struct {
		Name              string     `json:"name"`
		State             string     `json:"state"`
		LastSuccess       *time.Time `json:"lastSuccessfulPoll"`
		LastPollError     string     `json:"lastPollError"`
		QueuedEvents      int64      `json:"queuedEvents"`
		QueuedMessages    int64      `json:"queuedMessages"`
		DeadMessages      int64      `json:"deadMessages"`
		LastDeliveryError string     `json:"lastDeliveryError"`
		Resyncs           uint64     `json:"resyncs"`
	} `json:"instances"`
}

// Status reads GET /v1/status.
func (a *Agent) Status() (Status, error) {
	req, _ := http.NewRequest("GET", a.admin+"/v1/status", nil)
	var s Status
	err := a.do(req, &s)
	return s, err
}

func (a *Agent) do(req *http.Request, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// CLIResult is the outcome of one command line.
type CLIResult struct {
	Stdout, Stderr string
	Code           int
	Took           time.Duration
}

// RunCLI runs the binary with args (no config from the environment) and
// returns what it printed and its exit status; the test fails when it runs
// longer than 60 s.
func RunCLI(t testing.TB, args ...string) CLIResult {
	t.Helper()
	r, err := runCLI(args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runCLI is RunCLI for any goroutine.
func runCLI(args ...string) (CLIResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, agentBin, args...)
	cmd.Env = append(os.Environ(), "ONEDRIVE_AGENT_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := CLIResult{Stdout: out.String(), Stderr: errb.String(), Code: exitStatus(err), Took: time.Since(start)}
	if ctx.Err() != nil {
		return r, fmt.Errorf("onedrive-agent %v did not finish within 60s", args)
	}
	return r, nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
