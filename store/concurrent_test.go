package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestDB_Concurrent runs a producer, an in-order consumer, readers and a
// compactor at once (run it with -race): the consumer must see every
// message exactly once and in order.
func TestDB_Concurrent(t *testing.T) {
	db := mustInstance(t, Options{NoSync: true})
	const rounds, perRound = 60, 50
	total := rounds * perRound
	var wg sync.WaitGroup
	var produced atomic.Int64
	errs := make(chan error, 10)
	wg.Add(1)
	go func() { // producer: one round per Update
		defer wg.Done()
		for r := range rounds {
			msgs := make([]Message, perRound)
			for i := range msgs {
				msgs[i] = Message{ID: fmt.Sprintf("m%06d", r*perRound+i), Events: 1, Body: []byte("x")}
			}
			err := db.Update("a", func(tx *Tx) error {
				if err := tx.Enqueue(msgs...); err != nil {
					return err
				}
				if err := tx.PutItem(Item{ID: fmt.Sprint(r), ParentID: "root"}); err != nil {
					return err
				}
				return tx.SetCursor(fmt.Sprint(r))
			})
			if err != nil {
				errs <- err
				return
			}
			produced.Add(perRound)
		}
	}()
	stop := make(chan struct{})
	for range 2 { // readers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, err := db.Stats("a")
				if err != nil || st.QueuedMessages < 0 || st.QueuedMessages > int64(total) {
					errs <- fmt.Errorf("Stats = %+v, %v", st, err)
					return
				}
				_ = db.View("a", func(tx *Tx) error {
					n, _ := tx.ItemCount()
					c, _ := tx.Cursor()
					if c != "" && c != fmt.Sprint(n-1) {
						errs <- fmt.Errorf("snapshot with cursor %s and %d items", c, n)
					}
					return nil
				})
			}
		}()
	}
	wg.Add(1)
	go func() { // compactor
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := db.Compact(); err != nil {
				errs <- err
				return
			}
		}
	}()
	next := 0 // consumer, in this goroutine
	deadline := time.Now().Add(30 * time.Second)
	for next < total && time.Now().Before(deadline) {
		msgs, err := db.Peek("a", 17)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if want := fmt.Sprintf("m%06d", next); m.ID != want {
				t.Fatalf("consumer got %s, want %s", m.ID, want)
			}
			next++
		}
		if err := db.Ack("a", keys(msgs)...); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if next != total {
		t.Errorf("consumed %d of %d messages", next, total)
	}
	checkCounts(t, db)
}
