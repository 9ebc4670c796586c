package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/schedule"
	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// Defaults of the keys of agent.toml that are not platform dependent.
const (
	DefaultLogLevel    = "info"
	DefaultLogFormat   = "text"
	DefaultAdminListen = "127.0.0.1:8720"
	DefaultFlow        = FlowDevice
	DefaultTenant      = "common"
	DefaultRedirectURL = "http://localhost:53682/"
	DefaultCloud       = "global"
	DefaultDrive       = "me"
	DefaultFolder      = "/"
	DefaultInterval    = 5 * time.Minute
	MinInterval        = 10 * time.Second
	DefaultTimezone    = "UTC"
	DefaultInitial     = InitialBaseline
	DefaultMaxQueue    = 1000000
	DefaultPush        = PushAuto
	DefaultDebounce    = time.Second
	MaxDebounce        = 5 * time.Minute
	DefaultMaxEvents   = 10
	// DefaultBrokerMaxEvents is max_events for kafka:// and nats:// callbacks.
	DefaultBrokerMaxEvents = 100
	MaxMaxEvents           = 1000
	DefaultTimeout         = 30 * time.Second
	DefaultRetryInitial    = time.Second
	DefaultRetryMax        = 5 * time.Minute
)

// Sinks, chosen by the scheme of callback.url.
const (
	SinkWebhook = "webhook" // http://, https://
	SinkKafka   = "kafka"   // kafka://host:port[,host:port…]/topic
	SinkNATS    = "nats"    // nats://host:port[,host:port…]/subject
)

// Formats of the HTTP callback (callback.format).
const (
	FormatOpenCon           = "opencon"            // Open Connectors' message envelope
	FormatCloudEvents       = "cloudevents"        // one structured CloudEvent per request
	FormatCloudEventsBinary = "cloudevents-binary" // one binary-mode CloudEvent per request
)

// SASL mechanisms of the Kafka sink (callback.sasl).
const (
	SASLPlain    = "plain"
	SASLScram256 = "scram-sha-256"
	SASLScram512 = "scram-sha-512"
)

// Sign-in flows (auth.flow).
const (
	FlowDevice            = "device"             // device code
	FlowBrowser           = "browser"            // authorization code with PKCE on a loopback redirect
	FlowCode              = "code"               // an authorization code obtained elsewhere (login --code)
	FlowClientCredentials = "client_credentials" // app-only with a client secret
)

// Initial behaviours of a new instance (poll.initial).
const (
	InitialBaseline = "baseline" // index the drive silently, report later changes
	InitialBackfill = "backfill" // report every existing item as CREATED
)

// Push modes (poll.push).
const (
	PushAuto = "auto" // Graph's socket.io notifications where the sign-in allows it
	PushOff  = "off"  // poll only
)

// Config is a validated agent.toml. Every field holds its effective value (defaults applied).
type Config struct {
	File      string     // the path the configuration was read from (the name given to Parse)
	DataDir   string     // BoltDB file and admin token
	Log       Log        // [log]
	Admin     Admin      // [admin]
	Network   Network    // [network]
	Fleet     Fleet      // [fleet]
	Instances []Instance // [[instance]] in file order, names unique
	Warnings  []string   // things that work but deserve a look, each "file:line: key: text"
}

// Log is [log].
type Log struct {
	Level      slog.Level // debug, info, warn, error
	Format     string     // "text" or "json"
	Deliveries slog.Level // level of the line logged per delivered message: info (default) or debug
}

// Admin is [admin].
type Admin struct {
	Listen string // host:port of the admin API; "" turns it off
	// Hosts are further names (lowercase, without port) the admin listener
	// answers to in the Host header, e.g. the name of a reverse proxy.
	Hosts []string
}

// Network is [network], used for every outbound request.
type Network struct {
	Proxy  *url.URL // nil: HTTPS_PROXY / NO_PROXY from the environment
	CAFile string   // extra CA certificates (PEM, checked readable); "" for none
}

// Instance is one [[instance]] with [defaults] merged in.
type Instance struct {
	Name     string   // unique, [a-z0-9_-]+
	Tags     []string // never nil
	Enabled  bool
	Auth     Auth
	Drive    Drive
	Poll     Poll
	Callback Callback
	// Unresolved lists the secrets ParseDeferSecrets could not resolve (an unset ${NAME},
	// an unreadable *_file); they are "" above. Always nil from Parse and Load.
	Unresolved []*Error
}

// SecretErr returns the problems of the instance's unresolved secrets in the given
// sections ("auth", "callback"; none means all), joined, or nil when those secrets are
// resolved. Each names the file, the line, the key and the variable or file, and says how to
// provide it.
func (i Instance) SecretErr(sections ...string) error {
	var errs []error
	for _, e := range i.Unresolved {
		if len(sections) > 0 && !inSections(e.Key, sections) {
			continue
		}
		c := *e
		c.Msg += " (this command needs the secret: set the variable here as the service's environment does, or give the secret as a <key>_file readable by this user)"
		errs = append(errs, &c)
	}
	return errors.Join(errs...)
}

// inSections reports whether a key such as "instance.auth.client_secret" or
// "defaults.callback.headers.X" lies in one of sections.
func inSections(key string, sections []string) bool {
	for _, s := range sections {
		if strings.Contains(key, "."+s+".") {
			return true
		}
	}
	return false
}

// Auth is [instance.auth]. Its fields are those of connector.AuthConfig, in the same order,
// so the runtime can convert it: connector.AuthConfig(inst.Auth).
type Auth struct {
	Flow         string   // FlowDevice, FlowBrowser, FlowCode or FlowClientCredentials
	Tenant       string   // common, organizations, consumers, a tenant id or a domain
	ClientID     string   // never empty
	ClientSecret string   // "" when not configured; a secret: never log it
	RedirectURL  string   // absolute http(s) URL; loopback http for the browser flow
	Scopes       []string // nil: the connector's default for the flow and cloud
	Cloud        string   // global, usgov, usgov-dod or china
	LoginURL     string   // "" or an override of the cloud's sign-in root
	GraphURL     string   // "" or an override of the cloud's Graph root with version
	// ClientCertificateFile is "" or the PEM file (certificate and private key) that signs
	// the client assertions of flow client_credentials instead of a client secret.
	ClientCertificateFile string
}

// Drive is [instance.drive].
type Drive struct {
	Spec  string // "me", a drive id, "user:<upn or id>" or "site:<site id>"
	Scope Scope  // folder, include, exclude
	// Tenant is set when Spec is "all-users", "all-sites" or "all": a tenant-wide instance.
	Tenant *Tenant
}

// Poll is [instance.poll].
type Poll struct {
	Interval    time.Duration      // 0 when Cron is set
	Cron        string             // "" when Interval is set
	Location    *time.Location     // zone of the schedule and the active hours
	ActiveHours []string           // windows as written (validated)
	Schedule    *schedule.Schedule // built from the four fields above
	Initial     string             // InitialBaseline or InitialBackfill
	MaxQueue    int64              // queued events at which polling pauses, >= 1
	Push        string             // PushAuto or PushOff
	Debounce    time.Duration      // notifications within this window lead to one poll, 0..MaxDebounce
	// RequestsPerSecond bounds the instance's Graph requests (0: no bound; tenant-wide
	// instances default to DefaultRequestsPerSecond); Concurrency is the drives polled at once.
	RequestsPerSecond float64
	Concurrency       int
}

// Callback is [instance.callback].
type Callback struct {
	URL           string        // http(s), kafka:// or nats:// URL
	Sink          string        // SinkWebhook, SinkKafka or SinkNATS: the URL's scheme
	Servers       []string      // kafka, nats: "host:port" of each server, in the URL's order
	Topic         string        // kafka: the topic; nats: the subject
	Format        string        // webhook: FormatOpenCon, FormatCloudEvents or FormatCloudEventsBinary
	Username      string        // kafka: SASL user; nats: user
	Password      string        // a secret
	SASL          string        // kafka with a username: SASLPlain, SASLScram256 or SASLScram512
	TLS           bool          // kafka, nats: connect with TLS (CAFile adds CAs)
	SignatureKey  string        // Open Connectors HMAC key; "" for none; a secret
	WebhookSecret string        // "whsec_..." as configured; "" for none; a secret
	WebhookKey    []byte        // WebhookSecret base64-decoded: the Standard Webhooks HMAC key
	Headers       http.Header   // extra request headers (canonical names, one value each)
	MaxEvents     int           // events per POST, 1..1000
	Timeout       time.Duration // per request, > 0
	CAFile        string        // extra CA certificates (PEM, checked readable); "" for none
	RetryInitial  time.Duration // first backoff, > 0, <= RetryMax
	RetryMax      time.Duration // backoff cap
}

// Scope returns the fingerprint of the instance's drive and folder that the runtime stores
// (store.State.Scope): when it changes, the instance must be baselined again.
func (i Instance) Scope() string {
	return fmt.Sprintf("drive=%s;folder=%s", i.Drive.Spec, i.Drive.Scope.Folder)
}

// Instance returns the instance with the given name.
func (c *Config) Instance(name string) (Instance, bool) {
	for _, in := range c.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// Default returns the configuration of an empty agent.toml: defaults everywhere, no instances.
func Default() *Config {
	return &Config{
		DataDir: DefaultDataDir(os.Getenv),
		Log:     Log{Level: slog.LevelInfo, Format: DefaultLogFormat},
		Admin:   Admin{Listen: DefaultAdminListen},
	}
}

// Load reads and validates the configuration file at path with the process environment.
// Errors name the path as given. A configuration file another user could have written (see
// safefile.TrustProblem) comes first in Warnings: whoever can change it can point the agent's
// tokens at another server or have a *_file read any file this user can read.
func Load(path string) (*Config, error) {
	return load(path, Parse)
}

// LoadDeferSecrets is Load with ParseDeferSecrets.
func LoadDeferSecrets(path string) (*Config, error) {
	return load(path, ParseDeferSecrets)
}

func load(path string, parse func(string, []byte, func(string) (string, bool)) (*Config, error)) (*Config, error) {
	data, fi, err := readConfig(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w (create it from agent.toml.example, or give another with -c)", err)
	}
	cfg, err := parse(path, data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if why := safefile.TrustProblem(fi); why != "" {
		w := (&Error{File: path, Msg: fmt.Sprintf("this configuration file %s: another user could change where the agent sends "+
			"its tokens and which files it reads; chmod go-w and chown it to this user or root, or give another file with -c", why)}).Error()
		cfg.Warnings = append([]string{w}, cfg.Warnings...)
	}
	return cfg, nil
}

// readConfig reads the file at path and returns it with the information of
// the file it read.
func readConfig(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	return data, fi, err
}

// resolvePath makes a relative path relative to the directory of the configuration file.
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" || dir == "." || isWindowsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// isWindowsAbs reports C:\... and \\server\... paths, also when not running on Windows.
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		return true
	}
	return len(p) >= 2 && p[0] == '\\' && p[1] == '\\'
}
