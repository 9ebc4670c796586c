package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSecretFile_ContentNeverInMessages: whatever a *_file names (a planted
// configuration may name any file the agent can read), no error or warning
// holds any part of the file's content.
func TestSecretFile_ContentNeverInMessages(t *testing.T) {
	const marker = "LEAKMARKER"
	contents := []string{
		marker + "-plain-content",
		"whsec_" + marker + "!!not-base64",
		"whsec_" + marker,
		marker + " with spaces\nand a second line\n",
		"${" + marker + "}",
		"root:" + marker + ":19000:0:99999:7:::",
	}
	templates := []string{
		// a secret the flow warns about
		"[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = \"id\"\nclient_secret_file = %q\n[instance.callback]\nurl = \"https://h.example/\"\n",
		// webhook secret that does not decode
		"[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = \"id\"\n[instance.callback]\nurl = \"https://h.example/\"\nwebhook_secret_file = %q\n",
		// signature key with another error beside it
		"[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = \"id\"\nflow = \"bogus\"\n[instance.callback]\nurl = \"ftp://h.example/\"\nsignature_key_file = %q\n",
		// client credentials in a wrong tenant
		"[[instance]]\nname = \"a\"\n[instance.auth]\nflow = \"client_credentials\"\nclient_id = \"id\"\nclient_secret_file = %q\n[instance.callback]\nurl = \"https://h.example/\"\n",
		// both forms at once
		"[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = \"id\"\nclient_secret = \"x\"\nclient_secret_file = %q\n[instance.callback]\nurl = \"https://h.example/\"\n",
	}
	for _, content := range contents {
		dir := t.TempDir()
		secret := filepath.Join(dir, "secret")
		if err := os.WriteFile(secret, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(secret, 0o666); err != nil { // also draws the trust warning
			t.Fatal(err)
		}
		for i, tmpl := range templates {
			path := filepath.Join(dir, "agent.toml")
			if err := os.WriteFile(path, []byte(strings.Replace(tmpl, "%q", `"`+secret+`"`, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path)
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
			} else {
				msgs = append(msgs, cfg.Warnings...)
			}
			for _, m := range msgs {
				if strings.Contains(m, marker) || strings.Contains(m, "root:") {
					t.Errorf("template %d, content %q: a message shows the file's content:\n%s", i, content, m)
				}
			}
		}
	}
}

// TestLoad_TrustWarnings: a configuration file or secret file that another
// user could have written is warned about, naming the file and what to run.
func TestLoad_TrustWarnings(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes: Unix only")
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "hook.key")
	if err := os.WriteFile(secret, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.toml")
	doc := minimal + "signature_key_file = \"hook.key\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	warnings := func() string {
		t.Helper()
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(cfg.Warnings, "\n")
	}
	if w := warnings(); w != "" {
		t.Fatalf("private files drew warnings:\n%s", w)
	}
	chmod := func(name string, mode os.FileMode) {
		if err := os.Chmod(name, mode); err != nil {
			t.Fatal(err)
		}
	}
	chmod(path, 0o664)
	if w := warnings(); !strings.Contains(w, path+": this configuration file is writable by group or others") || !strings.Contains(w, "chmod go-w") {
		t.Errorf("group-writable config:\n%s", w)
	}
	chmod(path, 0o644)
	chmod(secret, 0o646)
	if w := warnings(); !strings.Contains(w, "the secret file "+secret+" is writable by group or others") {
		t.Errorf("world-writable secret file:\n%s", w)
	}
	chmod(secret, 0o600)
	if os.Geteuid() == 0 {
		// Root reading a file another user owns: the ./agent.toml case.
		if err := os.Chown(path, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		if w := warnings(); !strings.Contains(w, "this configuration file is owned by uid 12345, another user") {
			t.Errorf("config owned by another user:\n%s", w)
		}
	}
}
