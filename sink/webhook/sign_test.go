package webhook

import (
	"errors"
	"strings"
	"testing"
)

func TestSigner_ElementsSignature(t *testing.T) {
	// Expected value computed independently:
	//   printf '%s' '{"message":{"eventId":"x"}}' | openssl dgst -sha256 -hmac 'oc-signature-key' -binary | base64
	const want = "sha256=U7oUxV7pxK7Q+vHIxQJlcjYuSOiz1GsrBThlFM3vDqo="
	s, err := NewSigner("oc-signature-key", "")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s.ElementsSignature([]byte(`{"message":{"eventId":"x"}}`))
	if !ok || got != want {
		t.Errorf("ElementsSignature = %q, %v; want %q", got, ok, want)
	}
	if _, ok := s.StandardSignature("id", 1, nil); ok {
		t.Error("StandardSignature without webhook_secret reported a signature")
	}
}

func TestSigner_StandardSignature(t *testing.T) {
	// The Standard Webhooks specification's test vector (libraries/go/webhook_test.go).
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	for _, secret := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		s, err := NewSigner("", secret)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.StandardSignature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
		if !ok || got != want {
			t.Errorf("secret %q: StandardSignature = %q, %v; want %q", secret[:6], got, ok, want)
		}
		if _, ok := s.ElementsSignature(nil); ok {
			t.Error("ElementsSignature without signature_key reported a signature")
		}
	}
}

func TestNewSigner_BadSecret(t *testing.T) {
	for _, secret := range []string{"whsec_", "whsec_not base64!", "whsec_%%%%"} {
		_, err := NewSigner("", secret)
		if !errors.Is(err, ErrWebhookSecret) {
			t.Errorf("NewSigner(%q) err = %v, want ErrWebhookSecret", secret, err)
			continue
		}
		if rest := strings.TrimPrefix(secret, "whsec_"); rest != "" && strings.Contains(err.Error(), rest) {
			t.Errorf("error text %q contains the secret", err)
		}
	}
}
