// Package crashtest is the harness of the kill -9 tests. The parent runs a
// helper test of the running test binary in a child process (Child), kills
// it with SIGKILL at the moments the test picks, runs it once more to the
// end, and checks what the store committed (Committed). The child (Writer)
// writes pages of events with the store's delta cursor holding "written up
// to" in the same transaction, while its delivery sends them, until the
// queue is empty.
package crashtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// ExitFailed is the exit code of a child that failed on its own (rather
// than being killed): the parent fails its test on it.
const ExitFailed = 3

// Fail ends a child that failed: it prints err and exits with ExitFailed.
func Fail(err error) {
	fmt.Fprintln(os.Stderr, "crash helper:", err)
	os.Exit(ExitFailed)
}

// SkipWithoutKill skips t on Windows, which has no SIGKILL.
func SkipWithoutKill(t testing.TB) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGKILL")
	}
}

// Child is the helper test Test of this test binary, run in a child
// process with Env ("KEY=value") added to this process's environment.
type Child struct {
	Test string
	Env  []string
}

// start starts the child; its stdout and stderr go to the buffer.
func (c Child) start(t testing.TB) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+c.Test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), c.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// Kill starts the child, sends it SIGKILL after d and waits for it. It
// reports whether the kill landed (false: the child had finished before).
// A child that failed on its own fails t; k numbers the kill in the
// message.
func (c Child) Kill(t testing.TB, k int, d time.Duration) bool {
	t.Helper()
	cmd, out := c.start(t)
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("kill %d: %v", k, err)
	}
	if ee != nil && ee.ExitCode() == ExitFailed {
		t.Fatalf("kill %d: child failed: %s", k, out)
	}
	return err != nil
}

// Finish runs the child to its end: it fails t when the child fails or
// has not ended within timeout.
func (c Child) Finish(t testing.TB, timeout time.Duration) {
	t.Helper()
	cmd, out := c.start(t)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("final run: %v\n%s", err, out)
		}
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		t.Fatalf("final run did not drain within %v\n%s", timeout, out)
	}
}

// Committed opens the store at path, once no child runs any more, and
// checks that instance's cursor says total events were written and that
// no message is left queued or dead. It returns the number written.
func Committed(t testing.TB, path, instance string, total int) int {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var written int
	err = db.View(instance, func(tx *store.Tx) error {
		c, err := tx.Cursor()
		written, _ = strconv.Atoi(c)
		return err
	})
	st, serr := db.Stats(instance)
	_ = db.Close()
	if err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if written != total || st.QueuedMessages != 0 || st.DeadMessages != 0 {
		t.Fatalf("store: written %d of %d, %+v", written, total, st)
	}
	return written
}

// Writer is the child's side: it commits pages of events until Total are
// written, the instance's delta cursor holding "written up to" in the same
// transaction as the page's messages, and then waits until delivery has
// emptied the queue.
type Writer struct {
	DB       *store.DB
	Instance string
	Total    int
	Page     int           // events per transaction
	Pace     time.Duration // pause between pages, so kills land while events are both written and sent
	// Update runs fn in one transaction of the instance; nil is DB.Update.
	Update func(fn func(*store.Tx) error) error
	// Build forms the messages of the events from+1 to from+n.
	Build func(tx *store.Tx, from, n int) ([]store.Message, error)
	// Notify wakes delivery after each commit.
	Notify func()
}

// Run writes, then waits for the queue to empty. runErr yields delivery's
// end: delivery ending first stops Run with its error.
func (w Writer) Run(runErr <-chan error) error {
	update := w.Update
	if update == nil {
		update = func(fn func(*store.Tx) error) error { return w.DB.Update(w.Instance, fn) }
	}
	for {
		written := 0
		err := update(func(tx *store.Tx) error {
			c, err := tx.Cursor()
			if err != nil {
				return err
			}
			if c != "" {
				if written, err = strconv.Atoi(c); err != nil {
					return fmt.Errorf("cursor %q: %w", c, err)
				}
			}
			if written >= w.Total {
				return nil
			}
			n := min(w.Page, w.Total-written)
			msgs, err := w.Build(tx, written, n)
			if err != nil {
				return err
			}
			if err := tx.Enqueue(msgs...); err != nil {
				return err
			}
			written += n
			return tx.SetCursor(strconv.Itoa(written))
		})
		if err != nil {
			return err
		}
		w.Notify()
		if written >= w.Total {
			st, err := w.DB.Stats(w.Instance)
			if err != nil {
				return err
			}
			if st.QueuedMessages == 0 {
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		} else {
			time.Sleep(w.Pace)
		}
		select {
		case err := <-runErr:
			return fmt.Errorf("delivery stopped: %w", err)
		default:
		}
	}
}
