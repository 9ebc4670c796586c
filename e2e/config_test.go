package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Manual is a cron schedule that never fires: the agent polls once at its
// first start and afterwards only when a test asks (poll command or admin
// API), so the test knows the drive's state at every round.
const Manual = "0 0 30 2 *"

// AgentConfig is an agent.toml for the tests; TOML renders it.
type AgentConfig struct {
	DataDir   string
	AdminAddr string // [admin].listen; "" turns the admin API off
	LogLevel  string // default "info"
	Instances []InstanceConfig
}

// InstanceConfig is one [[instance]]. Empty strings and zero numbers are
// left out of the file, so the agent's defaults apply.
type InstanceConfig struct {
	Name         string
	Flow         string // default client_credentials
	Tenant       string // default "contoso.example"
	ClientID     string
	ClientSecret string
	RedirectURL  string
	LoginURL     string
	GraphURL     string
	Drive        string
	Interval     string // e.g. "10s"
	Schedule     string // cron, e.g. Manual
	MaxQueue     int
	CallbackURL  string
	SignatureKey string
	MaxEvents    int
	Timeout      string
	RetryInitial string
	RetryMax     string
}

// TOML renders the configuration.
func (c AgentConfig) TOML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir = %q\n\n[log]\nlevel = %q\n\n[admin]\nlisten = %q\n", c.DataDir, or(c.LogLevel, "info"), c.AdminAddr)
	for _, in := range c.Instances {
		fmt.Fprintf(&b, "\n[[instance]]\nname = %q\ntags = [\"e2e\"]\n", in.Name)
		fmt.Fprintf(&b, "\n[instance.auth]\nflow = %q\ntenant = %q\nclient_id = %q\n",
			or(in.Flow, "client_credentials"), or(in.Tenant, "contoso.example"), in.ClientID)
		opt(&b, "client_secret", in.ClientSecret)
		opt(&b, "redirect_url", in.RedirectURL)
		opt(&b, "login_url", in.LoginURL)
		opt(&b, "graph_url", in.GraphURL)
		fmt.Fprintf(&b, "\n[instance.drive]\ndrive = %q\n", in.Drive)
		b.WriteString("\n[instance.poll]\n")
		opt(&b, "interval", in.Interval)
		opt(&b, "schedule", in.Schedule)
		if in.MaxQueue > 0 {
			fmt.Fprintf(&b, "max_queue = %d\n", in.MaxQueue)
		}
		fmt.Fprintf(&b, "\n[instance.callback]\nurl = %q\n", in.CallbackURL)
		opt(&b, "signature_key", in.SignatureKey)
		if in.MaxEvents > 0 {
			fmt.Fprintf(&b, "max_events = %d\n", in.MaxEvents)
		}
		opt(&b, "timeout", in.Timeout)
		opt(&b, "retry_initial", in.RetryInitial)
		opt(&b, "retry_max", in.RetryMax)
	}
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func opt(b *strings.Builder, key, v string) {
	if v != "" {
		fmt.Fprintf(b, "%s = %q\n", key, v)
	}
}

// Write writes the configuration to path.
func (c AgentConfig) Write(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(c.TOML()), 0o600); err != nil {
		t.Fatalf("write config: %v", err)
	}
}
