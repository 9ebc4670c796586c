package instore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
)

// startKafka starts an in-process Kafka cluster of three brokers with the
// topic crashTopic (eight partitions), closed when tb ends.
func startKafka(tb testing.TB) *kfake.Cluster {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(8, crashTopic))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// startJetStream starts an in-process NATS server with JetStream and
// returns its address (host:port) and a JetStream client of it; both end
// when tb does.
func startJetStream(tb testing.TB, opts ...jetstream.JetStreamOpt) (addr string, js jetstream.JetStream) {
	tb.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: tb.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	tb.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats not ready")
	}
	nc, err := natsio.Connect(ns.ClientURL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err = jetstream.New(nc, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimPrefix(ns.ClientURL(), "nats://"), js
}
