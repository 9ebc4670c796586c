package instore_test

// The broker crash test: a child process (this test binary re-executed)
// records events in a real store, as rounds do, and delivers them through
// the delivery loop to a Kafka cluster (kfake) or a NATS JetStream server
// running in this process; the parent kills the child with SIGKILL at
// random moments, restarts it, lets it drain, and then reads the topic or
// stream: every event is there, JetStream holds each eventId once, Kafka
// duplicates carry the same id and bytes, and the events of each item are
// in recording order.
//
// Default: 8 kills during 5,000 events. Long run, 40 kills, 40,000 events:
//
//	ONEDRIVE_AGENT_LONG=1 go test ./agent/instore -run TestCrash -v -timeout 30m

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onedrive-agent/onedrive-agent/agent/callback"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/agent/instore"
	"github.com/onedrive-agent/onedrive-agent/internal/crashtest"
	"github.com/onedrive-agent/onedrive-agent/sink/kafka"
	"github.com/onedrive-agent/onedrive-agent/sink/nats"
	"github.com/onedrive-agent/onedrive-agent/store"
)

const (
	envHelper   = "INSTORE_CRASH_HELPER"
	envDB       = "INSTORE_CRASH_DB"
	envSink     = "INSTORE_CRASH_SINK"
	envAddr     = "INSTORE_CRASH_ADDR"
	envTotal    = "INSTORE_CRASH_TOTAL"
	crashPage   = 50 // events per transaction
	crashItems  = 37 // events cycle over this many items
	crashName   = "crash"
	crashTopic  = "onedrive"
	crashStream = "ONEDRIVE"
)

// TestCrashHelper is the child process; it does nothing in a normal run.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("helper process for TestCrash_*")
	}
	total, _ := strconv.Atoi(os.Getenv(envTotal))
	if err := crashChild(os.Getenv(envDB), os.Getenv(envSink), os.Getenv(envAddr), total); err != nil {
		crashtest.Fail(err)
	}
}

func newSender(sink, addr string) (deliver.Sender, func(), error) {
	if sink == "kafka" {
		s, err := kafka.New(kafka.Config{Instance: crashName, Brokers: strings.Split(addr, ","), Topic: crashTopic, Timeout: 2 * time.Second})
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	s, err := nats.New(nats.Config{Instance: crashName, Servers: []string{addr}, Subject: "onedrive.crash", Timeout: 2 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// crashChild records events until total are committed (the delta cursor
// holds "written up to" in the same transaction as the messages) and
// delivers until the queue is empty.
func crashChild(path, sink, addr string, total int) error {
	db, err := store.Open(path, store.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := db.EnsureInstance(crashName)
	if err != nil {
		return err
	}
	h := instore.New(db, crashName, nil)
	s, closeSender, err := newSender(sink, addr)
	if err != nil {
		return err
	}
	defer closeSender()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	loop := deliver.New(deliver.Config{Instance: crashName, Sink: sink, RetryInitial: 5 * time.Millisecond,
		RetryMax: 50 * time.Millisecond}, h, s, log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- loop.Run(ctx) }()

	meta := callback.Meta{DBID: db.ID(), InstanceID: info.ID, Name: crashName, MaxEvents: 10}
	err = crashtest.Writer{DB: db, Instance: crashName, Total: total, Page: crashPage, Pace: 10 * time.Millisecond,
		// Through the handle, as rounds write.
		Update: func(fn func(*store.Tx) error) error {
			return h.Update(func(tx delta.Tx) error { return fn(tx.(*instore.Tx).Tx) })
		},
		Build: func(tx *store.Tx, from, n int) ([]store.Message, error) {
			evs := make([]delta.Event, n)
			for i := range evs {
				seq := from + i + 1
				item := "item" + strconv.Itoa(seq%crashItems)
				evs[i] = delta.Event{Type: delta.Updated, ItemID: item, ParentID: "root", Path: "/" + item,
					Changes: []string{"content"}, Date: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
					Raw: json.RawMessage(`{"id":"` + item + `","seq":` + strconv.Itoa(seq) + `}`)}
			}
			return callback.Build(tx, meta, evs, time.Now())
		},
		Notify: loop.Notify}.Run(runErr)
	if err != nil {
		return err
	}
	cancel()
	return <-runErr
}

// received is one event as the topic or stream holds it.
type received struct {
	id, item string
	seq      int
	value    []byte
}

func decodeReceived(t *testing.T, value []byte) received {
	t.Helper()
	var v struct {
		EventID  string `json:"eventId"`
		ObjectID string `json:"objectId"`
		Raw      struct {
			Seq int `json:"seq"`
		} `json:"raw"`
	}
	if err := json.Unmarshal(value, &v); err != nil || v.EventID == "" || v.Raw.Seq == 0 {
		t.Fatalf("undecodable event (%v): %s", err, value)
	}
	return received{id: v.EventID, item: v.ObjectID, seq: v.Raw.Seq, value: value}
}

// runCrash kills the child kills times, lets it drain and returns the
// number of events the store committed.
func runCrash(t *testing.T, sink, addr string, kills, total int) int {
	crashtest.SkipWithoutKill(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d, %d kills, %d events", seed, kills, total)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	path := filepath.Join(t.TempDir(), "agent.db")
	child := crashtest.Child{Test: "TestCrashHelper", Env: []string{envHelper + "=1", envDB + "=" + path,
		envSink + "=" + sink, envAddr + "=" + addr, envTotal + "=" + strconv.Itoa(total)}}
	killed, finished := 0, 0
	for k := 0; killed < kills && k < 4*kills; k++ {
		if child.Kill(t, k, time.Duration(30+rng.IntN(170))*time.Millisecond) {
			killed++
		} else {
			finished++
		}
	}
	t.Logf("%d children killed, %d had finished before their kill", killed, finished)
	if killed < kills {
		t.Errorf("only %d kills landed, want %d", killed, kills)
	}
	child.Finish(t, 5*time.Minute)
	return crashtest.Committed(t, path, crashName, total)
}

// checkReceived checks completeness and per-item order of the first copies,
// and returns how many copies were duplicates.
func checkReceived(t *testing.T, got []received, total int) (dups int) {
	t.Helper()
	first := map[string]received{}
	lastSeq := map[string]int{}
	seqs := map[int]bool{}
	for _, r := range got {
		if f, ok := first[r.id]; ok {
			dups++
			if !bytes.Equal(f.value, r.value) {
				t.Errorf("event %s sent again with other bytes", r.id)
			}
			continue
		}
		first[r.id] = r
		if seqs[r.seq] {
			t.Errorf("seq %d under two event ids", r.seq)
		}
		seqs[r.seq] = true
		if r.seq < lastSeq[r.item] {
			t.Errorf("item %s: seq %d after %d", r.item, r.seq, lastSeq[r.item])
		}
		lastSeq[r.item] = r.seq
	}
	if len(first) != total {
		t.Errorf("%d distinct events, want %d", len(first), total)
	}
	return dups
}

func crashSize() (kills, total int) {
	if os.Getenv("ONEDRIVE_AGENT_LONG") == "1" {
		return 40, 40000
	}
	return 8, 5000
}

func TestCrash_Kafka(t *testing.T) {
	c := startKafka(t)
	kills, total := crashSize()
	written := runCrash(t, "kafka", strings.Join(c.ListenAddrs(), ","), kills, total)

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(crashTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []received
	ids := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(ids) < written && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			rc := decodeReceived(t, r.Value)
			if string(r.Key) != rc.item {
				t.Errorf("record %s: key %q", rc.id, r.Key)
			}
			for _, h := range r.Headers {
				if h.Key == "eventId" && string(h.Value) != rc.id {
					t.Errorf("record %s: eventId header %q", rc.id, h.Value)
				}
			}
			ids[rc.id] = true
			got = append(got, rc)
		})
	}
	// Read what else arrived (duplicates) for a moment.
	tctx, tcancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	cl.PollFetches(tctx).EachRecord(func(r *kgo.Record) { got = append(got, decodeReceived(t, r.Value)) })
	tcancel()
	dups := checkReceived(t, got, written)
	t.Logf("kafka: %d records for %d events (%d duplicates, same ids and bytes)", len(got), written, dups)
}

func TestCrash_NATS(t *testing.T) {
	addr, js := startJetStream(t)
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: crashStream, Subjects: []string{"onedrive.>"},
		Duplicates: time.Hour, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	kills, total := crashSize()
	written := runCrash(t, "nats", addr, kills, total)

	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []received
	count := map[string]int{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		rc := decodeReceived(t, m.Data)
		if m.Header.Get("Nats-Msg-Id") != rc.id {
			t.Errorf("message %s: Nats-Msg-Id %q", rc.id, m.Header.Get("Nats-Msg-Id"))
		}
		count[rc.id]++
		got = append(got, rc)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("event %s %d times in the stream", id, n)
		}
	}
	checkReceived(t, got, written)
	t.Logf("nats: %d messages in the stream for %d events", len(got), written)
}
