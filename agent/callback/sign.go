package callback

import "github.com/onedrive-agent/onedrive-agent/sink/webhook"

// Signer computes the signature headers of a callback (webhook.Signer).
type Signer = webhook.Signer

// NewSigner returns a Signer for the configured keys (webhook.NewSigner).
var NewSigner = webhook.NewSigner
