//go:build unix

package delta

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// The kill test: a child process (this test binary re-executed) runs a
// backfill round over a real, fsynced store in small transactions (so its
// emit phase spans many of them, each saving its position in the round
// state), queuing one message per event; the parent kills it with SIGKILL,
// half the time right after an emit transaction began and half the time at
// a random moment, and starts it again until the round is done. The queue
// then holds every event exactly once, in the round's order, under ids that
// only increase: an emit transaction lost or replayed by a resume would show
// as a missing event, a duplicate or an id out of order.
//
//	ONEDRIVE_AGENT_LONG=1 go test ./agent/delta -run TestKill -v   # 40 kills, 12,240 events

// killTree is the drive of the kill test: folders of 50 files.
func killTree() []connector.Item {
	n := 3000
	if os.Getenv("ONEDRIVE_AGENT_LONG") != "" {
		n = 12000
	}
	return bigTree(n)
}

// killLimits make the round's transactions small: about 60 emit
// transactions for 3,060 events.
var killLimits = Limits{BufferItems: 500, ChunkUnits: 1000, EmitChunk: 50, EmitBatch: 25}

func TestKillHelper(t *testing.T) {
	dir := os.Getenv("ONEDRIVE_AGENT_DELTA_KILL_DIR")
	if dir == "" {
		t.Skip("the child of TestKill_EmitResumesWhereItStopped")
	}
	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	if _, err := db.EnsureInstance("a"); err != nil {
		fmt.Println("instance:", err)
		os.Exit(3)
	}
	f := &feed{rounds: [][][]connector.Item{paginate(killTree(), 200)}}
	r := &Round{
		Fetch:   f.fetch,
		Initial: Backfill,
		Limits:  killLimits,
		Emit: func(tx Tx, events []Event) error {
			fmt.Println("emit") // the parent may kill now: this transaction is not committed yet
			stx := tx.(*store.Tx)
			msgs := make([]store.Message, len(events))
			for i, e := range events {
				seq, err := stx.NextSeq()
				if err != nil {
					return err
				}
				msgs[i] = store.Message{ID: fmt.Sprintf("%012d", seq), Events: 1, Body: []byte(e.Type + " " + e.ItemID)}
			}
			return stx.Enqueue(msgs...)
		},
	}
	for {
		res, err := r.Run(context.Background(), StoreDB(db, "a"), "delta-0")
		if err != nil {
			fmt.Println("run:", err)
			os.Exit(3)
		}
		if res.Done {
			break
		}
	}
	if err := db.Close(); err != nil {
		fmt.Println("close:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func TestKill_EmitResumesWhereItStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process repeatedly")
	}
	kills := 6
	if os.Getenv("ONEDRIVE_AGENT_LONG") != "" {
		kills = 40
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(14, 41))
	done, killed := false, 0
	for start := 0; !done; start++ {
		if start > kills+20 {
			t.Fatalf("the round did not finish after %d starts", start)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ONEDRIVE_AGENT_DELTA_KILL_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A round that makes no progress would run for ever: stop it.
		stuck := false
		watchdog := time.AfterFunc(time.Minute, func() { stuck = true; _ = cmd.Process.Kill() })
		lines := bufio.NewScanner(out)
		var last []string
		if killed < kills {
			if killed%2 == 0 {
				// Right after the n-th emit transaction of this start began.
				n := 1 + rng.IntN(4)
				for seen := 0; seen < n && lines.Scan(); {
					if lines.Text() == "emit" {
						seen++
					}
				}
				time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
			} else {
				time.Sleep(time.Duration(5+rng.IntN(60)) * time.Millisecond)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
				killed++
			}
		}
		for lines.Scan() {
			if s := lines.Text(); s != "emit" {
				last = append(last, s)
			}
		}
		err = cmd.Wait()
		watchdog.Stop()
		if stuck {
			t.Fatalf("start %d ran for a minute without finishing the round", start+1)
		}
		var ee *exec.ExitError
		switch {
		case err == nil:
			done = true
		case errors.As(err, &ee) && ee.ProcessState.Sys().(syscall.WaitStatus).Signaled():
		default:
			t.Fatalf("child: %v: %s", err, strings.Join(last, "\n"))
		}
	}

	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	msgs, err := db.Peek("a", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	// The round's order: the folders (depth 1), then the files, each by id
	// (killTree lists both in id order).
	var want []string
	for _, it := range killTree() {
		if it.Folder && !it.Root {
			want = append(want, Created+" "+it.ID)
		}
	}
	for _, it := range killTree() {
		if !it.Folder {
			want = append(want, Created+" "+it.ID)
		}
	}
	got := make([]string, len(msgs))
	prev := uint64(0)
	for i, m := range msgs {
		got[i] = string(m.Body)
		id, err := strconv.ParseUint(m.ID, 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("message %d has id %q after %d: ids must only increase", i, m.ID, prev)
		}
		prev = id
	}
	if !slices.Equal(got, want) {
		missing, extra := diffCount(want, got)
		t.Fatalf("after %d kills: %d messages, want %d (%d missing, %d extra or out of order)", killed, len(got), len(want), missing, extra)
	}
	if killed < kills {
		t.Errorf("the round ended after %d kills, want %d: the test no longer kills where it should", killed, kills)
	}
	t.Logf("%d kills, %d events queued once each, in order", killed, len(got))
}

// diffCount counts the entries of want missing from got and those of got
// not in want.
func diffCount(want, got []string) (missing, extra int) {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		if seen[w] == 0 {
			missing++
		} else {
			seen[w]--
		}
	}
	for _, n := range seen {
		extra += n
	}
	return missing, extra
}
