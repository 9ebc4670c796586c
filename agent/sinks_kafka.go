//go:build !nokafka

package agent

import (
	"crypto/tls"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/kafka"
)

// newKafkaSender builds the Kafka sink of ic (tc nil: plaintext).
func newKafkaSender(ic config.Instance, tc *tls.Config, version string) (deliver.Sender, string, error) {
	cb := ic.Callback
	s, err := kafka.New(kafka.Config{Instance: ic.Name, Brokers: cb.Servers, Topic: cb.Topic, Username: cb.Username,
		Password: cb.Password, SASL: cb.SASL, TLS: tc, Timeout: cb.Timeout, Version: version})
	return s, config.SinkKafka, err
}
