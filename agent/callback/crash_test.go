package callback

// The crash test: a child process (this test binary re-executed) writes
// pages of events into a real store and delivers them with a Dispatcher to
// a receiver in this process, which sometimes fails; the parent kills the
// child with SIGKILL at random moments, restarts it, lets it drain, and
// proves at-least-once, per-instance order and stable ids and bytes.
//
// Default (and -short): 5 kills. Long run, 40 kills:
//
//	ONEDRIVE_AGENT_LONG=1 go test ./agent/callback -run TestCrash_KillDuringDelivery -v -timeout 20m

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/internal/crashtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

const (
	crashEnvHelper = "CALLBACK_CRASH_HELPER"
	crashEnvDB     = "CALLBACK_CRASH_DB"
	crashEnvURL    = "CALLBACK_CRASH_URL"
	crashEnvTotal  = "CALLBACK_CRASH_TOTAL"
	crashPage      = 50 // events per transaction
	crashInstance  = "crash"
)

// TestCrashHelper is the child process; it does nothing in a normal run.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(crashEnvHelper) != "1" {
		t.Skip("helper process for TestCrash_KillDuringDelivery")
	}
	total, _ := strconv.Atoi(os.Getenv(crashEnvTotal))
	if err := crashChild(os.Getenv(crashEnvDB), os.Getenv(crashEnvURL), total); err != nil {
		crashtest.Fail(err)
	}
}

// crashChild writes events until total are committed (the delta cursor
// holds "written up to" in the same transaction as the messages) and
// delivers until the queue is empty.
func crashChild(path, url string, total int) error {
	db, err := store.Open(path, store.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	in, err := db.EnsureInstance(crashInstance)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	d, err := New(Config{Instance: crashInstance, URL: url, Timeout: 200 * time.Millisecond,
		RetryInitial: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond}, StoreQueue(db, in.Name), nil, Observer{}, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()

	meta := Meta{DBID: db.ID(), InstanceID: in.ID, Name: in.Name, MaxEvents: 10}
	err = crashtest.Writer{DB: db, Instance: in.Name, Total: total, Page: crashPage, Pace: 3 * time.Millisecond,
		Build: func(tx *store.Tx, from, n int) ([]Message, error) {
			evs := make([]Event, n)
			for i := range evs {
				seq := from + i + 1
				evs[i] = Event{Type: TypeCreated, ItemID: "item" + strconv.Itoa(seq), ParentID: "root",
					Path: "/f" + strconv.Itoa(seq), Date: testDate,
					Raw: json.RawMessage(`{"id":"item` + strconv.Itoa(seq) + `","seq":` + strconv.Itoa(seq) + `}`)}
			}
			return Build(tx, meta, evs, time.Now())
		},
		Notify: d.Notify}.Run(runErr)
	if err != nil {
		return err
	}
	cancel()
	return <-runErr
}

// crashDelivery is one request the receiver answered with 204.
type crashDelivery struct {
	msgID  string
	body   []byte
	events []crashEvent
}

type crashEvent struct {
	id  string
	seq int
}

func TestCrash_KillDuringDelivery(t *testing.T) {
	crashtest.SkipWithoutKill(t)
	kills, total := 5, 3000
	if os.Getenv("ONEDRIVE_AGENT_LONG") == "1" {
		kills, total = 40, 40000
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d, %d kills, %d events", seed, kills, total)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	var rngMu sync.Mutex
	roll := func() int { rngMu.Lock(); defer rngMu.Unlock(); return rng.IntN(100) }

	var mu sync.Mutex
	var got []crashDelivery
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readAll(r)
		if err != nil {
			return
		}
		switch p := roll(); {
		case p < 8:
			w.WriteHeader(http.StatusInternalServerError)
			return
		case p < 12:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case p < 14:
			time.Sleep(300 * time.Millisecond) // past the child's 200ms timeout
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		dl, err := parseCrashBody(body)
		if err != nil {
			t.Errorf("undecodable body: %v: %s", err, body)
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		mu.Lock()
		got = append(got, dl)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	path := filepath.Join(t.TempDir(), "agent.db")
	child := crashtest.Child{Test: "TestCrashHelper", Env: []string{crashEnvHelper + "=1", crashEnvDB + "=" + path,
		crashEnvURL + "=" + srv.URL, crashEnvTotal + "=" + strconv.Itoa(total)}}
	for k := range kills {
		if !child.Kill(t, k, time.Duration(50+roll()*4)*time.Millisecond) && k < kills-1 {
			t.Logf("kill %d: the child had already finished", k)
		}
	}
	child.Finish(t, 2*time.Minute)
	written := crashtest.Committed(t, path, crashInstance, total)

	mu.Lock()
	defer mu.Unlock()
	checkCrashDeliveries(t, got, written)
}

func checkCrashDeliveries(t *testing.T, got []crashDelivery, written int) {
	t.Helper()
	type first struct {
		msgID string
		seq   int
	}
	bodies := map[string][]byte{} // message id -> body of its first delivery
	events := map[string]first{}  // event id -> first delivery
	seen := map[int]bool{}
	last, dups := 0, 0
	for _, d := range got {
		if b, ok := bodies[d.msgID]; ok {
			dups++
			if !bytes.Equal(b, d.body) {
				t.Errorf("message %s redelivered with other bytes", d.msgID)
			}
		} else {
			bodies[d.msgID] = d.body
		}
		for _, e := range d.events {
			if f, ok := events[e.id]; ok {
				if f.msgID != d.msgID || f.seq != e.seq {
					t.Errorf("event %s redelivered in message %s (seq %d), first in %s (seq %d)", e.id, d.msgID, e.seq, f.msgID, f.seq)
				}
				continue
			}
			events[e.id] = first{d.msgID, e.seq}
			if seen[e.seq] {
				t.Errorf("sequence %d delivered under two event ids", e.seq)
			}
			seen[e.seq] = true
			if e.seq <= last {
				t.Errorf("event %s (seq %d) delivered after seq %d: out of order", e.id, e.seq, last)
			}
			last = e.seq
		}
	}
	for s := 1; s <= written; s++ {
		if !seen[s] {
			t.Errorf("event seq %d was committed but never delivered", s)
			break
		}
	}
	t.Logf("%d deliveries, %d redelivered messages, %d distinct events", len(got), dups, len(events))
}

func parseCrashBody(body []byte) (crashDelivery, error) {
	var b struct {
		Message struct {
			EventID string `json:"eventId"`
			Raw     struct {
				Changes []struct {
					Seq int `json:"seq"`
				} `json:"changes"`
			} `json:"raw"`
			Events []struct {
				EventID string `json:"eventId"`
			} `json:"events"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return crashDelivery{}, err
	}
	if len(b.Message.Events) != len(b.Message.Raw.Changes) || b.Message.EventID == "" {
		return crashDelivery{}, fmt.Errorf("%d events, %d raw items", len(b.Message.Events), len(b.Message.Raw.Changes))
	}
	d := crashDelivery{msgID: b.Message.EventID, body: body}
	for i, e := range b.Message.Events {
		d.events = append(d.events, crashEvent{id: e.EventID, seq: b.Message.Raw.Changes[i].Seq})
	}
	return d, nil
}

func readAll(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}
