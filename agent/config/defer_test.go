package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseDeferSecrets checks that a command needing no secret loads a configuration whose
// secrets only the service's environment has, and that the secret's error, once needed,
// still names the file, the line, the key and the variable.
func TestParseDeferSecrets(t *testing.T) {
	cfg := `[[instance]]
name = "a"
[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = "id"
client_secret = "${OD_SECRET}"
[instance.callback]
url = "https://hook.example/x"
signature_key_file = "sig"
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
	// sig is there but this user may not read it (the service user's file);
	// root reads any file, so for root it is something no one reads as a file.
	dir := t.TempDir()
	sig := filepath.Join(dir, "sig")
	if os.Geteuid() == 0 {
		if err := os.Mkdir(sig, 0o700); err != nil {
			t.Fatal(err)
		}
	} else if err := os.WriteFile(sig, []byte("k"), 0o000); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "agent.toml")
	cfg = strings.ReplaceAll(cfg, "agent.toml", name)
	if _, err := Parse(name, []byte(cfg), envOf(map[string]string{"PATH_PART": "x"})); err == nil ||
		!strings.Contains(err.Error(), name+":7: instance.auth.client_secret: environment variable OD_SECRET is not set") {
		t.Fatalf("Parse: %v, want the unset OD_SECRET named", err)
	}

	c, err := ParseDeferSecrets(name, []byte(cfg), envOf(map[string]string{"PATH_PART": "x"}))
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
		{[]string{"auth"}, []string{name + ":7: instance.auth.client_secret: environment variable OD_SECRET is not set"}},
		{[]string{"callback"}, []string{
			name + ":10: instance.callback.signature_key_file: ",
			name + ":11: instance.callback.headers.X-Token: environment variable HOOK_TOKEN is not set",
		}},
		{nil, []string{"OD_SECRET", sig, "HOOK_TOKEN"}},
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

	// A non-secret value with an unset variable still fails, and so do a bad ${
	// and a secret file that does not exist.
	for _, bad := range []string{
		strings.Replace(cfg, `${PATH_PART}`, `${MISSING}`, 1),
		strings.Replace(cfg, `${OD_SECRET}`, `${OD_SECRET`, 1),
		strings.Replace(cfg, `signature_key_file = "sig"`, `signature_key_file = "nonexistent"`, 1),
	} {
		if _, err := ParseDeferSecrets(name, []byte(bad), envOf(map[string]string{"PATH_PART": "x"})); err == nil {
			t.Errorf("ParseDeferSecrets accepted\n%s", bad)
		}
	}
}

// TestParsePlaceholders: values left as the install scripts and the example
// write them are errors naming the line and key.
func TestParsePlaceholders(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"client id placeholder", `client_id = "id"`, `client_id = "REPLACE-with-the-application-client-id"`,
			`agent.toml:4: instance.auth.client_id: "REPLACE-with-the-application-client-id" is a placeholder`},
		{"zero client id", `client_id = "id"`, `client_id = "00000000-0000-0000-0000-000000000000"`,
			"agent.toml:4: instance.auth.client_id: 00000000-0000-0000-0000-000000000000 is the example's placeholder"},
		{"callback placeholder", `url = "https://hook.example/x"`, `url = "https://REPLACE-with-your-receiver.example/onedrive"`,
			"agent.toml:6: instance.callback.url: "},
		{"secret placeholder", `client_id = "id"`, "client_id = \"id\"\nclient_secret = \"${S}\"",
			"agent.toml:5: instance.auth.client_secret: still holds a placeholder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := strings.Replace(minimal, tt.from, tt.to, 1)
			_, err := Parse("agent.toml", []byte(cfg), envOf(map[string]string{"S": "REPLACE-with-secret"}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v\nwant %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "REPLACE-with-secret") {
				t.Error("the error shows a secret")
			}
		})
	}
}
