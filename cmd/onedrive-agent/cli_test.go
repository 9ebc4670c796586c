package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// validTOML is a complete, valid agent.toml. The config-error rows below
// each replace one line of it, so every row tests exactly one problem.
const validTOML = `data_dir = "data"

[log]
level = "info"

[admin]
listen = ""

[[instance]]
name = "finance"

[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = "00000000-0000-0000-0000-000000000001"
client_secret = "s3cret"

[instance.drive]
drive = "user:alice@contoso.example"

[instance.poll]
interval = "5m"
initial = "baseline"

[instance.callback]
url = "https://hooks.example.internal/onedrive"
`

// runMain runs the command line in-process and returns the exit status
// and what it printed.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := Main(ctx, args, strings.NewReader(""), &out, &errb)
	code = exitCode(err, &errb)
	return code, out.String(), errb.String()
}

// writeConfig writes content as agent.toml in a new temporary directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// replaceLine replaces the line of validTOML that starts with prefix and
// returns the new content and that line's number.
func replaceLine(t *testing.T, prefix, with string) (string, int) {
	t.Helper()
	lines := strings.Split(validTOML, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = with
			return strings.Join(lines, "\n"), i + 1
		}
	}
	t.Fatalf("validTOML has no line starting with %q", prefix)
	return "", 0
}

func TestCheck_Valid(t *testing.T) {
	path := writeConfig(t, validTOML)
	code, out, errOut := runMain(t, "check", "-c", path)
	if code != exitOK {
		t.Fatalf("check of a valid config: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "configuration OK, 1 instance(s)") {
		t.Errorf("stdout = %q, want the OK line", out)
	}
	// The config is also found through $ONEDRIVE_AGENT_CONFIG.
	t.Setenv("ONEDRIVE_AGENT_CONFIG", path)
	if code, _, errOut := runMain(t, "check"); code != exitOK {
		t.Errorf("check with $ONEDRIVE_AGENT_CONFIG: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestCheck_ConfigErrors has one row per class of configuration error: each
// must exit 2 and name the file, the line and the key.
func TestCheck_ConfigErrors(t *testing.T) {
	t.Setenv("OD_AGENT_TEST_UNSET", "")
	os.Unsetenv("OD_AGENT_TEST_UNSET")
	tests := []struct {
		name   string
		prefix string // the line of validTOML to replace
		with   string
		key    string // the key the message must name
		line   int    // 0: the replaced line
		msg    string // a part of the message
	}{
		{name: "syntax error", prefix: "interval", with: `interval = "5m`, key: "instance.poll.interval", msg: ""},
		{name: "unknown key", prefix: "initial", with: `intial = "baseline"`, key: "instance.poll.intial", msg: "initial"},
		{name: "bad duration", prefix: "interval", with: `interval = "5 minutes"`, key: "instance.poll.interval", msg: "not a duration"},
		{name: "duration too short", prefix: "interval", with: `interval = "1s"`, key: "instance.poll.interval", msg: "minimum"},
		{name: "missing required key", prefix: "client_id", with: ``, key: "instance.auth.client_id", line: 12, msg: "required"},
		{name: "missing callback url", prefix: "url", with: ``, key: "instance.callback.url", line: 25, msg: "required"},
		{name: "bad enum", prefix: "flow", with: `flow = "password"`, key: "instance.auth.flow", msg: "client_credentials"},
		{name: "bad log level", prefix: "level", with: `level = "loud"`, key: "log.level", msg: ""},
		{name: "missing _file", prefix: "client_secret", with: `client_secret_file = "no-such-secret"`, key: "instance.auth.client_secret_file", msg: "no-such-secret"},
		{name: "wrong type", prefix: "interval", with: `interval = 300`, key: "instance.poll.interval", msg: "not a duration"},
		{name: "bad instance name", prefix: "name", with: `name = "Finance Team"`, key: "instance.name", msg: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content, line := replaceLine(t, tt.prefix, tt.with)
			if tt.line != 0 {
				line = tt.line
			}
			path := writeConfig(t, content)
			code, _, errOut := runMain(t, "check", "-c", path)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, errOut)
			}
			want := fmt.Sprintf("%s:%d: %s", path, line, tt.key)
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr does not name %q:\n%s", want, errOut)
			}
			if tt.msg != "" && !strings.Contains(errOut, tt.msg) {
				t.Errorf("stderr does not say %q:\n%s", tt.msg, errOut)
			}
			if strings.Contains(errOut, "s3cret") {
				t.Errorf("stderr shows the client secret:\n%s", errOut)
			}
		})
	}
}

// TestCheck_SecretFromEnvAndFile checks the working forms of what the error
// rows above break: ${NAME} set, and <key>_file pointing at a file.
func TestCheck_SecretFromEnvAndFile(t *testing.T) {
	t.Setenv("OD_AGENT_TEST_SECRET", "from-env")
	content, _ := replaceLine(t, "client_secret", `client_secret = "${OD_AGENT_TEST_SECRET}"`)
	if code, _, errOut := runMain(t, "check", "-c", writeConfig(t, content)); code != exitOK {
		t.Errorf("${NAME} set: exit %d, stderr:\n%s", code, errOut)
	}
	content, _ = replaceLine(t, "client_secret", `client_secret_file = "secret.txt"`)
	path := writeConfig(t, content)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "secret.txt"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runMain(t, "check", "-c", path); code != exitOK {
		t.Errorf("client_secret_file beside the config: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestCheck_MissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	code, _, errOut := runMain(t, "check", "-c", path)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, errOut)
	}
	if !strings.Contains(errOut, path) {
		t.Errorf("stderr does not name %s:\n%s", path, errOut)
	}
}

func TestMain_Usage(t *testing.T) {
	cfg := writeConfig(t, validTOML)
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr (or stdout for help)
	}{
		{"no command", nil, exitUsage, "usage: onedrive-agent"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown flag", []string{"check", "-c", cfg, "--bogus"}, exitUsage, "bogus"},
		{"unexpected argument", []string{"check", "-c", cfg, "extra"}, exitUsage, `unexpected argument "extra"`},
		{"flag without value", []string{"check", "-c"}, exitUsage, "-c"},
		{"poll without instance", []string{"poll", "-c", cfg}, exitUsage, "INSTANCE"},
		{"poll of an unknown instance", []string{"poll", "-c", cfg, "nope"}, exitUsage, `no instance "nope"`},
		{"dead with a bad action", []string{"dead", "-c", cfg, "bury"}, exitUsage, `unknown action "bury"`},
		{"dead of an unknown instance", []string{"dead", "-c", cfg, "list", "nope"}, exitUsage, `no instance "nope"`},
		{"login with --code and --browser", []string{"login", "-c", cfg, "finance", "--code", "x", "--browser"}, exitUsage, "exclude"},
		{"import without file", []string{"import"}, exitUsage, "FILE.json"},
		{"import of a missing file", []string{"import", "/nonexistent/x.json"}, exitUsage, "/nonexistent/x.json"},
		{"demo with a bad duration", []string{"demo", "--for", "soon"}, exitUsage, "soon"},
		{"admin without action", []string{"admin"}, exitUsage, "admin rotate-token"},
		{"admin with a bad action", []string{"admin", "rotate"}, exitUsage, `unknown action "rotate"`},
		{"rotate-token with an argument", []string{"admin", "rotate-token", "-c", cfg, "x"}, exitUsage, `unexpected argument "x"`},
		{"help", []string{"help"}, exitOK, ""},
		{"version", []string{"version"}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runMain(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runMain(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "onedrive-agent ") {
		t.Errorf("version: exit %d, stdout %q", code, out)
	}
}

// TestImport_Seed imports the instance JSON of the Open Connectors
// documentation (testdata/seed-instance.json, copied verbatim, without its
// opening brace) and checks that stdout is an [[instance]] table.
func TestImport_Seed(t *testing.T) {
	code, out, errOut := runMain(t, "import", filepath.Join("testdata", "seed-instance.json"))
	if code != exitOK {
		t.Fatalf("import: exit %d, stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "[[instance]]") {
		t.Fatalf("stdout has no [[instance]] table:\n%s", out)
	}
	var doc struct {
		Instance []map[string]any `toml:"instance"`
	}
	if _, err := toml.Decode(out, &doc); err != nil {
		t.Fatalf("stdout is not TOML: %v\n%s", err, out)
	}
	if len(doc.Instance) != 1 {
		t.Fatalf("stdout has %d instances, want 1:\n%s", len(doc.Instance), out)
	}
	in := doc.Instance[0]
	auth, _ := in["auth"].(map[string]any)
	if got := auth["redirect_url"]; got != "https://www.yourcallbackurl.com/oauth2callback" {
		t.Errorf("auth.redirect_url = %v, want oauth.callback.url", got)
	}
	if in["enabled"] != true {
		t.Errorf("enabled = %v, want true (event.notification.enabled)", in["enabled"])
	}
	// What the seed leaves empty or cannot map is named on stderr.
	for _, want := range []string{"oauth.api.key", "event.notification.callback.url", "login --code"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not name %q:\n%s", want, errOut)
		}
	}
}

func TestImport_NotOnedrive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "box.json")
	if err := os.WriteFile(path, []byte(`{"element":{"key":"box"},"name":"x","configuration":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "import", path)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitUsage, errOut)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing on an error", out)
	}
	if !strings.Contains(errOut, "onedrivev2") {
		t.Errorf("stderr does not say the element must be onedrivev2:\n%s", errOut)
	}
}
