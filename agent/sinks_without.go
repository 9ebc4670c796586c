//go:build nokafka || nonats

package agent

import (
	"errors"
	"fmt"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

// ErrSinkNotBuilt reports a callback URL whose sink this binary was built
// without (go build -tags nokafka or nonats, for a smaller binary).
var ErrSinkNotBuilt = errors.New("this binary was built without the sink")

func sinkNotBuilt(ic config.Instance) error {
	return fmt.Errorf("instance %s: %s://: %w (built with -tags no%s)", ic.Name, ic.Callback.Sink, ErrSinkNotBuilt, ic.Callback.Sink)
}
