package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParse_Sinks(t *testing.T) {
	with := func(url, extra string) string {
		return strings.Replace(minimal, `url = "https://hook.example/x"`, "url = \""+url+"\"\n"+extra, 1)
	}
	t.Run("valid", func(t *testing.T) {
		for _, tc := range []struct {
			name, toml                string
			sink, topic, format, sasl string
			servers                   []string
			maxEvents                 int
			user, password            string
			tls                       bool
		}{
			{"https", minimal, SinkWebhook, "", FormatOpenCon, "", nil, 10, "", "", false},
			{"cloudevents", with("https://h.example/x", `format = "cloudevents"`), SinkWebhook, "", FormatCloudEvents, "", nil, 1, "", "", false},
			{"cloudevents-binary, max_events 1", with("https://h.example/x", "format = \"cloudevents-binary\"\nmax_events = 1"), SinkWebhook, "", FormatCloudEventsBinary, "", nil, 1, "", "", false},
			{"kafka, two brokers", with("kafka://k1:9092,k2.example:9093/onedrive.events", ""), SinkKafka, "onedrive.events", "", "", []string{"k1:9092", "k2.example:9093"}, 10, "", "", false},
			{"kafka scram tls", with("kafka://[::1]:9092/t", "username = \"u\"\npassword = \"${PW}\"\nsasl = \"scram-sha-512\"\ntls = true"), SinkKafka, "t", "", SASLScram512, []string{"[::1]:9092"}, 10, "u", "pw", true},
			{"kafka user means plain", with("kafka://k:9092/t", "username = \"u\"\npassword = \"p\""), SinkKafka, "t", "", SASLPlain, []string{"k:9092"}, 10, "u", "p", false},
			{"nats", with("nats://n1:4222,n2:4222/onedrive.finance", "username = \"u\"\npassword = \"p\"\ntls = true"), SinkNATS, "onedrive.finance", "", "", []string{"n1:4222", "n2:4222"}, 10, "u", "p", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := mustParse(t, "agent.toml", tc.toml, map[string]string{"PW": "pw"}).Instances[0].Callback
				if c.Sink != tc.sink || c.Topic != tc.topic || c.Format != tc.format || c.SASL != tc.sasl ||
					!slices.Equal(c.Servers, tc.servers) || c.MaxEvents != tc.maxEvents || c.Username != tc.user ||
					c.Password != tc.password || c.TLS != tc.tls {
					t.Errorf("got %+v", c)
				}
			})
		}
	})
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct{ name, toml, msg string }{
			{"scheme", with("ftp://h/x", ""), "scheme must be http, https, kafka or nats"},
			{"no port", with("kafka://k1/t", ""), `"k1" is not host:port`},
			{"bad second host", with("kafka://k1:9092,:9/t", ""), `":9" is not host:port`},
			{"no topic", with("kafka://k1:9092", ""), "is not a valid kafka topic"},
			{"bad topic", with("kafka://k1:9092/a b", ""), "is not a valid kafka topic"},
			{"wildcard subject", with("nats://n:4222/a.*", ""), "is not a valid nats subject"},
			{"user in url", with("nats://u:p@n:4222/a", ""), "no user, query or fragment"},
			{"signature_key with kafka", with("kafka://k:9092/t", `signature_key = "x"`), "signature_key: applies to http(s) callbacks only"},
			{"webhook_secret with nats", with("nats://n:4222/s", `webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`), "webhook_secret: applies to http(s) callbacks only"},
			{"headers with kafka", with("kafka://k:9092/t", `headers = { X-A = "b" }`), "headers: applies to http(s) callbacks only"},
			{"format with nats", with("nats://n:4222/s", `format = "opencon"`), "format: applies to http(s) callbacks only"},
			{"bad format", with("https://h/x", `format = "json"`), "must be opencon, cloudevents or cloudevents-binary"},
			{"cloudevents max_events", with("https://h/x", "format = \"cloudevents\"\nmax_events = 10"), "must be 1 (or unset)"},
			{"username with https", with("https://h/x", `username = "u"`), "username: applies to kafka:// and nats://"},
			{"sasl with nats", with("nats://n:4222/s", "username = \"u\"\npassword = \"p\"\nsasl = \"plain\""), "sasl: applies to kafka:// URLs only"},
			{"bad sasl", with("kafka://k:9092/t", "username = \"u\"\npassword = \"p\"\nsasl = \"gssapi\""), "must be plain, scram-sha-256 or scram-sha-512"},
			{"password missing", with("kafka://k:9092/t", `username = "u"`), "required with username"},
			{"ca_file without tls", with("kafka://k:9092/t", `ca_file = "`+caPath+`"`), "set tls = true"},
			{"username missing", with("nats://n:4222/s", `password = "p"`), "required with password"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := Parse("agent.toml", []byte(tc.toml), envOf(nil))
				if err == nil || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %v, want one containing %q", err, tc.msg)
				}
			})
		}
	})
}
