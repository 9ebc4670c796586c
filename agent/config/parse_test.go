package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimal is a valid instance; rows below append to it or replace it. Lines 1-6.
const minimal = `[[instance]]
name = "a"
[instance.auth]
client_id = "id"
[instance.callback]
url = "https://hook.example/x"
`

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// errLines returns the lines of a joined error.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	notPEM := filepath.Join(dir, "not.pem")
	for name, content := range map[string]string{empty: "  \n", notPEM: "hello"} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		toml   string
		env    map[string]string
		prefix string // exact "file:line: key: " start of the (only) error line
		msg    string // part of the message
	}{
		{"syntax", "data_dir = \n", nil, "agent.toml:1: data_dir: ", "expected value"},
		{"unknown top-level key", "datadir = \"/x\"\n" + minimal, nil, "agent.toml:1: datadir: ", "unknown key (did you mean data_dir?)"},
		{"section at top level", "[poll]\ninterval = \"5m\"\n", nil, "agent.toml:1: poll: ", "[instance.poll]"},
		{"unknown section key", minimal + "[instance.poll]\nintervall = \"5m\"\n", nil, "agent.toml:8: instance.poll.intervall: ", "did you mean interval?"},
		{"unknown instance key", minimal + "nme = \"b\"\n", nil, "agent.toml:7: instance.callback.nme: ", "unknown key"},
		{"instance as a table", "[instance]\nname = \"a\"\n", nil, "agent.toml:1: instance: ", "[[instance]]"},
		{"type mismatch", strings.Replace(minimal, `name = "a"`, "name = \"a\"\ntags = \"x\"", 1), nil, "agent.toml:3: instance.tags: ", `must be an array of strings, got a string ("x")`},
		{"empty tag", strings.Replace(minimal, `name = "a"`, "name = \"a\"\ntags = [\"\"]", 1), nil, "agent.toml:3: instance.tags[0]: ", "must not be empty"},
		{"enabled not bool", strings.Replace(minimal, `name = "a"`, "name = \"a\"\nenabled = \"yes\"", 1), nil, "agent.toml:3: instance.enabled: ", "true or false"},
		{"name missing", strings.Replace(minimal, "name = \"a\"\n", "", 1), nil, "agent.toml:1: instance.name: ", "required"},
		{"name invalid", strings.Replace(minimal, `name = "a"`, `name = "Finance Dept"`, 1), nil, "agent.toml:2: instance.name: ", `"Finance Dept": use 1 to 64 of a-z`},
		{"name duplicate", minimal + minimal, nil, "agent.toml:8: instance.name: ", `"a" is already the name of the instance on line 2`},
		{"flow", minimal + "[instance.auth]\n", nil, "", ""}, // placeholder replaced below
		{"tenant", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\ntenant = \"a b\"", 1), nil, "agent.toml:5: instance.auth.tenant: ", "tenant id or a domain"},
		{"client_credentials common tenant", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"client_credentials\"\nclient_secret = \"s\"\n[instance.drive]\ndrive = \"user:a@b.c\"", 1), nil, "agent.toml:3: instance.auth.tenant: ", "needs your tenant id or domain"},
		{"client_id missing", strings.Replace(minimal, "client_id = \"id\"\n", "flow = \"device\"\n", 1), nil, "agent.toml:3: instance.auth.client_id: ", "required"},
		{"client_id empty", strings.Replace(minimal, `client_id = "id"`, `client_id = ""`, 1), nil, "agent.toml:4: instance.auth.client_id: ", "must not be empty"},
		{"client_secret missing", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"client_credentials\"\ntenant = \"contoso.com\"\n[instance.drive]\ndrive = \"drive1\"", 1), nil, "agent.toml:3: instance.auth.client_secret: ", "required with flow = \"client_credentials\""},
		{"secret and secret_file", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nclient_secret = \"x\"\nclient_secret_file = \"f\"", 1), nil, "agent.toml:6: instance.auth.client_secret: ", "give client_secret or client_secret_file, not both"},
		{"env unset", strings.Replace(minimal, `client_id = "id"`, `client_id = "${OD_ID}"`, 1), nil, "agent.toml:4: instance.auth.client_id: ", "environment variable OD_ID is not set"},
		{"env bad name", strings.Replace(minimal, `client_id = "id"`, `client_id = "${1X}"`, 1), nil, "agent.toml:4: instance.auth.client_id: ", "not an environment variable name"},
		{"env unterminated", strings.Replace(minimal, `client_id = "id"`, `client_id = "${X"`, 1), nil, "agent.toml:4: instance.auth.client_id: ", "without a closing"},
		{"secret file missing", minimal + "signature_key_file = \"" + filepath.Join(dir, "nope") + "\"\n", nil, "agent.toml:7: instance.callback.signature_key_file: ", "cannot read " + filepath.Join(dir, "nope") + ": no such file"},
		{"secret file empty", minimal + "signature_key_file = \"" + empty + "\"\n", nil, "agent.toml:7: instance.callback.signature_key_file: ", "is empty"},
		{"redirect_url", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"code\"\nredirect_url = \"localhost:80\"", 1), nil, "agent.toml:6: instance.auth.redirect_url: ", "not an absolute http(s) URL"},
		{"browser redirect not loopback", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"browser\"\nredirect_url = \"https://example.com/cb\"", 1), nil, "agent.toml:6: instance.auth.redirect_url: ", "loopback"},
		{"scope with space", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nscopes = [\"Files.Read offline_access\"]", 1), nil, "agent.toml:5: instance.auth.scopes[0]: ", "one non-empty word"},
		{"cloud", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\ncloud = \"germany\"", 1), nil, "agent.toml:5: instance.auth.cloud: ", "global, usgov, usgov-dod or china"},
		{"login_url query", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nlogin_url = \"https://login.example/?x=1\"", 1), nil, "agent.toml:5: instance.auth.login_url: ", "query"},
		{"graph_url scheme", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\ngraph_url = \"ftp://graph\"", 1), nil, "agent.toml:5: instance.auth.graph_url: ", "http(s)"},
		{"graph_url http", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\ngraph_url = \"http://graph.microsoft.com/v1.0\"", 1), nil, "agent.toml:5: instance.auth.graph_url: ", "must start with https://"},
		{"login_url http", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nlogin_url = \"http://login.example\"", 1), nil, "agent.toml:5: instance.auth.login_url: ", "must start with https://"},
		{"drive form", minimal + "[instance.drive]\ndrive = \"users:bob\"\n", nil, "agent.toml:8: instance.drive.drive: ", "use me, user:<upn or id>, site:<site id>, site:<host>:/sites/NAME, a SharePoint library URL or a drive id"},
		{"drive url http", minimal + "[instance.drive]\ndrive = \"http://contoso.sharepoint.com/sites/X/Shared%20Documents\"\n", nil, "agent.toml:8: instance.drive.drive: ", "https://"},
		{"drive site path", minimal + "[instance.drive]\ndrive = \"site:contoso.sharepoint.com:sites/X\"\n", nil, "agent.toml:8: instance.drive.drive: ", "site:<host>:/sites/NAME"},
		{"me with client_credentials", strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"client_credentials\"\ntenant = \"contoso.com\"\nclient_secret = \"s\"", 1), nil, "agent.toml:1: instance.drive.drive: ", "use \"user:<upn>\" or a drive id"},
		{"folder relative", minimal + "[instance.drive]\nfolder = \"Finance\"\n", nil, "agent.toml:8: instance.drive.folder: ", "must start with \"/\""},
		{"folder dotdot", minimal + "[instance.drive]\nfolder = \"/a/../b\"\n", nil, "agent.toml:8: instance.drive.folder: ", "\"..\""},
		{"include glob", minimal + "[instance.drive]\ninclude = [\"*.pdf\", \"[a\"]\n", nil, "agent.toml:8: instance.drive.include[1]: ", "malformed pattern"},
		{"exclude glob", minimal + "[instance.drive]\nexclude = [\"a//b\"]\n", nil, "agent.toml:8: instance.drive.exclude[0]: ", "empty path segment"},
		{"interval not a duration", minimal + "[instance.poll]\ninterval = \"5\"\n", nil, "agent.toml:8: instance.poll.interval: ", `"5" is not a duration (e.g. "5m")`},
		{"interval integer", minimal + "[instance.poll]\ninterval = 300\n", nil, "agent.toml:8: instance.poll.interval: ", "300 is not a duration"},
		{"interval too short", minimal + "[instance.poll]\ninterval = \"5s\"\n", nil, "agent.toml:8: instance.poll.interval: ", "shorter than the minimum of 10s"},
		{"interval too long", minimal + "[instance.poll]\ninterval = \"25h\"\n", nil, "agent.toml:8: instance.poll.interval: ", "longer than 24h"},
		{"interval and schedule", minimal + "[instance.poll]\ninterval = \"5m\"\nschedule = \"* * * * *\"\n", nil, "agent.toml:9: instance.poll.interval: ", "give interval or schedule, not both"},
		{"cron", minimal + "[instance.poll]\nschedule = \"0 25 * * *\"\n", nil, "agent.toml:8: instance.poll.schedule: ", "not a 5-field cron expression"},
		{"timezone", minimal + "[instance.poll]\ntimezone = \"Mars/Olympus\"\n", nil, "agent.toml:8: instance.poll.timezone: ", "not a time zone"},
		{"active_hours syntax", minimal + "[instance.poll]\nactive_hours = [\n  \"Mon-Fri 07:00-19:00\",\n  \"Mon-Fri 7-19\",\n]\n", nil, "agent.toml:10: instance.poll.active_hours[1]: ", "not a time of day"},
		{"active_hours never", minimal + "[instance.poll]\nschedule = \"0 3 * * *\"\nactive_hours = [\"07:00-19:00\"]\n", nil, "agent.toml:9: instance.poll.active_hours: ", "falls inside these active hours"},
		{"initial", minimal + "[instance.poll]\ninitial = \"full\"\n", nil, "agent.toml:8: instance.poll.initial: ", "baseline or backfill"},
		{"max_queue", minimal + "[instance.poll]\nmax_queue = 0\n", nil, "agent.toml:8: instance.poll.max_queue: ", "at least 1"},
		{"push", minimal + "[instance.poll]\npush = \"on\"\n", nil, "agent.toml:8: instance.poll.push: ", "auto or off"},
		{"debounce negative", minimal + "[instance.poll]\ndebounce = \"-1s\"\n", nil, "agent.toml:8: instance.poll.debounce: ", "outside 0s..5m0s"},
		{"debounce not a duration", minimal + "[instance.poll]\ndebounce = 1\n", nil, "agent.toml:8: instance.poll.debounce: ", "not a duration"},
		{"callback url missing", strings.Replace(minimal, "url = \"https://hook.example/x\"\n", "", 1), nil, "agent.toml:5: instance.callback.url: ", "required"},
		{"callback url no section", strings.Replace(minimal, "[instance.callback]\nurl = \"https://hook.example/x\"\n", "", 1), nil, "agent.toml:1: instance.callback.url: ", "required"},
		{"callback url scheme", strings.Replace(minimal, "https://hook.example/x", "hook.example/x", 1), nil, "agent.toml:6: instance.callback.url: ", "not an absolute http(s) URL"},
		{"max_events 0", minimal + "max_events = 0\n", nil, "agent.toml:7: instance.callback.max_events: ", "from 1 to 1000"},
		{"max_events 1001", minimal + "max_events = 1001\n", nil, "agent.toml:7: instance.callback.max_events: ", "from 1 to 1000"},
		{"timeout zero", minimal + "timeout = \"0s\"\n", nil, "agent.toml:7: instance.callback.timeout: ", "must be positive"},
		{"retry_max negative", minimal + "retry_max = \"-1s\"\n", nil, "agent.toml:7: instance.callback.retry_max: ", "must be positive"},
		{"retry_initial above max", minimal + "retry_initial = \"10m\"\n", nil, "agent.toml:7: instance.callback.retry_initial: ", "longer than retry_max (5m0s)"},
		{"header reserved", minimal + "headers = { content-type = \"text/plain\" }\n", nil, "agent.toml:7: instance.callback.headers.content-type: ", "Content-Type is set by the agent"},
		{"header signature", minimal + "[instance.callback.headers]\n\"Elements-Webhook-Signature\" = \"x\"\n", nil, "agent.toml:8: instance.callback.headers.Elements-Webhook-Signature: ", "cannot be overridden"},
		{"header name", minimal + "headers = { \"X Bad\" = \"v\" }\n", nil, "agent.toml:7: instance.callback.headers.X Bad: ", "not a valid header name"},
		{"header value type", minimal + "headers = { X-Num = 5 }\n", nil, "agent.toml:7: instance.callback.headers.X-Num: ", "must be a string"},
		{"webhook_secret prefix", minimal + "webhook_secret = \"abc\"\n", nil, "agent.toml:7: instance.callback.webhook_secret: ", "must start with whsec_"},
		{"webhook_secret base64", minimal + "webhook_secret = \"whsec_***\"\n", nil, "agent.toml:7: instance.callback.webhook_secret: ", "base64"},
		{"ca_file missing", minimal + "ca_file = \"" + filepath.Join(dir, "nope.pem") + "\"\n", nil, "agent.toml:7: instance.callback.ca_file: ", "cannot read"},
		{"ca_file not PEM", "[network]\nca_file = \"" + notPEM + "\"\n" + minimal, nil, "agent.toml:2: network.ca_file: ", "no PEM certificate"},
		{"proxy", "[network]\nproxy = \"proxy.corp:3128\"\n" + minimal, nil, "agent.toml:2: network.proxy: ", "not a proxy URL"},
		{"proxy scheme", "[network]\nproxy = \"ftp://proxy.corp:3128\"\n" + minimal, nil, "agent.toml:2: network.proxy: ", "http, https or socks5"},
		{"log level", "[log]\nlevel = \"verbose\"\n" + minimal, nil, "agent.toml:2: log.level: ", "debug, info, warn or error"},
		{"log format", "[log]\nformat = \"xml\"\n" + minimal, nil, "agent.toml:2: log.format: ", "text or json"},
		{"admin listen", "[admin]\nlisten = \"8720\"\n" + minimal, nil, "agent.toml:2: admin.listen: ", "not host:port"},
		{"admin hosts url", "[admin]\nhosts = [\"ok.example\", \"https://agent.example/\"]\n" + minimal, nil, "agent.toml:2: admin.hosts[1]: ", "not a host name or address"},
		{"admin hosts type", "[admin]\nhosts = \"agent.example\"\n" + minimal, nil, "agent.toml:2: admin.hosts: ", "an array of strings"},
		{"admin port", "[admin]\nlisten = \"127.0.0.1:99999\"\n" + minimal, nil, "agent.toml:2: admin.listen: ", "port must be a number"},
		{"data_dir empty", "data_dir = \"\"\n" + minimal, nil, "agent.toml:1: data_dir: ", "must not be empty"},
		{"defaults name", "[defaults]\nname = \"x\"\n" + minimal, nil, "agent.toml:2: defaults.name: ", "every instance needs its own name"},
		{"defaults value", "[defaults.poll]\ninterval = \"fast\"\n" + minimal + minimal[:len(minimal)-1] + "\n", nil, "", ""},
		{"defaults value without instances", "[defaults.poll]\ninterval = \"fast\"\n", nil, "agent.toml:2: defaults.poll.interval: ", `"fast" is not a duration`},
		{"defaults section type", "[defaults]\npoll = 5\n" + minimal, nil, "agent.toml:2: defaults.poll: ", "must be a table"},
	}
	// Fix the two rows whose expectations need the row's own text.
	for i := range tests {
		switch tests[i].name {
		case "flow":
			tests[i].toml = strings.Replace(minimal, `client_id = "id"`, "client_id = \"id\"\nflow = \"password\"", 1)
			tests[i].prefix, tests[i].msg = "agent.toml:5: instance.auth.flow: ", "device, browser, code or client_credentials"
		case "defaults value":
			// Two instances inherit the bad default: reported once, at the default.
			tests[i].toml = "[defaults.poll]\ninterval = \"fast\"\n" + minimal + strings.Replace(minimal, `"a"`, `"b"`, 1)
			tests[i].prefix, tests[i].msg = "agent.toml:2: defaults.poll.interval: ", `"fast" is not a duration`
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("agent.toml", []byte(tt.toml), envOf(tt.env))
			lines := errLines(err)
			if len(lines) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%v", len(lines), err)
			}
			if !strings.HasPrefix(lines[0], tt.prefix) || !strings.Contains(lines[0], tt.msg) {
				t.Errorf("error\n  %s\nwant prefix %q containing %q", lines[0], tt.prefix, tt.msg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *config.Error: %T", err)
			}
		})
	}
}

func TestParse_AllProblems(t *testing.T) {
	data := "[log]\nlevel = \"loud\"\n" + minimal + "[instance.poll]\ninterval = \"1s\"\ninitial = \"x\"\n"
	_, err := Parse("/etc/onedrive-agent/agent.toml", []byte(data), nil)
	want := []string{
		`/etc/onedrive-agent/agent.toml:2: log.level: must be debug, info, warn or error, got "loud"`,
		`/etc/onedrive-agent/agent.toml:10: instance.poll.interval: 1s is shorter than the minimum of 10s`,
		`/etc/onedrive-agent/agent.toml:11: instance.poll.initial: must be baseline or backfill, got "x"`,
	}
	if got := errLines(err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParse_SecretsNotShown(t *testing.T) {
	const secret = "TOPSECRET"
	data := `[[instance]]
name = "a"
[instance.auth]
client_id = "id"
client_secret = 42
[instance.callback]
url = "https://hook.example/x"
signature_key = ["TOPSECRET"]
webhook_secret = "TOPSECRET"
headers = { Authorization = 7, X-Key = "${TOPSECRET_MISSING}" }
`
	_, err := Parse("agent.toml", []byte(data), envOf(map[string]string{"S": secret}))
	if err == nil {
		t.Fatal("want errors")
	}
	if n := len(errLines(err)); n != 5 {
		t.Errorf("want 5 errors, got %d:\n%v", n, err)
	}
	for _, l := range errLines(err) {
		if strings.Contains(strings.ReplaceAll(l, "TOPSECRET_MISSING", ""), secret) || strings.Contains(l, "42") {
			t.Errorf("a secret value leaks: %s", l)
		}
	}
	// A secret read from the environment is not shown either.
	data = strings.Replace(data, "client_secret = 42", "client_secret = \"${S}\"", 1)
	data = strings.Replace(data, `signature_key = ["TOPSECRET"]`, `signature_key = "${S}"`, 1)
	data = strings.Replace(data, `webhook_secret = "TOPSECRET"`, `webhook_secret = "${S}"`, 1)
	data = strings.Replace(data, `headers = { Authorization = 7, X-Key = "${TOPSECRET_MISSING}" }`, `headers = { Authorization = "${S}" }`, 1)
	cfg, err := Parse("agent.toml", []byte(data), envOf(map[string]string{"S": secret}))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("want only the whsec_ error, without the value: %v", err)
	}
	if cfg != nil {
		t.Error("config returned with an error")
	}
}

func TestParse_LogLevels(t *testing.T) {
	tests := []struct {
		log              string
		level, delivered slog.Level
		err              string
	}{
		{"", slog.LevelInfo, slog.LevelInfo, ""},
		{`level = "DEBUG"`, slog.LevelDebug, slog.LevelInfo, ""},
		{`level = "warning"`, slog.LevelWarn, slog.LevelInfo, ""},
		{`level = "error"` + "\n" + `deliveries = "Debug"`, slog.LevelError, slog.LevelDebug, ""},
		{`level = "loud"`, 0, 0, `log.level: must be debug, info, warn or error, got "loud"`},
		{`deliveries = "warn"`, 0, 0, `log.deliveries: must be info or debug, got "warn"`},
		{`level = 3`, 0, 0, "log.level"},
	}
	for _, tt := range tests {
		t.Run(tt.log, func(t *testing.T) {
			cfg, err := Parse("agent.toml", []byte("[log]\n"+tt.log+"\n"+minimal), nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Log.Level != tt.level || cfg.Log.Deliveries != tt.delivered {
				t.Errorf("level %v, deliveries %v, want %v and %v", cfg.Log.Level, cfg.Log.Deliveries, tt.level, tt.delivered)
			}
		})
	}
}

// A broker's password is a secret like the others: no error shows it.
func TestParse_PasswordNotShown(t *testing.T) {
	for _, pw := range []string{`password = 4242`, `password = ["TOPSECRET"]`, `password = "TOPSECRET"`} {
		t.Run(pw, func(t *testing.T) {
			data := "[[instance]]\nname = \"a\"\n[instance.auth]\nclient_id = \"id\"\n[instance.callback]\nurl = \"kafka://k:9092/t\"\n" + pw + "\n"
			_, err := Parse("agent.toml", []byte(data), nil)
			if err == nil || !strings.Contains(err.Error(), "password") {
				t.Fatalf("want an error about the password, got %v", err)
			}
			if strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "4242") {
				t.Errorf("the password leaks: %v", err)
			}
		})
	}
}
