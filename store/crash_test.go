package store

// The crash test kills a writing process with SIGKILL at random moments
// and checks that every round it committed is wholly there and every
// other wholly absent. The default run kills it 5 times (a few seconds);
// the long run, 40 times:
//
//	ONEDRIVE_AGENT_LONG=1 go test -run TestDB_Crash -count=1 -v ./store/

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashPage = 200 // messages per round of the crash workload

// helperCrash commits rounds of crashPage messages plus a round-state
// record ("page N"), an item and a cursor, while another goroutine
// delivers (Peek+Ack, sometimes Reject) and a third compacts the file
// every 50 ms, until it is killed.
func helperCrash(path string) error {
	db, err := Open(path, Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	if _, err := db.EnsureInstance("a"); err != nil {
		return err
	}
	page := 0
	err = db.View("a", func(tx *Tx) error {
		rs, _ := tx.RoundState()
		if rs != nil {
			page, err = strconv.Atoi(strings.TrimPrefix(string(rs), "page "))
		}
		return err
	})
	if err != nil {
		return err
	}
	go func() {
		for i := 0; ; i++ {
			msgs, err := db.Peek("a", 400)
			if err != nil || len(msgs) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			if i%50 == 0 {
				_ = db.Reject("a", msgs[0].Key, "crash test")
				continue
			}
			_ = db.Ack("a", keys(msgs)...)
		}
	}()
	go func() { // compactions too, so that kills also hit them
		for {
			time.Sleep(50 * time.Millisecond)
			_ = db.Compact()
		}
	}()
	fmt.Println("ready")
	body := make([]byte, 300)
	for {
		page++
		msgs := make([]Message, crashPage)
		for i := range msgs {
			msgs[i] = Message{ID: fmt.Sprintf("p%06d-%03d", page, i), Events: 1 + i%3, Body: body}
		}
		err := db.Update("a", func(tx *Tx) error {
			if err := tx.Enqueue(msgs...); err != nil {
				return err
			}
			if err := tx.PutItem(Item{ID: fmt.Sprintf("item%06d", page), ParentID: "root"}); err != nil {
				return err
			}
			if err := tx.SetCursor(fmt.Sprintf("cursor-%d", page)); err != nil {
				return err
			}
			return tx.SetRoundState([]byte(fmt.Sprintf("page %d", page)))
		})
		if err != nil {
			return err
		}
	}
}

func TestDB_Crash(t *testing.T) {
	kills := 5
	if os.Getenv("ONEDRIVE_AGENT_LONG") == "1" && !testing.Short() {
		kills = 40
	}
	path := newPath(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	lastPage := 0
	for k := range kills {
		cmd := helperCmd(t, "crash", path)
		startHelper(t, cmd)
		time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		page := checkCrashed(t, path)
		t.Logf("kill %d: %d rounds committed", k+1, page)
		if page < lastPage {
			t.Fatalf("committed rounds went back from %d to %d", lastPage, page)
		}
		lastPage = page
	}
	if lastPage == 0 {
		t.Error("the helper never committed a round")
	}
}

// checkCrashed reopens the killed helper's database and checks it; it
// returns the number of committed rounds.
func checkCrashed(t *testing.T, path string) int {
	t.Helper()
	db, err := Open(path, Options{Timeout: 5 * time.Second, NoAutoCompact: true})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		t.Fatalf("after kill: %v", err)
	}
	page := 0
	err = db.View("a", func(tx *Tx) error {
		rs, _ := tx.RoundState()
		if rs == nil {
			return nil
		}
		if page, err = strconv.Atoi(strings.TrimPrefix(string(rs), "page ")); err != nil {
			return err
		}
		if c, _ := tx.Cursor(); c != fmt.Sprintf("cursor-%d", page) {
			t.Errorf("round state says page %d, cursor is %q", page, c)
		}
		if n, _ := tx.ItemCount(); n != page {
			t.Errorf("round state says page %d, index has %d items", page, n)
		}
		if _, ok, _ := tx.Item(fmt.Sprintf("item%06d", page)); !ok {
			t.Errorf("item of page %d missing", page)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := db.Peek("a", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := db.Dead("a")
	if err != nil {
		t.Fatal(err)
	}
	// Queued messages are in order; together with the dead letters they
	// cover every message from the head to the last committed one, and
	// nothing of an uncommitted round.
	all := map[string]bool{}
	for i, m := range queued {
		if i > 0 && m.ID <= queued[i-1].ID {
			t.Fatalf("queue out of order: %s after %s", m.ID, queued[i-1].ID)
		}
		all[m.ID] = true
	}
	for _, d := range dead {
		all[d.ID] = true
	}
	var ids []string
	for id := range all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(queued) > 0 {
		// From the queue head on, nothing is missing.
		var p, i int
		_, _ = fmt.Sscanf(queued[0].ID, "p%06d-%03d", &p, &i)
		for ; p <= page; p, i = p+1, 0 {
			for ; i < crashPage; i++ {
				if id := fmt.Sprintf("p%06d-%03d", p, i); !all[id] {
					t.Fatalf("message %s of committed round %d is lost", id, page)
				}
			}
		}
	}
	if len(ids) > 0 && ids[len(ids)-1] > fmt.Sprintf("p%06d-%03d", page, crashPage-1) {
		t.Errorf("message %s of an uncommitted round is stored (last committed round %d)", ids[len(ids)-1], page)
	}
	return page
}
