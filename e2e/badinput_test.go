package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadInput is scenario 5: what an operator gets wrong. Each case must
// end with a clear message, the right exit status, and nothing lost.
func TestBadInput(t *testing.T) {
	t.Run("malformed config", testMalformedConfig)
	t.Run("damaged database", testDamagedDatabase)
	t.Run("second process", testSecondProcess)
	t.Run("unwritable data_dir", testUnwritableDataDir)
	t.Run("full queue", testFullQueue)
}

// editLine replaces the first line of text that starts with prefix by
// repl ("" deletes it) and returns the new text and the line's number.
func editLine(t *testing.T, text, prefix, repl string) (string, int) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if repl == "" {
				lines = append(lines[:i], lines[i+1:]...)
			} else {
				lines[i] = repl
			}
			return strings.Join(lines, "\n"), i + 1
		}
	}
	t.Fatalf("no line starts with %q in:\n%s", prefix, text)
	return "", 0
}

func lineOf(t *testing.T, text, prefix string) int {
	_, n := editLine(t, text, prefix, prefix)
	return n
}

// testMalformedConfig: every broken agent.toml makes check and run exit 2
// with "file:line: key" in the message; but an unset variable behind a
// secret, which check only warns about (the service's environment file may
// set it), stops only run.
func testMalformedConfig(t *testing.T) {
	dir := t.TempDir()
	base := AgentConfig{DataDir: filepath.Join(dir, "data"), AdminAddr: "127.0.0.1:1", Instances: []InstanceConfig{{
		Name: "bad", ClientID: clientID, ClientSecret: clientSecret, Drive: "b!drive", Interval: "10s",
		CallbackURL: "http://127.0.0.1:1/hook", MaxEvents: 10, RetryInitial: "1s", RetryMax: "5m", Timeout: "30s"}}}.TOML()
	cases := []struct {
		name, prefix, repl, key string
		line                    int // 0: the edited line
	}{
		{"unknown key", "interval =", `intervall = "10s"`, "instance.poll.intervall", 0},
		{"interval too short", "interval =", `interval = "5s"`, "instance.poll.interval", 0},
		{"bad duration", "timeout =", `timeout = "soon"`, "instance.callback.timeout", 0},
		{"missing callback url", "url =", "", "instance.callback.url", lineOf(t, base, "[instance.callback]")},
		{"unset variable", "client_secret =", `client_secret = "${E2E_SURELY_UNSET_VARIABLE}"`, "instance.auth.client_secret", 0},
		{"bad instance name", "name =", `name = "Bad Name"`, "instance.name", 0},
		{"wrong type", "max_events =", `max_events = "ten"`, "instance.callback.max_events", 0},
		{"retry_initial above retry_max", "retry_initial =", `retry_initial = "10m"`, "instance.callback.retry_initial", 0},
		{"bad flow", "flow =", `flow = "password"`, "instance.auth.flow", 0},
		{"TOML syntax", "retry_max =", `retry_max = `, "", 0},
	}
	for i, c := range cases {
		text, line := editLine(t, base, c.prefix, c.repl)
		if c.line != 0 {
			line = c.line
		}
		path := filepath.Join(dir, fmt.Sprintf("agent-%d.toml", i))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s:%d: %s", path, line, c.key)
		if c.key == "" {
			want = fmt.Sprintf("%s:%d", path, line)
		}
		for _, cmd := range []string{"check", "run"} {
			r := RunCLI(t, cmd, "-c", path)
			code := 2
			if cmd == "check" && c.name == "unset variable" {
				code = 0
			}
			if r.Code != code || !strings.Contains(r.Stderr, want) {
				t.Errorf("%s: onedrive-agent %s: exit %d, stderr %q; want exit %d and %q", c.name, cmd, r.Code, r.Stderr, code, want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("run with a broken config created data_dir")
	}
}

// testDamagedDatabase: a database file that is not a database (or was cut
// short) stops run with exit 1 and a message naming the file and what to
// do; the file is left exactly as it was.
func testDamagedDatabase(t *testing.T) {
	e := NewEnv(t, Setup{Populate: 50, Seed: 8})
	e.StartBaselined()
	if code := e.Agent.Stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	db := filepath.Join(e.Cfg.DataDir, "onedrive-agent.db")
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	for _, c := range []struct {
		name    string
		content []byte
	}{
		{"random bytes", garbage},
		{"cut in half", good[:len(good)/2]},
		{"cut to one page", good[:4096]},
	} {
		if err := os.WriteFile(db, c.content, 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour).Truncate(time.Second)
		os.Chtimes(db, old, old)
		for _, cmd := range []string{"run", "status"} {
			r := RunCLI(t, cmd, "-c", e.CfgPath)
			if r.Code != 1 || !strings.Contains(r.Stderr, db) || !strings.Contains(r.Stderr, "move it aside") {
				t.Errorf("%s: onedrive-agent %s: exit %d, stderr %q; want exit 1 naming %s and how to recover", c.name, cmd, r.Code, r.Stderr, db)
			}
		}
		after, err := os.ReadFile(db)
		fi, _ := os.Stat(db)
		if err != nil || !bytes.Equal(after, c.content) || !fi.ModTime().Equal(old) {
			t.Errorf("%s: the damaged database was changed (err %v, same bytes %v, mtime %v)", c.name, err, bytes.Equal(after, c.content), fi.ModTime())
		}
	}
}

// testSecondProcess: a second `run` on the same data_dir, and commands
// that cannot reach the running agent, report the holder's pid within 5 s
// (exit 1); the running agent carries on.
func testSecondProcess(t *testing.T) {
	e := NewEnv(t, Setup{Populate: 50, Seed: 9})
	e.StartBaselined()
	st, err := e.Agent.Status()
	if err != nil || st.PID == 0 {
		t.Fatalf("status: %+v %v", st, err)
	}
	pid := fmt.Sprintf("pid %d", st.PID)
	other := e.Cfg
	other.AdminAddr = freeAddr(t)
	otherPath := filepath.Join(t.TempDir(), "other.toml")
	other.Write(t, otherPath)
	noAdmin := e.Cfg
	noAdmin.AdminAddr = ""
	noAdminPath := filepath.Join(t.TempDir(), "noadmin.toml")
	noAdmin.Write(t, noAdminPath)
	cmds := [][]string{
		{"run", "-c", otherPath},
		{"status", "-c", otherPath},
		{"status", "-c", noAdminPath},
		{"poll", "-c", noAdminPath, "e2e"},
		{"dead", "-c", noAdminPath, "list"},
	}
	results := make([]CLIResult, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds { // at once: each may wait for the lock
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runCLI(args...)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] == nil && r.Code == 1 && strings.Contains(r.Stderr, pid) && r.Took > 5*time.Second {
			// Five processes started at once on a loaded machine can take
			// long to start: ask again, alone, before calling it slow.
			t.Logf("onedrive-agent %v took %v with the others at once (load); again alone", cmds[i], r.Took)
			results[i], errs[i] = runCLI(cmds[i]...)
			r = results[i]
		}
		if errs[i] != nil || r.Code != 1 || !strings.Contains(r.Stderr, pid) || r.Took > 5*time.Second {
			t.Errorf("onedrive-agent %v: exit %d after %v, stderr %q (%v); want exit 1 within 5s naming %q", cmds[i], r.Code, r.Took, r.Stderr, errs[i], pid)
		}
	}
	r := RunCLI(t, "status", "-c", e.CfgPath)
	if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("running (%s)", pid)) {
		t.Errorf("status through the admin API: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	s := newStepper(t, e, 99)
	s.step(20, nil)
	s.finish()
}

// testUnwritableDataDir: run exits 1 naming the data_dir it cannot create.
func testUnwritableDataDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	dirs := []string{filepath.Join(file, "data")}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "read-only")
		os.Mkdir(ro, 0o500)
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
		dirs = append(dirs, filepath.Join(ro, "data"))
	}
	for _, d := range dirs {
		cfg := AgentConfig{DataDir: d, AdminAddr: freeAddr(t), Instances: []InstanceConfig{{
			Name: "e2e", ClientID: clientID, ClientSecret: clientSecret, Drive: "b!drive", Interval: "10s",
			CallbackURL: "http://127.0.0.1:1/hook"}}}
		path := filepath.Join(dir, "agent.toml")
		cfg.Write(t, path)
		r := RunCLI(t, "run", "-c", path)
		if r.Code != 1 || !strings.Contains(r.Stderr, d) {
			t.Errorf("data_dir %s: exit %d, stderr %q; want exit 1 naming the folder", d, r.Code, r.Stderr)
		}
	}
}

// testFullQueue: with a small max_queue and the receiver down, a big round
// pauses (status says so, the queue stops growing); once the receiver is
// back, the paused round goes on and everything arrives.
func testFullQueue(t *testing.T) {
	e := NewEnv(t, Setup{Populate: 100, Seed: 10, Instance: InstanceConfig{Interval: "10s", MaxQueue: 20}})
	e.StartBaselined()
	e.Recv.Down()
	e.Graph.Populate(1000, 11)
	res := e.PollOK("e2e")
	if !res.Paused {
		t.Errorf("poll of 1000 new items with max_queue 20 and the receiver down: paused = false (%+v)", res)
	}
	// A scheduled round (interval 10s) may be under way; it pauses too.
	st := e.waitFor("the status to say the queue is full", 30*time.Second, func(s Status) bool {
		return s.Instances[0].State == "paused_queue_full"
	})
	queued := st.Instances[0].QueuedEvents
	if queued < 20 || queued >= 1000 {
		t.Errorf("status of a full queue: %d queued events, want at least max_queue and fewer than the round's 1000", queued)
	}
	for i := 0; ; i++ {
		r := RunCLI(t, "status", "-c", e.CfgPath)
		if strings.Contains(r.Stdout, "paused_queue_full") {
			break
		}
		if i == 10 { // a scheduled round may have been between its pages
			t.Errorf("onedrive-agent status does not say the queue is full:\n%s", r.Stdout)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.PollOK("e2e")
	NewMutator(e.Graph, 10).Batch(30, e.Graph.Tree())
	e.PollOK("e2e")
	if st, _ := e.Agent.Status(); st.Instances[0].QueuedEvents != queued {
		t.Errorf("the queue grew from %d to %d events while full", queued, st.Instances[0].QueuedEvents)
	}
	e.Recv.Up(t)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e.WaitDrained(time.Minute)
		if res := e.PollOK("e2e"); res.Events == 0 && !res.Paused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the paused round did not finish within 2 minutes")
		}
	}
	e.WaitDrained(time.Minute)
	e.Verify(0)
	e.CheckQuiet()
}
