package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, name, data string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Parse(name, []byte(data), envOf(env))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return cfg
}

func TestParse_Defaults(t *testing.T) {
	cfg := mustParse(t, "agent.toml", minimal, nil)
	if cfg.File != "agent.toml" || cfg.Log.Level != slog.LevelInfo || cfg.Log.Format != "text" ||
		cfg.Admin.Listen != "127.0.0.1:8720" || cfg.Network.Proxy != nil || cfg.Network.CAFile != "" {
		t.Errorf("top-level defaults: %+v", cfg)
	}
	if cfg.DataDir != DefaultDataDir(func(string) string { return "" }) {
		t.Errorf("data_dir = %q", cfg.DataDir)
	}
	if len(cfg.Instances) != 1 {
		t.Fatalf("instances: %d", len(cfg.Instances))
	}
	in := cfg.Instances[0]
	wantAuth := Auth{Flow: "device", Tenant: "common", ClientID: "id", RedirectURL: "http://localhost:53682/", Cloud: "global"}
	if !reflect.DeepEqual(in.Auth, wantAuth) {
		t.Errorf("auth = %+v, want %+v", in.Auth, wantAuth)
	}
	if in.Name != "a" || !in.Enabled || in.Tags == nil || len(in.Tags) != 0 {
		t.Errorf("instance = %+v", in)
	}
	if in.Drive.Spec != "me" || in.Drive.Scope.Folder != "/" || in.Drive.Scope.Include != nil || in.Drive.Scope.Exclude != nil {
		t.Errorf("drive = %+v", in.Drive)
	}
	p := in.Poll
	if p.Interval != 5*time.Minute || p.Cron != "" || p.Location != time.UTC || p.ActiveHours != nil ||
		p.Initial != "baseline" || p.MaxQueue != 1000000 || p.Schedule == nil || p.Schedule.Interval() != 5*time.Minute ||
		p.Push != PushAuto || p.Debounce != time.Second {
		t.Errorf("poll = %+v", p)
	}
	c := in.Callback
	if c.URL != "https://hook.example/x" || c.SignatureKey != "" || c.WebhookSecret != "" || c.WebhookKey != nil ||
		len(c.Headers) != 0 || c.MaxEvents != 10 || c.Timeout != 30*time.Second || c.CAFile != "" ||
		c.RetryInitial != time.Second || c.RetryMax != 5*time.Minute {
		t.Errorf("callback = %+v", c)
	}
	if in.Scope() != "drive=me;folder=/" {
		t.Errorf("Scope() = %q", in.Scope())
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
	d := Default()
	if d.Admin.Listen != DefaultAdminListen || d.Log.Format != "text" || d.DataDir == "" || len(d.Instances) != 0 {
		t.Errorf("Default() = %+v", d)
	}
}

func TestParse_Values(t *testing.T) {
	data := `data_dir = "state"
[log]
level = "debug"
format = "json"
[admin]
listen = ""
hosts = ["Agent.Example.Internal", "proxy.example:8443", "[fd00::1]", "10.0.0.7"]
[network]
proxy = "http://user:pw@proxy.corp:3128"
[[instance]]
name = "hr-2"
tags = ["hr", "eu"]
enabled = false
[instance.auth]
flow = "client_credentials"
tenant = "contoso.onmicrosoft.com"
client_id = "cid"
client_secret = "sec"
scopes = ["https://graph.microsoft.com/.default"]
cloud = "usgov"
graph_url = "https://graph.example/v1.0"
[instance.drive]
drive = "user:alice@contoso.com"
folder = "/HR/"
include = ["/HR/**"]
exclude = ["*.tmp"]
[instance.poll]
schedule = "*/10 6-20 * * 1-5"
timezone = "America/New_York"
active_hours = ["Mon-Fri 06:00-21:00"]
initial = "backfill"
max_queue = 5
push = "off"
debounce = "250ms"
[instance.callback]
url = "http://hooks.internal:8080/hr?x=1"
signature_key = "k"
webhook_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
headers = { x-api-key = "abc", "X-Tenant" = "eu" }
max_events = 1000
timeout = "5s"
retry_initial = "2s"
retry_max = "2s"
`
	cfg := mustParse(t, filepath.Join("conf", "agent.toml"), data, nil)
	if cfg.DataDir != filepath.Join("conf", "state") {
		t.Errorf("relative data_dir = %q, want it under the config's folder", cfg.DataDir)
	}
	if cfg.Log.Level != slog.LevelDebug || cfg.Log.Format != "json" || cfg.Admin.Listen != "" ||
		cfg.Network.Proxy == nil || cfg.Network.Proxy.Host != "proxy.corp:3128" {
		t.Errorf("top level: %+v", cfg)
	}
	if want := []string{"agent.example.internal", "proxy.example", "fd00::1", "10.0.0.7"}; !reflect.DeepEqual(cfg.Admin.Hosts, want) {
		t.Errorf("admin.hosts = %q, want %q", cfg.Admin.Hosts, want)
	}
	in := cfg.Instances[0]
	if in.Name != "hr-2" || in.Enabled || !reflect.DeepEqual(in.Tags, []string{"hr", "eu"}) {
		t.Errorf("instance: %+v", in)
	}
	if in.Auth.Flow != FlowClientCredentials || in.Auth.ClientSecret != "sec" || in.Auth.Cloud != "usgov" ||
		in.Auth.GraphURL != "https://graph.example/v1.0" || in.Auth.LoginURL != "" || len(in.Auth.Scopes) != 1 {
		t.Errorf("auth: %+v", in.Auth)
	}
	if in.Drive.Spec != "user:alice@contoso.com" || in.Drive.Scope.Folder != "/HR" || in.Scope() != "drive=user:alice@contoso.com;folder=/HR" {
		t.Errorf("drive: %+v", in.Drive)
	}
	p := in.Poll
	if p.Interval != 0 || p.Cron != "*/10 6-20 * * 1-5" || p.Location.String() != "America/New_York" || p.Initial != "backfill" || p.MaxQueue != 5 ||
		p.Push != PushOff || p.Debounce != 250*time.Millisecond {
		t.Errorf("poll: %+v", p)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if got := p.Schedule.Next(time.Date(2026, 6, 12, 20, 55, 0, 0, ny)); !got.Equal(time.Date(2026, 6, 15, 6, 0, 0, 0, ny)) {
		t.Errorf("schedule next = %v", got)
	}
	c := in.Callback
	if c.URL != "http://hooks.internal:8080/hr?x=1" || c.SignatureKey != "k" || len(c.WebhookKey) == 0 ||
		c.Headers.Get("X-Api-Key") != "abc" || c.Headers.Get("X-Tenant") != "eu" || c.MaxEvents != 1000 ||
		c.Timeout != 5*time.Second || c.RetryInitial != 2*time.Second || c.RetryMax != 2*time.Second {
		t.Errorf("callback: %+v", c)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
}

func TestParse_Env(t *testing.T) {
	data := `data_dir = "${STATE}/agent"
[[instance]]
name = "${NAME}"
tags = ["${TAG}", "lit$${eral}"]
[instance.auth]
client_id = "${CID}"
[instance.callback]
url = "https://${HOST}/hook?sig=$1"
headers = { X-Key = "${KEY}" }
`
	env := map[string]string{"STATE": "/srv", "NAME": "fin", "TAG": "t1", "CID": "c", "HOST": "h.example", "KEY": "k1"}
	cfg := mustParse(t, "/etc/agent.toml", data, env)
	in := cfg.Instances[0]
	if cfg.DataDir != "/srv/agent" || in.Name != "fin" || !reflect.DeepEqual(in.Tags, []string{"t1", "lit${eral}"}) ||
		in.Auth.ClientID != "c" || in.Callback.URL != "https://h.example/hook?sig=$1" || in.Callback.Headers.Get("X-Key") != "k1" {
		t.Errorf("expanded: %+v %+v", cfg, in)
	}
	// A variable set to "" counts as set.
	env["CID"] = ""
	_, err := Parse("agent.toml", []byte(data), envOf(env))
	if err == nil || !strings.Contains(err.Error(), "agent.toml:6: instance.auth.client_id: must not be empty") {
		t.Errorf("empty variable: %v", err)
	}
}

func TestParse_SecretFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"cs": " client-secret\n", "sk": "sig\n", "wh": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data := `[[instance]]
name = "a"
[instance.auth]
client_id = "id"
flow = "code"
client_secret_file = "cs"
[instance.callback]
url = "https://hook.example/x"
signature_key_file = "${SECRETS}/sk"
webhook_secret_file = "wh"
`
	cfg := mustParse(t, filepath.Join(dir, "agent.toml"), data, map[string]string{"SECRETS": dir})
	in := cfg.Instances[0]
	if in.Auth.ClientSecret != "client-secret" || in.Callback.SignatureKey != "sig" ||
		in.Callback.WebhookSecret != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" || len(in.Callback.WebhookKey) != 24 {
		t.Errorf("secrets from files: %q %q %q %d", in.Auth.ClientSecret, in.Callback.SignatureKey, in.Callback.WebhookSecret, len(in.Callback.WebhookKey))
	}
	// A directory is not a secret file.
	data = strings.Replace(data, `client_secret_file = "cs"`, `client_secret_file = "."`, 1)
	_, err := Parse(filepath.Join(dir, "agent.toml"), []byte(data), envOf(map[string]string{"SECRETS": dir}))
	if err == nil || !strings.Contains(err.Error(), ":6: instance.auth.client_secret_file: ") || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory as secret file: %v", err)
	}
}

func TestParse_DefaultsMerge(t *testing.T) {
	data := `[defaults]
tags = ["all"]
enabled = false
[defaults.auth]
client_id = "shared"
tenant = "contoso.com"
client_secret_file = "/nonexistent/never-read"
[defaults.poll]
interval = "15m"
timezone = "Europe/Berlin"
[defaults.callback]
url = "https://hook.example/default"
headers = { X-A = "1", X-B = "2" }
max_events = 20

[[instance]]
name = "inherits"

[[instance]]
name = "overrides"
tags = ["own"]
enabled = true
[instance.auth]
client_secret = "own-secret"
[instance.poll]
schedule = "0 * * * *"
[instance.callback]
headers = { X-B = "3" }
max_events = 5
`
	_, err := Parse("agent.toml", []byte(data), nil)
	// The first instance inherits the unreadable secret file: reported once at the default.
	if lines := errLines(err); len(lines) != 1 || !strings.HasPrefix(lines[0], "agent.toml:7: defaults.auth.client_secret_file: cannot read") {
		t.Fatalf("want the inherited secret file error: %v", err)
	}
	data = strings.Replace(data, `client_secret_file = "/nonexistent/never-read"`, `client_secret = "shared-secret"`, 1)
	cfg := mustParse(t, "agent.toml", data, nil)
	a, b := cfg.Instances[0], cfg.Instances[1]
	if !reflect.DeepEqual(a.Tags, []string{"all"}) || a.Enabled || a.Auth.ClientID != "shared" || a.Auth.ClientSecret != "shared-secret" ||
		a.Auth.Tenant != "contoso.com" || a.Poll.Interval != 15*time.Minute || a.Poll.Location.String() != "Europe/Berlin" ||
		a.Callback.URL != "https://hook.example/default" || a.Callback.MaxEvents != 20 ||
		!reflect.DeepEqual(a.Callback.Headers, http.Header{"X-A": {"1"}, "X-B": {"2"}}) {
		t.Errorf("inheriting instance: %+v", a)
	}
	if !reflect.DeepEqual(b.Tags, []string{"own"}) || !b.Enabled || b.Auth.ClientID != "shared" || b.Auth.ClientSecret != "own-secret" ||
		b.Poll.Interval != 0 || b.Poll.Cron != "0 * * * *" || b.Poll.Location.String() != "Europe/Berlin" || b.Callback.MaxEvents != 5 ||
		!reflect.DeepEqual(b.Callback.Headers, http.Header{"X-A": {"1"}, "X-B": {"3"}}) {
		t.Errorf("overriding instance: %+v", b)
	}
}

func TestParse_Warnings(t *testing.T) {
	data := "[admin]\nlisten = \"0.0.0.0:8720\"\n" + strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nclient_secret = \"s\"", 1)
	cfg := mustParse(t, "agent.toml", data, nil)
	want := []string{
		`agent.toml:2: admin.listen: "0.0.0.0:8720" is reachable from other hosts: /healthz, /metrics and /v1/status answer without a token`,
		`agent.toml:7: instance.auth.client_secret: is sent with the device flow's token requests; it is needed only when the app registration does not allow public client flows`,
	}
	if !reflect.DeepEqual(cfg.Warnings, want) {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(cfg.Warnings, "\n"), strings.Join(want, "\n"))
	}
	cfg = mustParse(t, "agent.toml", "", nil)
	if len(cfg.Instances) != 0 || len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "no [[instance]]") {
		t.Errorf("empty file: %+v", cfg)
	}
}

func TestParse_InlineInstances(t *testing.T) {
	data := `instance = [
  { name = "a", auth = { client_id = "x" }, callback = { url = "https://h/1" } },
  { name = "b", auth = { client_id = "y" }, callback = { url = "hook" } },
]
`
	_, err := Parse("agent.toml", []byte(data), nil)
	if lines := errLines(err); len(lines) != 1 || !strings.HasPrefix(lines[0], "agent.toml:3: instance.callback.url: ") {
		t.Errorf("inline instance error: %v", err)
	}
}

func TestParse_LoopbackHTTPRoots(t *testing.T) {
	for _, host := range []string{"127.0.0.1:8080", "localhost:1", "[::1]:9", "127.0.0.2"} {
		data := strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\ngraph_url = \"http://"+host+"/v1.0\"\nlogin_url = \"http://"+host+"\"", 1)
		cfg := mustParse(t, "agent.toml", data, nil)
		if a := cfg.Instances[0].Auth; a.GraphURL != "http://"+host+"/v1.0" || a.LoginURL != "http://"+host {
			t.Errorf("%s: auth = %+v", host, a)
		}
	}
}

func TestParse_ClientCertificate(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, k *ecdsa.PrivateKey) string {
		kd, _ := x509.MarshalPKCS8PrivateKey(k)
		data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	good, wrong := write("app.pem", key), write("wrong.pem", other)
	app := func(extra string) string {
		return strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"client_credentials\"\ntenant = \"contoso.com\"\n"+extra, 1) +
			"[instance.drive]\ndrive = \"user:a@contoso.com\"\n"
	}
	name := filepath.Join(dir, "agent.toml")
	cfg, err := Parse(name, []byte(app("client_certificate_file = \""+good+"\"")), envOf(nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cfg.Instances[0].Auth.ClientCertificateFile; got != filepath.Join(dir, good) {
		t.Errorf("ClientCertificateFile = %q, want it relative to the config", got)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings for a 0600 certificate file: %v", cfg.Warnings)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(filepath.Join(dir, good), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse(name, []byte(app("client_certificate_file = \""+good+"\"")), envOf(nil))
		if err != nil || !strings.Contains(fmt.Sprint(cfg.Warnings), "readable by group or others") {
			t.Errorf("0644 certificate file: warnings %v, err %v", cfg.Warnings, err)
		}
	}
	tests := []struct{ name, data, want string }{
		{"key of another certificate", app("client_certificate_file = \"" + wrong + "\""), "instance.auth.client_certificate_file: client certificate " + filepath.Join(dir, wrong) + ": the private key does not belong to the certificate"},
		{"missing file", app("client_certificate_file = \"nope.pem\""), "instance.auth.client_certificate_file: client certificate: stat " + filepath.Join(dir, "nope.pem") + ": no such file"},
		{"with a secret", app("client_secret = \"s\"\nclient_certificate_file = \"" + good + "\""), "set either client_secret or client_certificate_file, not both"},
		{"delegated flow", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nclient_certificate_file = \""+good+"\"", 1), "only with flow = \"client_credentials\""},
	}
	for _, tt := range tests {
		_, err := Parse(name, []byte(tt.data), envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestParse_SharePointDrives(t *testing.T) {
	for _, spec := range []string{
		"https://contoso.sharepoint.com/sites/Finance/Shared%20Documents",
		"https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/Forms/AllItems.aspx",
		"site:contoso.sharepoint.com:/sites/Finance",
		"site:contoso.sharepoint.com,2C712604-1370-44E7-A1F5-426573FDA80A,2D2244C3-251A-49EA-93A8-39E1C3A060FE",
	} {
		cfg := mustParse(t, "agent.toml", minimal+"[instance.drive]\ndrive = \""+spec+"\"\n", nil)
		if got := cfg.Instances[0].Drive.Spec; got != spec {
			t.Errorf("drive = %q, want %q", got, spec)
		}
	}
}
