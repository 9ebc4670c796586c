package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// newPath returns a database path in a folder that does not exist yet.
func newPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "data", "agent.db")
}

// mustOpen opens path and registers a cleanup that checks the counters
// against a recount (and bbolt's page checks) before closing.
func mustOpen(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if db.bdb != nil {
			if err := db.Verify(); err != nil {
				t.Errorf("Verify after test: %v", err)
			}
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// mustInstance opens a fresh database with one instance "a".
func mustInstance(t testing.TB, opts Options) *DB {
	t.Helper()
	db := mustOpen(t, newPath(t), opts)
	if _, err := db.EnsureInstance("a"); err != nil {
		t.Fatal(err)
	}
	return db
}

// msg builds a one-event message with a body derived from its id.
func msg(id string) Message {
	return Message{ID: id, Events: 1, Body: []byte(`{"id":"` + id + `"}`)}
}

// enqueue commits msgs for instance "a".
func enqueue(t testing.TB, db *DB, ids ...string) {
	t.Helper()
	msgs := make([]Message, len(ids))
	for i, id := range ids {
		msgs[i] = msg(id)
	}
	if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(msgs...) }); err != nil {
		t.Fatal(err)
	}
}

// queueIDs returns the ids of all queued messages of "a", head first.
func queueIDs(t testing.TB, db *DB) []string {
	t.Helper()
	msgs, err := db.Peek("a", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
		if want := `{"id":"` + m.ID + `"}`; string(m.Body) != want && m.Body != nil {
			if !bytes.HasPrefix(m.Body, []byte("part")) {
				t.Errorf("message %s body %q, want %q", m.ID, m.Body, want)
			}
		}
	}
	return ids
}

// checkCounts compares Stats with a recount for instance "a".
func checkCounts(t testing.TB, db *DB) {
	t.Helper()
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
}

func keys(msgs []Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Key
	}
	return out
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// helperEnv selects the helper process mode (TestHelperProcess).
const helperEnv = "ONEDRIVE_AGENT_STORE_HELPER"

// helperCmd re-executes the test binary as a helper process.
func helperCmd(t testing.TB, mode, path string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "STORE_HELPER_PATH="+path)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is not a test: it is the body of the helper processes
// started by other tests (lock holder, crash workload, write errors).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	path := os.Getenv("STORE_HELPER_PATH")
	var err error
	switch mode {
	case "hold":
		err = helperHold(path)
	case "crash":
		err = helperCrash(path)
	case "writeerr":
		err = helperWriteError(path)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// helperHold opens the database, says "ready" and holds it until stdin
// closes.
func helperHold(path string) error {
	db, err := Open(path, Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Println("ready")
	_, _ = os.Stdin.Read(make([]byte, 1))
	return nil
}

// startHelper starts cmd and waits until it prints "ready". The returned
// writer is its stdin (closing it ends a "hold" helper).
func startHelper(t testing.TB, cmd *exec.Cmd) io.WriteCloser {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("helper exited before ready: %v", cmd.ProcessState)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper not ready after 30s")
	}
	return stdin
}

var errTest = errors.New("test error")
