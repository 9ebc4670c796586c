package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"

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
