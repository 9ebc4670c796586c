package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/sinktest"
)

const topic = "onedrive"

// newCluster starts an in-process Kafka cluster of three brokers with the
// topic (four partitions).
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(4, topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newSender(t testing.TB, brokers []string, change func(*Config)) *Sender {
	t.Helper()
	return sinktest.NewSender(t, New, Config{Instance: "finance", Brokers: brokers, Topic: topic, Timeout: 5 * time.Second}, change)
}

// consume reads every record of the topic until n records were read.
func consume(t testing.TB, brokers []string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records of %d", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestSender_Delivers(t *testing.T) {
	c := newCluster(t)
	q := &sinktest.Queue{}
	msgs := sinktest.Messages(30, 7, 5)
	q.Add(msgs...)
	sinktest.Run(t, sinktest.NewLoop("kafka", q, newSender(t, c.ListenAddrs(), nil)))
	sinktest.Eventually(t, 20*time.Second, "the queue to drain", func() bool { return q.Len() == 0 })

	want := sinktest.EventsByID(t, msgs)
	recs := consume(t, c.ListenAddrs(), len(want))
	var got []sinktest.Decoded
	for _, r := range recs {
		d := sinktest.Decode(t, r.Value)
		e, ok := want[d.EventID]
		if !ok {
			t.Fatalf("unexpected event %s", d.EventID)
		}
		if string(r.Value) != string(e.Data) || string(r.Key) != e.ObjectID || header(r, "eventId") != e.ID ||
			header(r, "eventType") != e.Type || header(r, "instanceName") != "finance" {
			t.Errorf("record %s: key %q headers %v value %s", e.ID, r.Key, r.Headers, r.Value)
		}
		got = append(got, d)
	}
	sinktest.CheckOrder(t, got, len(want))
}

func TestSender_LeaderMoves(t *testing.T) {
	c := newCluster(t)
	q := &sinktest.Queue{}
	q.Add(sinktest.Messages(200, 10, 13)...)
	sinktest.Run(t, sinktest.NewLoop("kafka", q, newSender(t, c.ListenAddrs(), nil)))
	for q.Len() > 0 {
		c.ShufflePartitionLeaders()
		time.Sleep(20 * time.Millisecond)
	}
	var got []sinktest.Decoded
	for _, r := range consume(t, c.ListenAddrs(), 2000) {
		got = append(got, sinktest.Decode(t, r.Value))
	}
	sinktest.CheckOrder(t, got, 2000)
}

func TestSender_Outcomes(t *testing.T) {
	c := newCluster(t)
	one := sinktest.Messages(1, 3, 3)[0]
	ctx := context.Background()

	t.Run("missing topic: rejected with the broker's reason", func(t *testing.T) {
		// franz-go asks for the topic's metadata a few times before it gives up; on a
		// loaded machine that takes longer than the 5 s the other tests wait.
		s := newSender(t, c.ListenAddrs(), func(c *Config) { c.Topic, c.Timeout = "nope", 30*time.Second })
		r := s.Send(ctx, &one)
		if r.Outcome != deliver.Reject || !strings.Contains(r.Err.Error(), "UNKNOWN_TOPIC_OR_PARTITION") {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
		if err := s.Probe(ctx); err == nil || !strings.Contains(err.Error(), "UNKNOWN_TOPIC_OR_PARTITION") {
			t.Errorf("Probe: %v", err)
		}
	})
	t.Run("existing topic: probe passes", func(t *testing.T) {
		if err := newSender(t, c.ListenAddrs(), nil).Probe(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("record too large: rejected", func(t *testing.T) {
		big := sinktest.Message("big", sinktest.Event{ID: "e-big", Type: "CREATED", ObjectID: "x",
			Raw: `{"id":"x","pad":"` + strings.Repeat("a", 2<<20) + `"}`})
		r := newSender(t, c.ListenAddrs(), nil).Send(ctx, &big)
		if r.Outcome != deliver.Reject || !strings.Contains(r.Err.Error(), "MESSAGE_TOO_LARGE") {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
	})
	t.Run("broker down: retried with the error", func(t *testing.T) {
		s := newSender(t, []string{"127.0.0.1:1"}, func(c *Config) { c.Timeout = 300 * time.Millisecond })
		r := s.Send(ctx, &one)
		if r.Outcome != deliver.Retry || r.Err == nil {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
		if err := s.Probe(ctx); err == nil {
			t.Error("Probe passed without a broker")
		}
	})
	t.Run("unreadable body: rejected", func(t *testing.T) {
		r := newSender(t, c.ListenAddrs(), nil).Send(ctx, &deliver.Message{ID: "x", Body: []byte("{")})
		if r.Outcome != deliver.Reject {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
	})
}

func TestSender_SASL(t *testing.T) {
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			kmech := map[string]string{"plain": "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512"}[mech]
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(kmech, "agent", "s3cret"))
			ok := newSender(t, c.ListenAddrs(), func(c *Config) { c.Username, c.Password, c.SASL = "agent", "s3cret", mech })
			if err := ok.Probe(context.Background()); err != nil {
				t.Errorf("right password: %v", err)
			}
			bad := newSender(t, c.ListenAddrs(), func(c *Config) {
				c.Username, c.Password, c.SASL, c.Timeout = "agent", "wrong", mech, 500*time.Millisecond
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := bad.Probe(ctx); err == nil {
				t.Error("wrong password: probe passed")
			}
			// A refused sign-in is retried, not dead-lettered: the password
			// may be fixed while the agent runs.
			one := sinktest.Messages(1, 1, 1)[0]
			if r := bad.Send(context.Background(), &one); r.Outcome != deliver.Retry || r.Err == nil {
				t.Errorf("wrong password: got %v: %v", r.Outcome, r.Err)
			}
		})
	}
}

// TestSender_AuthorizationRefused: a user the topic refuses writes to gets
// its message rejected with the broker's reason.
func TestSender_AuthorizationRefused(t *testing.T) {
	c := newCluster(t, kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser("PLAIN", "admin", "pw"),
		kfake.User("PLAIN", "reader", "pw", kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: topic,
			Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationDescribe, Allow: true},
			kfake.ACL{Resource: kmsg.ACLResourceTypeCluster, Name: "kafka-cluster",
				Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationIdempotentWrite, Allow: true}))
	s := newSender(t, c.ListenAddrs(), func(c *Config) { c.Username, c.Password, c.SASL = "reader", "pw", "plain" })
	one := sinktest.Messages(1, 2, 2)[0]
	r := s.Send(context.Background(), &one)
	if r.Outcome != deliver.Reject || !strings.Contains(r.Err.Error(), "AUTHORIZATION_FAILED") {
		t.Errorf("got %v: %v", r.Outcome, r.Err)
	}
}

// TestSender_ReplayAfterTheTopicIsCreated: without the topic the messages go
// to the dead letters with the broker's reason; once the topic exists, a
// replay delivers them, in order.
func TestSender_ReplayAfterTheTopicIsCreated(t *testing.T) {
	c := newCluster(t)
	q := &sinktest.Queue{}
	q.Add(sinktest.Messages(3, 4, 5)...)
	loop := sinktest.NewLoop("kafka", q, newSender(t, c.ListenAddrs(), func(c *Config) { c.Topic = "later" }))
	sinktest.Run(t, loop)
	sinktest.Eventually(t, 20*time.Second, "three dead letters", func() bool { d, _ := q.DeadLetters(); return len(d) == 3 })
	if _, reasons := q.DeadLetters(); !strings.Contains(reasons[0], "UNKNOWN_TOPIC_OR_PARTITION") {
		t.Errorf("reason %q", reasons[0])
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "later", 2, 1
	req.Topics = append(req.Topics, rt)
	if _, err := req.RequestWith(context.Background(), admin); err != nil {
		t.Fatal(err)
	}
	q.Replay()
	loop.Notify()
	sinktest.Eventually(t, 20*time.Second, "the replay", func() bool { return q.Len() == 0 })
	if d, _ := q.DeadLetters(); len(d) != 0 {
		t.Fatalf("%d dead letters after the replay", len(d))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("later"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []sinktest.Decoded
	for len(got) < 12 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, sinktest.Decode(t, r.Value)) })
	}
	sinktest.CheckOrder(t, got, 12)
}
