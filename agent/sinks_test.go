package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

func TestProbeSink(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "onedrive"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	natsAddr := strings.TrimPrefix(ns.ClientURL(), "nats://")
	kafkaAddr := kc.ListenAddrs()[0]
	for _, tc := range []struct {
		name, url, err string
	}{
		{"kafka topic exists", "kafka://" + kafkaAddr + "/onedrive", ""},
		{"kafka topic missing", "kafka://" + kafkaAddr + "/missing", "UNKNOWN_TOPIC_OR_PARTITION"},
		{"nats without a stream", "nats://" + natsAddr + "/onedrive.x", "no stream"},
		{"https is not probed", "https://hook.example/x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("agent.toml", []byte(`[[instance]]
name = "a"
[instance.auth]
client_id = "id"
[instance.callback]
url = "`+tc.url+`"
`), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = ProbeSink(ctx, cfg.Instances[0], "test")
			if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("ProbeSink = %v, want %q", err, tc.err)
			}
		})
	}
}

// TestAgent_KafkaSink runs the agent with a kafka:// callback: a change on
// the drive becomes a record in the topic, and the deliveries metric
// carries sink="kafka".
func TestAgent_KafkaSink(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "onedrive"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	e := newTestEnv(t)
	cb := &e.cfg.Instances[0].Callback
	cb.URL, cb.Sink, cb.Servers, cb.Topic = "kafka://"+kc.ListenAddrs()[0]+"/onedrive", config.SinkKafka, kc.ListenAddrs(), "onedrive"
	a, c, ctx, stop := e.runWithAdmin(t, Options{})
	defer stop()
	e.graph.CreateFile(e.graph.Root(), "k.txt", []byte("k"))
	if _, err := c.Poll(ctx, "finance"); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics("onedrive"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	var recs []*kgo.Record
	for len(recs) == 0 && pctx.Err() == nil {
		recs = append(recs, cl.PollFetches(pctx).Records()...)
	}
	if len(recs) != 1 || !strings.Contains(string(recs[0].Value), `"path":"/k.txt"`) || !strings.Contains(string(recs[0].Value), `"raw":{`) {
		t.Fatalf("records %v", recs)
	}
	waitFor(t, 5*time.Second, "an empty queue", func() bool {
		s, err := c.Status(ctx)
		return err == nil && s.Instances[0].QueuedEvents == 0 && s.Instances[0].Sink == "kafka"
	})
	steps, err := a.Check(ctx, "finance")
	if err != nil || len(steps) == 0 || steps[len(steps)-1].Step != CheckCallback || !steps[len(steps)-1].OK ||
		!strings.Contains(steps[len(steps)-1].Detail, "topic found") {
		t.Errorf("check: %+v, %v", steps, err)
	}
	_, _, body := doReq(t, "GET", c.BaseURL+"/metrics", "")
	if !strings.Contains(body, `onedrive_agent_deliveries_total{instance="finance",outcome="delivered",sink="kafka"} 1`) {
		t.Errorf("metrics:\n%s", grepLines(body, "deliveries_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
