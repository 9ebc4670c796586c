package config_test

import (
	"encoding/base64"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/sink/webhook"
)

// TestWebhookSecret_CheckAndRunAgree: every webhook_secret the configuration
// accepts (what `check` reports as OK) is one the dispatcher `run` builds
// accepts too, with the same key; every one it refuses, the signer refuses.
func TestWebhookSecret_CheckAndRunAgree(t *testing.T) {
	for _, secret := range []string{
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",   // 24 bytes, no padding needed
		"whsec_c2VjcmV0LWtleQ==",                   // padded
		"whsec_c2VjcmV0LWtleQ",                     // the same key, padding dropped
		"whsec_c2VjcmV0LWtleTE",                    // unpadded, one "=" missing
		"whsec_c2VjcmV0LWtleTE=",                   // padded
		"whsec_",                                   // empty key
		"whsec_not base64!",                        // not base64
		"whsec_c2VjcmV0LWtleQ=",                    // wrong padding
		"whsec_-_-_",                               // URL alphabet
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",         // no prefix: config refuses
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAA", // 30 bytes
	} {
		doc := "[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = \"id\"\n" +
			"[instance.callback]\nurl = \"https://hook.example/x\"\nwebhook_secret = \"" + secret + "\"\n"
		cfg, cerr := config.Parse("agent.toml", []byte(doc), func(string) (string, bool) { return "", false })
		_, serr := webhook.NewSigner("", secret)
		if cerr == nil && serr != nil {
			t.Errorf("%q: check accepts it, run refuses it: %v", secret, serr)
			continue
		}
		if cerr != nil {
			continue // refused up front: run never sees it
		}
		key := cfg.Instances[0].Callback.WebhookKey
		s, _ := webhook.NewSigner("", secret)
		want, _ := webhook.NewSigner("", "whsec_"+base64.StdEncoding.EncodeToString(key))
		got, _ := s.StandardSignature("msg_1", 1, []byte("{}"))
		exp, _ := want.StandardSignature("msg_1", 1, []byte("{}"))
		if got != exp {
			t.Errorf("%q: the signer's key differs from the configuration's", secret)
		}
	}
}
