//go:build nokafka

package agent

import (
	"crypto/tls"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
)

func newKafkaSender(ic config.Instance, _ *tls.Config, _ string) (deliver.Sender, string, error) {
	return nil, "", sinkNotBuilt(ic)
}
