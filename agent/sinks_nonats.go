//go:build nonats

package agent

import (
	"crypto/tls"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
)

func newNATSSender(ic config.Instance, _ *tls.Config, _ string) (deliver.Sender, string, error) {
	return nil, "", sinkNotBuilt(ic)
}
