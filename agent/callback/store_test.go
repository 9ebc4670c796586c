package callback

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// openTestStore opens a store in a temp dir with one instance.
func openTestStore(t testing.TB, dir string, noSync bool) (*store.DB, store.Instance) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{NoSync: noSync})
	if err != nil {
		t.Fatal(err)
	}
	in, err := db.EnsureInstance("inst")
	if err != nil {
		t.Fatal(err)
	}
	return db, in
}

// enqueue records n events, per per message, in one transaction, as the
// poller does, and returns the messages with their keys.
func enqueue(t testing.TB, db *store.DB, in store.Instance, n, per int) []Message {
	t.Helper()
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Type: TypeUpdated, ItemID: "I", ParentID: "P", Path: "/a/b.txt", Changes: []string{"content"},
			Date: testDate, Raw: json.RawMessage(`{"id":"I","name":"b.txt","size":1}`)}
	}
	var msgs []Message
	err := db.Update(in.Name, func(tx *store.Tx) error {
		var err error
		msgs, err = Build(tx, Meta{DBID: db.ID(), InstanceID: in.ID, Name: in.Name, MaxEvents: per}, evs, time.Now())
		if err != nil {
			return err
		}
		return tx.Enqueue(msgs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestStoreQueue_Delivers(t *testing.T) {
	db, in := openTestStore(t, t.TempDir(), true)
	defer db.Close()
	msgs := enqueue(t, db, in, 95, 10)
	rc := newReceiver(t, func(_ received, n int) (int, map[string]string) {
		if n == 3 {
			return 503, nil
		}
		return 204, nil
	})
	d := newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, nil)
	running(t, d)
	eventually(t, "queue drained", func() bool { s, _ := db.Stats(in.Name); return s.QueuedMessages == 0 })
	var got []string
	for _, r := range rc.requests() {
		if len(got) == 0 || got[len(got)-1] != r.id {
			got = append(got, r.id)
		}
	}
	if !slices.Equal(got, ids(msgs)) {
		t.Errorf("delivered %v\nwant %v", got, ids(msgs))
	}
	for i, r := range rc.requests()[3:] {
		if string(r.body) != string(msgs[i+2].Body) {
			t.Errorf("request %d body differs from the queued bytes", i+3)
		}
	}
	st, err := db.State(in.Name)
	if err != nil || st.LastDeliveryError != "" {
		t.Errorf("state %+v, %v: want the error cleared after recovery", st, err)
	}
}

func TestStoreQueue_StateError(t *testing.T) {
	db, in := openTestStore(t, t.TempDir(), true)
	defer db.Close()
	enqueue(t, db, in, 1, 1)
	rc := newReceiver(t, func(received, int) (int, map[string]string) { return 502, nil })
	d := newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, func(c *Config) { c.RetryInitial, c.RetryMax = time.Hour, time.Hour })
	running(t, d)
	eventually(t, "state error", func() bool { st, _ := db.State(in.Name); return strings.Contains(st.LastDeliveryError, "502") })
	m, _ := db.Peek(in.Name, 1)
	if m[0].Attempts != 1 || !strings.Contains(m[0].LastError, "502") {
		t.Errorf("queued message %+v", m[0])
	}
}

func TestStoreQueue_Split(t *testing.T) {
	db, in := openTestStore(t, t.TempDir(), true)
	defer db.Close()
	msgs := enqueue(t, db, in, 11, 10)
	rc := newReceiver(t, func(r received, _ int) (int, map[string]string) {
		if len(r.events) > 1 {
			return 413, nil
		}
		return 200, nil
	})
	running(t, newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, nil))
	eventually(t, "queue drained", func() bool { s, _ := db.Stats(in.Name); return s.QueuedMessages == 0 })
	var events, partIDs []string
	for _, r := range rc.requests() {
		if len(r.events) == 1 {
			events = append(events, r.events...)
			partIDs = append(partIDs, r.id)
		}
	}
	var want []string
	for _, m := range msgs {
		var w wireBody
		_ = json.Unmarshal(m.Body, &w)
		for _, e := range w.Message.Events {
			var ev struct{ EventID string }
			_ = json.Unmarshal(e, &ev)
			want = append(want, ev.EventID)
		}
	}
	if !slices.Equal(events, want) {
		t.Errorf("events in order %v\nwant %v", events, want)
	}
	if !strings.HasPrefix(partIDs[0], msgs[0].ID+".1.") || partIDs[10] != msgs[1].ID {
		t.Errorf("message ids %v", partIDs)
	}
}

func TestStoreQueue_ReplayOrder(t *testing.T) {
	db, in := openTestStore(t, t.TempDir(), true)
	defer db.Close()
	msgs := enqueue(t, db, in, 3, 1)
	rc := newReceiver(t, func(received, int) (int, map[string]string) { return 422, nil })
	d := newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, func(c *Config) { c.RetryInitial, c.RetryMax = time.Hour, time.Hour })
	running(t, d)
	eventually(t, "three dead letters", func() bool { s, _ := db.Stats(in.Name); return s.DeadMessages == 3 })

	rc.setRespond(func(received, int) (int, map[string]string) { return 503, nil })
	msgs = append(msgs, enqueue(t, db, in, 3, 1)...)
	d.Notify()
	eventually(t, "a failed attempt", func() bool { m, _ := db.Peek(in.Name, 1); return len(m) > 0 && m[0].Attempts > 0 })
	mark := len(rc.requests())

	rc.setRespond(nil)
	if n, err := db.Replay(in.Name); n != 3 || err != nil {
		t.Fatalf("Replay = %d, %v", n, err)
	}
	d.Notify()
	eventually(t, "queue drained", func() bool { s, _ := db.Stats(in.Name); return s.QueuedMessages == 0 })
	var got []string
	for _, r := range rc.requests()[mark:] {
		got = append(got, r.id)
	}
	if !slices.Equal(got, ids(msgs)) {
		t.Errorf("after replay %v\nwant %v", got, ids(msgs))
	}
}

// TestStoreQueue_RestartKeepsAttempts reopens the database between two
// dispatchers: the second continues from the persisted attempt count and
// next attempt time.
func TestStoreQueue_RestartKeepsAttempts(t *testing.T) {
	dir := t.TempDir()
	db, in := openTestStore(t, dir, false)
	enqueue(t, db, in, 1, 1)
	rc := newReceiver(t, func(received, int) (int, map[string]string) { return 500, nil })
	cfg := func(c *Config) { c.RetryInitial, c.RetryMax = time.Second, time.Hour }
	d1 := newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, cfg)
	d1.timer = (&fastTimer{}).timer
	stop := running(t, d1)
	eventually(t, "four attempts", func() bool { m, _ := db.Peek(in.Name, 1); return m[0].Attempts >= 4 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, in = openTestStore(t, dir, false)
	defer db.Close()
	before, _ := db.Peek(in.Name, 1)
	d2 := newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, cfg)
	ft := &fastTimer{}
	d2.timer = ft.timer
	running(t, d2)
	eventually(t, "one more attempt", func() bool { m, _ := db.Peek(in.Name, 1); return m[0].Attempts > before[0].Attempts })
	waits := ft.recorded()
	remaining := time.Until(before[0].NextAttempt)
	if len(waits) == 0 || waits[0] < remaining-time.Second || waits[0] > remaining+time.Second {
		t.Errorf("first wait %v, want the persisted remaining %v", waits, remaining)
	}
	after, _ := db.Peek(in.Name, 1)
	n := after[0].Attempts
	base := min(time.Second<<(n-1), time.Hour)
	if got := time.Until(after[0].NextAttempt); got < base/2-time.Second || got > base*3/2 {
		t.Errorf("after attempt %d next in %v, want about %v", n, got, base)
	}
}

func TestStoreQueue_ShutdownCommitsAcks(t *testing.T) {
	db, in := openTestStore(t, t.TempDir(), true)
	defer db.Close()
	enqueue(t, db, in, 50, 1)
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	rc := newReceiver(t, func(_ received, n int) (int, map[string]string) {
		if n == 20 {
			started <- struct{}{}
			<-release
		}
		return 204, nil
	})
	// A long ack interval would keep the 19 first acks in memory; shutdown must commit them.
	d := newTestDispatcher(t, StoreQueue(db, in.Name), rc.URL, func(c *Config) { c.Grace = 5 * time.Second })
	stop := running(t, d)
	<-started
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s, _ := db.Stats(in.Name)
	if s.QueuedMessages != 30 {
		t.Errorf("%d queued after shutdown, want 30 (20 delivered and acked)", s.QueuedMessages)
	}
}
