//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// The end-to-end tests run the real binary, built once per test process
// into a temporary directory that TestMain removes.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// agentBinary builds ./cmd/onedrive-agent once and returns its path.
// $ONEDRIVE_AGENT_BIN, when set, names a binary to test instead (a release
// build, or a prebuilt one for running the tests as another user).
func agentBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("ONEDRIVE_AGENT_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		binDir, binErr = os.MkdirTemp("", "onedrive-agent-e2e-")
		if binErr != nil {
			return
		}
		// The tests run what an operator builds: scripts/build.sh makes a
		// static (CGO_ENABLED=0), version-stamped binary.
		binPath = filepath.Join(binDir, "onedrive-agent")
		cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "build.sh"), binPath)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Join(runtime.GOROOT(), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("scripts/build.sh: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuffer is an io.Writer safe for the child's output copier and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is one agent setup: a fake Graph drive, a receiver, a data_dir
// and an agent.toml pointing at them.
type fixture struct {
	t       testing.TB
	bin     string
	graph   *graphtest.Server
	recv    *testReceiver
	dir     string
	dataDir string
	cfg     string
	admin   string // host:port of the admin API
}

const (
	e2eClientID = "9a1b2c3d-0000-4000-8000-00000000e2e0"
	e2eSecret   = "e2e-client-secret"
)

// newFixture prepares everything; instances lists instance names (default
// "finance"), all on the same drive and receiver, polling every hour.
func newFixture(t testing.TB, instances ...string) *fixture {
	t.Helper()
	if len(instances) == 0 {
		instances = []string{"finance"}
	}
	return newFixtureWith(t, false, instances)
}

// newFixtureWith is newFixture with a choice of Graph over HTTPS (its
// certificate given as [network].ca_file), as Microsoft is reached.
func newFixtureWith(t testing.TB, useTLS bool, instances []string) *fixture {
	t.Helper()
	f := &fixture{t: t, bin: agentBinary(t), dir: t.TempDir()}
	network := ""
	if useTLS {
		f.graph = graphtest.NewTLSServer(graphtest.Options{})
		f.write("graph-ca.pem", serverCertPEM(t, f.graph))
		network = "\n[network]\nca_file = \"graph-ca.pem\"\n"
	} else {
		f.graph = graphtest.NewServer(graphtest.Options{})
	}
	t.Cleanup(f.graph.Close)
	f.graph.AddClient(e2eClientID, e2eSecret, false)
	f.recv = newTestReceiver(t)
	f.dataDir = filepath.Join(f.dir, "data")
	f.admin = freeAddr(t)
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir = %q\n\n[log]\nlevel = \"info\"\n\n[admin]\nlisten = %q\n%s", f.dataDir, f.admin, network)
	for _, name := range instances {
		b.WriteString(appInstanceTOML(name, f.graph.LoginURL(), f.graph.GraphURL(), f.graph.DriveID()))
		fmt.Fprintf(&b, `[instance.poll]
interval = "1h"
[instance.callback]
url = %q
retry_initial = "100ms"
retry_max = "300ms"
`, f.recv.srv.URL)
	}
	f.cfg = filepath.Join(f.dir, "agent.toml")
	f.write("agent.toml", b.String())
	f.write("secret", e2eSecret+"\n")
	return f
}

// appInstanceTOML is an [[instance]] table that signs in as the test
// application (client_credentials, secret in the file "secret") and watches
// driveID, up to and with its [instance.drive] table: callers add the rest.
func appInstanceTOML(name, loginURL, graphURL, driveID string) string {
	return fmt.Sprintf(`
[[instance]]
name = %q
[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = %q
client_secret_file = "secret"
login_url = %q
graph_url = %q
[instance.drive]
drive = %q
`, name, e2eClientID, loginURL, graphURL, driveID)
}

// serverCertPEM returns the certificate a TLS graphtest server presents.
func serverCertPEM(t testing.TB, g *graphtest.Server) string {
	t.Helper()
	tr := g.Client().Transport.(*http.Transport)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(g.URL, "https://"), tr.TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cert := conn.ConnectionState().PeerCertificates[0]
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}

func (f *fixture) write(name, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// childEnv is the environment of the child processes: ours without the
// variables that would change which config is read.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ONEDRIVE_AGENT_CONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// proc is a running `onedrive-agent run`.
type proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	started time.Time
	stdout  syncBuffer
	stderr  syncBuffer
	done    chan struct{}
	err     error // valid once done is closed
}

// start starts the binary with args; the process is killed at the end of
// the test if still running.
func (f *fixture) start(args ...string) *proc {
	f.t.Helper()
	return startProc(f.t, f.bin, args...)
}

func startProc(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = childEnv()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("stderr of %v (pid %d):\n%s", args, p.cmd.Process.Pid, p.stderr.String())
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// wait waits up to d for the process to exit and returns its exit status.
func (p *proc) wait(d time.Duration) (int, bool) {
	select {
	case <-p.done:
	case <-time.After(d):
		return 0, false
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0, true
	case errors.As(p.err, &ee):
		return ee.ExitCode(), true
	}
	p.t.Fatalf("wait: %v", p.err)
	return 0, false
}

// stop sends SIGTERM and requires a clean exit within 10 s.
func (p *proc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	start := time.Now()
	code, ok := p.wait(10 * time.Second)
	if !ok {
		p.t.Fatalf("the agent did not exit within 10s of SIGTERM; stderr:\n%s", p.stderr.String())
	}
	if code != 0 {
		p.t.Fatalf("the agent exited %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
	}
	p.t.Logf("exited 0 %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// cli runs one command of the binary to its end (at most 30 s).
func (f *fixture) cli(args ...string) (code int, stdout, stderr string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		f.t.Fatalf("%v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// mustCLI runs a command that must exit 0.
func (f *fixture) mustCLI(args ...string) string {
	f.t.Helper()
	code, out, errOut := f.cli(args...)
	if code != 0 {
		f.t.Fatalf("onedrive-agent %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// httpGet fetches an admin URL path.
func (f *fixture) httpGet(path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + f.admin + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// run starts `run` on the fixture's configuration and waits until it
// answers GET /healthz.
func (f *fixture) run() *proc {
	f.t.Helper()
	p := f.start("run", "-c", f.cfg)
	f.waitHealthy(p)
	return p
}

// waitHealthy waits until the agent's /healthz answers 200.
func (f *fixture) waitHealthy(p *proc) {
	f.t.Helper()
	waitUntil(f.t, 10*time.Second, "GET /healthz", func() bool {
		select {
		case <-p.done:
			f.t.Fatalf("the agent exited early: %v\nstderr:\n%s", p.err, p.stderr.String())
		default:
		}
		code, _, err := f.httpGet("/healthz")
		return err == nil && code == 200
	})
}

// statusJSON is the part of `status --json` the tests read.
type statusJSON struct {
	Running   bool `json:"running"`
	PID       int  `json:"pid"`
	Instances []struct {
		Name           string     `json:"name"`
		State          string     `json:"state"`
		LastSuccess    *time.Time `json:"lastSuccessfulPoll"`
		QueuedEvents   int64      `json:"queuedEvents"`
		QueuedMessages int64      `json:"queuedMessages"`
		DeadMessages   int64      `json:"deadMessages"`
	} `json:"instances"`
}

// status runs `status --json` and decodes it.
func (f *fixture) status() statusJSON {
	f.t.Helper()
	out := f.mustCLI("status", "-c", f.cfg, "--json")
	var s statusJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		f.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deltaRequests counts the delta requests graphtest answered.
func (f *fixture) deltaRequests() int { return f.graph.Count(graphtest.ClassDelta, 0) }
