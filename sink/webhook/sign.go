package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Header names of a callback request. Standard Webhooks names are lower-case
// as in that specification; they are written to the wire as given.
const (
	HeaderWebhookID         = "Elements-Webhook-Id"
	HeaderElementsSignature = "Elements-Webhook-Signature"
	HeaderStandardID        = "webhook-id"
	HeaderStandardTimestamp = "webhook-timestamp"
	HeaderStandardSignature = "webhook-signature"
	webhookSecretPrefix     = "whsec_"
	elementsSignaturePrefix = "sha256="
	standardSignaturePrefix = "v1,"
)

// Signer computes the signature headers of a callback. The zero Signer signs
// nothing. It never exposes its keys in errors or strings.
type Signer struct {
	signatureKey  []byte // Open Connectors signature key, as configured
	webhookSecret []byte // Standard Webhooks secret, base64-decoded
}

// ErrWebhookSecret reports a webhook_secret that is not "whsec_" followed by
// standard base64 (padded or not) of at least one byte. Its text never
// contains the secret.
var ErrWebhookSecret = errors.New(`webhook_secret must be "whsec_" followed by base64 (standard alphabet) of the key`)

// NewSigner returns a Signer for the configured keys; either may be empty.
// signatureKey is used as is (Open Connectors' "event.notification.signature.key");
// webhookSecret is "whsec_<base64>" as Standard Webhooks defines it (the
// prefix may be omitted); the base64 may be padded or not, exactly what the
// configuration accepts, so a secret `check` passes never stops `run`.
func NewSigner(signatureKey, webhookSecret string) (Signer, error) {
	var s Signer
	if signatureKey != "" {
		s.signatureKey = []byte(signatureKey)
	}
	if webhookSecret != "" {
		rest := strings.TrimPrefix(webhookSecret, webhookSecretPrefix)
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			key, err = base64.RawStdEncoding.DecodeString(rest)
		}
		if err != nil || len(key) == 0 {
			return Signer{}, ErrWebhookSecret
		}
		s.webhookSecret = key
	}
	return s, nil
}

// ElementsSignature returns the Elements-Webhook-Signature value for body,
// "sha256=" + base64(HMAC-SHA256(signature key, body)), and false when no
// signature key is configured.
func (s Signer) ElementsSignature(body []byte) (string, bool) {
	if s.signatureKey == nil {
		return "", false
	}
	m := hmac.New(sha256.New, s.signatureKey)
	m.Write(body)
	return elementsSignaturePrefix + base64.StdEncoding.EncodeToString(m.Sum(nil)), true
}

// StandardSignature returns the webhook-signature value for a message id,
// the attempt's unix timestamp and body: "v1," + base64(HMAC-SHA256(secret,
// id + "." + timestamp + "." + body)), and false when no webhook secret is
// configured.
func (s Signer) StandardSignature(id string, timestamp int64, body []byte) (string, bool) {
	if s.webhookSecret == nil {
		return "", false
	}
	m := hmac.New(sha256.New, s.webhookSecret)
	var ts [20]byte
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return standardSignaturePrefix + base64.StdEncoding.EncodeToString(m.Sum(nil)), true
}
