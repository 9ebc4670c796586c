package instore_test

// Backlog benchmarks: the delivery of a 20,000-event backlog from the
// store to each broker, against a bare client publishing the same records
// with the same acknowledgements (Kafka acks=all with the idempotent
// producer; JetStream PubAck for every message). The ratio bare time /
// agent time is reported; the goal is at least 0.5.
//
//	go test ./agent/instore -run '^$' -bench Backlog -benchtime 3x

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onedrive-agent/onedrive-agent/agent/callback"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/agent/delta"
	"github.com/onedrive-agent/onedrive-agent/agent/instore"
	"github.com/onedrive-agent/onedrive-agent/sink/kafka"
	"github.com/onedrive-agent/onedrive-agent/sink/nats"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
	"github.com/onedrive-agent/onedrive-agent/store"
)

const backlogEvents = 20000

// backlog fills a new store with backlogEvents events in messages of 100
// (max_events for a broker sink), as rounds record them, and returns its handle and the events as the sinks
// send them.
func backlog(b *testing.B) (*store.DB, *instore.Handle, []opencon.Event) {
	b.Helper()
	db, err := store.Open(filepath.Join(b.TempDir(), "agent.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	info, err := db.EnsureInstance(crashName)
	if err != nil {
		b.Fatal(err)
	}
	h := instore.New(db, crashName, nil)
	meta := callback.Meta{DBID: db.ID(), InstanceID: info.ID, Name: crashName, MaxEvents: config.DefaultBrokerMaxEvents}
	var events []opencon.Event
	for written := 0; written < backlogEvents; written += 1000 {
		err := h.Update(func(dtx delta.Tx) error {
			tx := dtx.(*instore.Tx)
			evs := make([]delta.Event, 1000)
			for i := range evs {
				seq := written + i + 1
				item := "item" + strconv.Itoa(seq)
				evs[i] = delta.Event{Type: delta.Created, ItemID: item, ParentID: "root", Path: "/docs/" + item + ".pdf",
					Date: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC),
					Raw:  json.RawMessage(`{"id":"` + item + `","name":"` + item + `.pdf","size":12345,"file":{"mimeType":"application/pdf"},"parentReference":{"id":"root","driveId":"b!drive"}}`)}
			}
			msgs, err := callback.Build(tx, meta, evs, time.Now())
			if err != nil {
				return err
			}
			for _, m := range msgs {
				body, err := opencon.Read(m.Body)
				if err != nil {
					return err
				}
				events = append(events, body.Events...)
			}
			return tx.Enqueue(msgs...)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return db, h, events
}

// drain runs a delivery loop over h through s until the queue is empty and
// returns how long that took.
func drain(b *testing.B, db *store.DB, h *instore.Handle, s deliver.Sender) time.Duration {
	b.Helper()
	done := make(chan struct{})
	delivered := 0
	loop := deliver.New(deliver.Config{Instance: crashName, Observer: func(a deliver.Attempt) {
		if a.Outcome != deliver.Delivered {
			b.Errorf("attempt %s: %v %s", a.Message, a.Outcome, a.Err)
		}
		if delivered += a.Events; delivered == backlogEvents {
			close(done)
		}
	}}, h, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- loop.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("backlog not delivered within 5 minutes")
	}
	took := time.Since(start)
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	if st, err := db.Stats(crashName); err != nil || st.QueuedMessages != 0 {
		b.Fatalf("queue after the drain: %+v, %v", st, err)
	}
	return took
}

func report(b *testing.B, agent, bare time.Duration) {
	b.ReportMetric(float64(b.N*backlogEvents)/agent.Seconds(), "agent-events/s")
	b.ReportMetric(float64(b.N*backlogEvents)/bare.Seconds(), "bare-events/s")
	b.ReportMetric(bare.Seconds()/agent.Seconds(), "ratio(goal>=0.5)")
}

func BenchmarkBacklog_Kafka(b *testing.B) {
	brokers := startKafka(b).ListenAddrs()
	var agentT, bareT time.Duration
	for range b.N {
		db, h, events := backlog(b)
		s, err := kafka.New(kafka.Config{Instance: crashName, Brokers: brokers, Topic: crashTopic})
		if err != nil {
			b.Fatal(err)
		}
		agentT += drain(b, db, h, s)
		s.Close()

		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(crashTopic),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, e := range events {
			cl.Produce(context.Background(), &kgo.Record{Key: []byte(e.ObjectID), Value: e.Data, Headers: []kgo.RecordHeader{
				{Key: "eventId", Value: []byte(e.ID)}, {Key: "eventType", Value: []byte(e.Type)},
				{Key: "instanceName", Value: []byte(crashName)}}}, func(_ *kgo.Record, err error) {
				if err != nil {
					b.Error(err)
				}
			})
		}
		if err := cl.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		bareT += time.Since(start)
		cl.Close()
	}
	report(b, agentT, bareT)
}

func BenchmarkBacklog_NATS(b *testing.B) {
	addr, js := startJetStream(b, jetstream.WithPublishAsyncMaxPending(2*backlogEvents))
	var agentT, bareT time.Duration
	for i := range b.N {
		// A new stream per run: the duplicate window would drop the bare run's copies.
		ctx := context.Background()
		_ = js.DeleteStream(ctx, crashStream)
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: crashStream, Subjects: []string{"onedrive.>"},
			Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage}); err != nil {
			b.Fatal(err)
		}
		db, h, events := backlog(b)
		s, err := nats.New(nats.Config{Instance: crashName, Servers: []string{addr}, Subject: "onedrive.agent"})
		if err != nil {
			b.Fatal(err)
		}
		agentT += drain(b, db, h, s)
		s.Close()

		start := time.Now()
		var futures []jetstream.PubAckFuture
		for _, e := range events {
			m := natsio.NewMsg("onedrive.bare")
			m.Data = e.Data
			m.Header.Set("eventType", e.Type)
			m.Header.Set("instanceName", crashName)
			f, err := js.PublishMsgAsync(m, jetstream.WithMsgID(e.ID+"-bare-"+strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		bareT += time.Since(start)
	}
	report(b, agentT, bareT)
}
