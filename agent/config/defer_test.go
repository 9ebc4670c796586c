package config

import (
	"strings"
	"testing"
)

// TestParseDeferSecrets checks that a command needing no secret loads a configuration whose
// secrets only the service's environment has, and that the secret's error, once needed,
// still names the file, the line, the key and the variable.
func TestParseDeferSecrets(t *testing.T) {
	const cfg = `[[instance]]
name = "a"
[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = "id"
client_secret = "${OD_SECRET}"
[instance.callback]
url = "https://hook.example/x"
signature_key_file = "/nonexistent/sig"
headers = { X-Token = "${HOOK_TOKEN}" }
[instance.drive]
drive = "user:a@contoso.example"

[[instance]]
name = "b"
[instance.auth]
client_id = "id"
[instance.callback]
url = "https://hook.example/${PATH_PART}"
`
	if _, err := Parse("agent.toml", []byte(cfg), envOf(map[string]string{"PATH_PART": "x"})); err == nil ||
		!strings.Contains(err.Error(), "agent.toml:7: instance.auth.client_secret: environment variable OD_SECRET is not set") {
		t.Fatalf("Parse: %v, want the unset OD_SECRET named", err)
	}

	c, err := ParseDeferSecrets("agent.toml", []byte(cfg), envOf(map[string]string{"PATH_PART": "x"}))
	if err != nil {
		t.Fatalf("ParseDeferSecrets: %v", err)
	}
	a, b := c.Instances[0], c.Instances[1]
	if a.Auth.ClientSecret != "" || a.Callback.SignatureKey != "" {
		t.Error("an unresolved secret must be empty")
	}
	tests := []struct {
		sections []string
		want     []string
	}{
		{[]string{"auth"}, []string{"agent.toml:7: instance.auth.client_secret: environment variable OD_SECRET is not set"}},
		{[]string{"callback"}, []string{
			"agent.toml:10: instance.callback.signature_key_file: cannot read /nonexistent/sig",
			"agent.toml:11: instance.callback.headers.X-Token: environment variable HOOK_TOKEN is not set",
		}},
		{nil, []string{"OD_SECRET", "/nonexistent/sig", "HOOK_TOKEN"}},
	}
	for _, tt := range tests {
		err := a.SecretErr(tt.sections...)
		if err == nil {
			t.Fatalf("SecretErr(%v) = nil", tt.sections)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("SecretErr(%v) = %v\nwant it to contain %q", tt.sections, err, w)
			}
		}
	}
	if err := a.SecretErr("drive"); err != nil {
		t.Errorf("SecretErr(drive) = %v, want nil", err)
	}
	if err := b.SecretErr(); err != nil || len(b.Unresolved) != 0 {
		t.Errorf("instance b has no secret, got %v", err)
	}

	// A non-secret value with an unset variable still fails, and so does a bad ${.
	for _, bad := range []string{
		strings.Replace(cfg, `${PATH_PART}`, `${MISSING}`, 1),
		strings.Replace(cfg, `${OD_SECRET}`, `${OD_SECRET`, 1),
	} {
		if _, err := ParseDeferSecrets("agent.toml", []byte(bad), envOf(map[string]string{"PATH_PART": "x"})); err == nil {
			t.Errorf("ParseDeferSecrets accepted\n%s", bad)
		}
	}
}
