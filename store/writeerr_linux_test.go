package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// helperWriteError lowers the file size limit so that a commit fails the
// way a full disk makes it fail, then checks the database stays readable
// and writable once the limit is lifted.
func helperWriteError(path string) error {
	db, err := Open(path, Options{NoAutoCompact: true})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.EnsureInstance("a"); err != nil {
		return err
	}
	body := make([]byte, 1024)
	page := func(prefix string, n int) []Message {
		msgs := make([]Message, n)
		for i := range msgs {
			msgs[i] = Message{ID: fmt.Sprintf("%s%05d", prefix, i), Events: 1, Body: body}
		}
		return msgs
	}
	if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(page("a", 10)...) }); err != nil {
		return err
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		return err
	}
	limited := old
	limited.Cur = 1 << 20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		return err
	}
	err = db.Update("a", func(tx *Tx) error { return tx.Enqueue(page("b", 5000)...) })
	if err == nil {
		return errors.New("a 5 MB commit succeeded under a 1 MB file size limit")
	}
	if !errors.Is(err, syscall.EFBIG) && !IsDiskFull(err) && !strings.Contains(err.Error(), "file too large") {
		return fmt.Errorf("commit error does not carry the cause: %v", err)
	}
	fmt.Println("commit error:", err)
	if msgs, err := db.Peek("a", 100); err != nil || len(msgs) != 10 {
		return fmt.Errorf("Peek after the failed commit = %d messages, %v", len(msgs), err)
	}
	if err := db.Verify(); err != nil {
		return fmt.Errorf("after the failed commit: %w", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		return err
	}
	if err := db.Update("a", func(tx *Tx) error { return tx.Enqueue(page("c", 5000)...) }); err != nil {
		return fmt.Errorf("commit after space returned: %w", err)
	}
	if st, err := db.Stats("a"); err != nil || st.QueuedMessages != 5010 {
		return fmt.Errorf("Stats = %+v, %v", st, err)
	}
	return db.Verify()
}

// TestDB_WriteError: a failed commit (here: file size limit) is returned,
// rolls back and leaves the database usable.
func TestDB_WriteError(t *testing.T) {
	cmd := helperCmd(t, "writeerr", newPath(t))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
