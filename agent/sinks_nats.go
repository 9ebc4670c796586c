//go:build !nonats

package agent

import (
	"crypto/tls"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/nats"
)

// newNATSSender builds the NATS JetStream sink of ic (tc nil: plaintext).
func newNATSSender(ic config.Instance, tc *tls.Config, version string) (deliver.Sender, string, error) {
	cb := ic.Callback
	s, err := nats.New(nats.Config{Instance: ic.Name, Servers: cb.Servers, Subject: cb.Topic, Username: cb.Username,
		Password: cb.Password, TLS: tc, Timeout: cb.Timeout, Version: version})
	return s, config.SinkNATS, err
}
