package ocimport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

// seed is the instance JSON of reference/seed-onedrive-events.txt, as printed there (without
// the opening brace).
const seed = `"element": {
    "key": "onedrivev2"
},
"providerData": {
    "code": "Code on Return the URL"
},
"configuration": {
    "oauth.api.key": "",
    "oauth.api.secret": "",
    "oauth.callback.url": "https://www.yourcallbackurl.com/oauth2callback",
    "event.notification.enabled": "true",
    "event.notification.callback.url": ""
},
"tags": [
    ""
],
"name": ""
}`

const full = `{
  "element": {"key": "onedrivev2"},
  "providerData": {"code": "M.C507_BAY.2.U.abc"},
  "configuration": {
    "oauth.api.key": "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
    "oauth.api.secret": "s3cr\"et${X}",
    "oauth.callback.url": "https://www.example.com/oauth2callback",
    "event.notification.enabled": "true",
    "event.notification.callback.url": "https://hooks.example.com/od?team=fin",
    "event.notification.signature.key": "sig-key",
    "event.vendor.type": "polling",
    "event.poller.refresh_interval": "15",
    "event.poller.configuration": "{\"changes\": {\"url\": \"/hubs/documents/changes?path=/Invoices\", \"idField\": \"id\", \"datesConfiguration\": {\"updatedDateField\": \"modifiedDate\"}}}"
  },
  "tags": ["Finance", ""],
  "name": "Finance OneDrive"
}`

func run(t *testing.T, in string) (out, warn string, err error) {
	t.Helper()
	var o, w bytes.Buffer
	err = Import(strings.NewReader(in), &o, &w)
	return o.String(), w.String(), err
}

// parseAgent parses an imported table appended to a minimal agent.toml.
func parseAgent(table string) (*config.Config, error) {
	return config.Parse("agent.toml", []byte("[log]\nlevel = \"info\"\n\n"+table), nil)
}

func TestImport_Full(t *testing.T) {
	out, warn, err := run(t, full)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseAgent(out)
	if err != nil {
		t.Fatalf("the output does not validate:\n%v\n%s", err, out)
	}
	in := cfg.Instances[0]
	if in.Name != "finance-onedrive" || len(in.Tags) != 1 || in.Tags[0] != "Finance" || !in.Enabled {
		t.Errorf("instance: %+v", in)
	}
	if in.Auth.Flow != "code" || in.Auth.ClientID != "0f1e2d3c-aaaa-bbbb-cccc-000000000001" || in.Auth.ClientSecret != `s3cr"et${X}` ||
		in.Auth.RedirectURL != "https://www.example.com/oauth2callback" {
		t.Errorf("auth: %+v", in.Auth)
	}
	if in.Drive.Scope.Folder != "/Invoices" || in.Poll.Interval.String() != "15m0s" {
		t.Errorf("drive %+v poll %+v", in.Drive, in.Poll)
	}
	if in.Callback.URL != "https://hooks.example.com/od?team=fin" || in.Callback.SignatureKey != "sig-key" {
		t.Errorf("callback: %+v", in.Callback)
	}
	for _, w := range []string{
		`name: "Finance OneDrive" is written as "finance-onedrive"`,
		"tags[1]: empty; dropped",
		"onedrive-agent login --code 'M.C507_BAY.2.U.abc' finance-onedrive",
		`configuration."event.poller.configuration".changes: datesConfiguration, idField not used`,
	} {
		if !strings.Contains(warn, w) {
			t.Errorf("warnings lack %q:\n%s", w, warn)
		}
	}
	if strings.Contains(out, "M.C507_BAY") {
		t.Error("the one-time code is written into the table")
	}
	for _, secret := range []string{"sig-key", "s3cr"} {
		if strings.Contains(warn, secret) {
			t.Errorf("a secret appears in the warnings: %s", secret)
		}
	}
	if !strings.Contains(out, "client_secret_file") {
		t.Error("no hint to keep the secret out of the file")
	}
}

func TestImport_Seed(t *testing.T) {
	for _, in := range []string{seed, "{" + seed} {
		out, warn, err := run(t, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := toml.Decode(out, new(map[string]any)); err != nil {
			t.Fatalf("not TOML: %v\n%s", err, out)
		}
		// The seed's values are empty: agent.toml names exactly what is left to fill in.
		_, err = parseAgent(out)
		want := []string{"instance.auth.client_id: required", "instance.callback.url: required"}
		lines := strings.Split(errString(err), "\n")
		if len(lines) != len(want) {
			t.Fatalf("want %d errors, got:\n%v\n%s", len(want), err, out)
		}
		for i, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("error %d = %q, want %q", i, lines[i], w)
			}
		}
		for _, w := range []string{`name: empty; the instance is named "onedrive"`, "tags[0]: empty", `configuration."oauth.api.key": empty`,
			`configuration."event.notification.callback.url": empty`, "login --code 'Code on Return the URL' onedrive"} {
			if !strings.Contains(warn, w) {
				t.Errorf("warnings lack %q:\n%s", w, warn)
			}
		}
		if strings.HasPrefix(in, "\"") != strings.Contains(warn, "opening \"{\" is missing") {
			t.Errorf("missing-brace warning: %s", warn)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestImport_UnknownKeys(t *testing.T) {
	in := `{
  "element": {"key": "onedrivev2", "id": 146},
  "name": "x",
  "description": "d",
  "providerData": {"code": "c", "state": "s"},
  "configuration": {
    "oauth.api.key": "id",
    "oauth.scope": "wl.signin onedrive.readwrite",
    "event.notification.callback.url": "https://h/x",
    "event.notification.instance.finder": null,
    "event.vendor.type": "webhook",
    "event.poller.refresh_interval": "0",
    "event.poller.configuration": {"files": {"url": "/hubs/documents/files"}}
  },
  "eventsEnabled": true,
  "extra": {"a": 1}
}`
	out, warn, err := run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"element.id: not used", "description: not used", "extra: not used", "providerData.state: not used",
		`configuration."oauth.scope": not mapped`, `configuration."event.notification.instance.finder": not mapped`,
		`configuration."event.vendor.type": "webhook" is not what the agent does`,
		`configuration."event.poller.refresh_interval": 0 minutes is below`,
		`configuration."event.poller.configuration".files: url not used`,
	} {
		if !strings.Contains(warn, w) {
			t.Errorf("warnings lack %q:\n%s", w, warn)
		}
	}
	if strings.Contains(warn, "wl.signin") {
		t.Error("a value appears in the warnings")
	}
	cfg, err := parseAgent(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !cfg.Instances[0].Enabled || cfg.Instances[0].Poll.Interval.String() != "5m0s" {
		t.Errorf("eventsEnabled or interval: %+v", cfg.Instances[0])
	}
}

func TestImport_Errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"element": {"key": "onedrivebusiness"}}`, `element.key is "onedrivebusiness"`},
		{`{"name": "x"}`, "element.key is missing"},
		{`[1]`, "want an object"},
		{"{\n  \"element\": ,\n}", "line 2, column 14"},
		{`{"element": {"key": "onedrivev2"}} {}`, "more than one JSON value"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		err := Import(strings.NewReader(tt.in), &out, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Import(%q) = %v, want %q", tt.in, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("Import(%q) wrote output with an error", tt.in)
		}
	}
}

func TestImport_Interval(t *testing.T) {
	tests := map[string]string{"1": "1m", "15": "15m", "90": "1h30m", "0.5": "30s", "1440": "24h"}
	for minutes, want := range tests {
		out, _, err := run(t, `{"element":{"key":"onedrivev2"},"name":"a","configuration":{"oauth.api.key":"x","event.notification.callback.url":"https://h/","event.poller.refresh_interval":`+minutes+`}}`)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `interval = "`+want+`"`) {
			t.Errorf("%s minutes: want interval %q in\n%s", minutes, want, out)
		}
		if _, err := parseAgent(out); err != nil {
			t.Errorf("%s minutes: %v", minutes, err)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestImport_WriteError(t *testing.T) {
	if err := Import(strings.NewReader(full), failWriter{}, nil); err == nil {
		t.Error("a write error is not returned")
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"plain", `a"b\c`, "tab\tnl\n", "${HOME} $${x} $", "\x01\x7f", "ü€", "bad\xffutf8"} {
		var v struct{ K string }
		if _, err := toml.Decode("K = "+quote(s), &v); err != nil {
			t.Errorf("quote(%q) = %s: %v", s, quote(s), err)
		}
	}
	// A value with ${ reads back unchanged through agent.toml's expansion.
	cfg, err := parseAgent("[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = " + quote("${X}$${Y}") +
		"\n[instance.callback]\nurl = \"https://h/\"\n")
	if err != nil || cfg.Instances[0].Auth.ClientID != "${X}$${Y}" {
		t.Errorf("round trip: %v %+v", err, cfg)
	}
}

func FuzzImport(f *testing.F) {
	f.Add(seed)
	f.Add("{" + seed)
	f.Add(full)
	f.Add(`{"element":{"key":"onedrivev2"},"name":"\u0000\"${x}","tags":["\n",1],"configuration":{"event.poller.configuration":{"a":{"url":"/x?where=path%3D'/a%0Ab'"}}}}`)
	if b, err := os.ReadFile(filepath.Join("testdata", "instance.json")); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out, warn bytes.Buffer
		if err := Import(strings.NewReader(in), &out, &warn); err != nil {
			return
		}
		// Whatever it accepts, it writes as TOML that agent.toml reads without a syntax or
		// unknown-key error.
		_, err := parseAgent(out.String())
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if strings.Contains(line, "unknown key") || !strings.Contains(line, "instance.") {
				t.Fatalf("output not readable: %s\n%s", line, out.String())
			}
		}
	})
}

// TestImport_InstanceID: the Open Connectors instance id is kept in a
// comment, not dropped with a "not used" warning.
func TestImport_InstanceID(t *testing.T) {
	in := `{"id": 48213, "element": {"key": "onedrivev2"}, "name": "Finance",
  "configuration": {"oauth.api.key": "id", "event.notification.callback.url": "https://h/x"}}`
	out, warn, err := run(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "# Open Connectors instance id: 48213") {
		t.Errorf("the table does not keep the instance id:\n%s", out)
	}
	if strings.Contains(warn, "id: not used") {
		t.Errorf("the id is reported as not used:\n%s", warn)
	}
	if _, err := parseAgent(out); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
