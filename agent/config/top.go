package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"
)

var (
	rootKeys     = []string{"data_dir", "log", "admin", "network", "fleet", "defaults", "instance"}
	logKeys      = []string{"level", "format", "deliveries"}
	adminKeys    = []string{"listen", "hosts"}
	networkKeys  = []string{"proxy", "ca_file"}
	fleetKeys    = []string{"shards", "shard", "handover"}
	instanceKeys = []string{"name", "tags", "enabled", "auth", "drive", "poll", "callback"}
	defaultsKeys = []string{"tags", "enabled", "auth", "drive", "poll", "callback"}
)

var rootHints = map[string]string{
	"auth":     "it belongs in [instance.auth] after an [[instance]], or in [defaults.auth]",
	"drive":    "it belongs in [instance.drive] after an [[instance]], or in [defaults.drive]",
	"poll":     "it belongs in [instance.poll] after an [[instance]], or in [defaults.poll]",
	"callback": "it belongs in [instance.callback] after an [[instance]], or in [defaults.callback]",
	"name":     "an instance's name belongs after [[instance]]",
}

func (p *parser) config(root *table) *Config {
	getenv := func(k string) string { v, _ := p.env(k); return v }
	cfg := &Config{
		DataDir: defaultDataDir(runtime.GOOS, getenv),
		Log:     Log{Level: slog.LevelInfo, Format: DefaultLogFormat},
		Admin:   Admin{Listen: DefaultAdminListen},
	}
	root.unknown(rootKeys, rootHints)
	if _, ok := root.m["data_dir"]; ok {
		f := root.field("data_dir")
		if s, ok := p.path(f); ok {
			if s == "" {
				p.errf(f.line, f.key, "must not be empty")
			} else {
				cfg.DataDir = s
			}
		}
	}
	if t := root.sub("log"); t != nil {
		p.logSection(t, &cfg.Log)
	}
	if t := root.sub("admin"); t != nil {
		t.unknown(adminKeys, nil)
		if _, ok := t.m["listen"]; ok {
			f := t.field("listen")
			if s, ok := p.str(f); ok {
				cfg.Admin.Listen = s
				p.checkListen(f, s)
			}
		}
		if _, ok := t.m["hosts"]; ok {
			p.adminHosts(t.field("hosts"), &cfg.Admin)
		}
	}
	if t := root.sub("network"); t != nil {
		p.networkSection(t, &cfg.Network)
	}
	cfg.Fleet = Fleet{Shards: 1, Handover: DefaultHandover}
	if t := root.sub("fleet"); t != nil {
		p.fleetSection(t, &cfg.Fleet)
	}
	defaults := root.sub("defaults")
	if defaults != nil {
		defaults.unknown(defaultsKeys, map[string]string{"name": "every instance needs its own name"})
	}
	tables := p.instanceTables(root)
	if len(tables) == 0 {
		if defaults != nil {
			// Check the defaults alone; what an instance lacks is not a problem yet.
			before := len(p.errs)
			synthetic := &table{p: p, m: map[string]any{}, path: "instance[-1]", name: "instance"}
			p.instance(synthetic, defaults)
			kept := p.errs[:before]
			for _, e := range p.errs[before:] {
				if strings.HasPrefix(e.Key, "defaults.") {
					kept = append(kept, e)
				}
			}
			p.errs = kept
		}
		p.warnf(0, "", "no [[instance]] configured: there is nothing to poll")
		return cfg
	}
	names := map[string]int{}
	for _, t := range tables {
		in := p.instance(t, defaults)
		if in.Name != "" {
			if line, dup := names[in.Name]; dup {
				f := t.field("name")
				p.errf(f.line, f.key, "%q is already the name of the instance on line %d; names must be unique", in.Name, line)
			} else {
				names[in.Name] = t.field("name").line
			}
		}
		cfg.Instances = append(cfg.Instances, in)
	}
	return cfg
}

// instanceTables returns the [[instance]] tables.
func (p *parser) instanceTables(root *table) []*table {
	v, ok := root.m["instance"]
	if !ok {
		return nil
	}
	f := root.field("instance")
	var list []map[string]any
	switch x := v.(type) {
	case []map[string]any:
		list = x
	case []any:
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				p.errf(f.line, fmt.Sprintf("instance[%d]", i), "must be a table, got %s", describe(e, false))
				continue
			}
			list = append(list, m)
		}
	default:
		p.errf(f.line, f.key, "write each instance as [[instance]] (an array of tables), got %s", describe(v, false))
		return nil
	}
	out := make([]*table, len(list))
	for i, m := range list {
		path := fmt.Sprintf("instance[%d]", i)
		line, ok := p.lines[path]
		if !ok {
			line = f.line
		}
		out[i] = &table{p: p, m: m, path: path, name: "instance", line: line}
	}
	return out
}

// The words of log.level and log.deliveries.
var (
	logLevels      = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError}
	deliveryLevels = map[string]slog.Level{"info": slog.LevelInfo, "debug": slog.LevelDebug}
)

func (p *parser) logSection(t *table, l *Log) {
	t.unknown(logKeys, nil)
	p.level(t, "level", logLevels, "debug, info, warn or error", &l.Level)
	p.level(t, "deliveries", deliveryLevels, "info or debug", &l.Deliveries)
	if _, ok := t.m["format"]; ok {
		f := t.field("format")
		if s, ok := p.str(f); ok {
			switch strings.ToLower(s) {
			case "text", "json":
				l.Format = strings.ToLower(s)
			default:
				p.errf(f.line, f.key, "must be text or json, got %q", s)
			}
		}
	}
}

// level reads key of t, when set, as one of the words of levels (any case);
// words lists them for the error.
func (p *parser) level(t *table, key string, levels map[string]slog.Level, words string, dst *slog.Level) {
	if _, ok := t.m[key]; !ok {
		return
	}
	f := t.field(key)
	s, ok := p.str(f)
	if !ok {
		return
	}
	if lv, ok := levels[strings.ToLower(s)]; ok {
		*dst = lv
		return
	}
	p.errf(f.line, f.key, "must be %s, got %q", words, s)
}

// checkListen checks admin.listen: "" or host:port; a non-loopback host is a warning.
func (p *parser) checkListen(f field, s string) {
	if s == "" {
		return
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		p.errf(f.line, f.key, "%q is not host:port (e.g. \"127.0.0.1:8720\"; \"\" turns the admin API off)", s)
		return
	}
	if n, ok := parsePort(port); !ok || n == 0 {
		p.errf(f.line, f.key, "%q: port must be a number from 1 to 65535", s)
		return
	}
	ip := net.ParseIP(host)
	if strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback()) {
		return
	}
	p.warnf(f.line, f.key, "%q is reachable from other hosts: /healthz, /metrics and /v1/status answer without a token", s)
}

// adminHosts reads admin.hosts: the extra names the admin listener answers
// to (besides its own address and localhost). A port given with a name is
// dropped: names are compared without it.
func (p *parser) adminHosts(f field, a *Admin) {
	list, ok := p.strs(f)
	if !ok {
		return
	}
	for i, s := range list {
		e := p.elem(f, i)
		name := strings.ToLower(strings.TrimSpace(s))
		if strings.ContainsAny(name, "/@?# \t") {
			name = ""
		} else if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
		name = strings.TrimSuffix(strings.Trim(name, "[]"), ".")
		if name == "" {
			p.errf(e.line, e.key, "%q is not a host name or address (e.g. \"agent.example.internal\")", s)
			continue
		}
		a.Hosts = append(a.Hosts, name)
	}
}

func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

func (p *parser) networkSection(t *table, n *Network) {
	t.unknown(networkKeys, nil)
	if _, ok := t.m["proxy"]; ok {
		f := t.field("proxy")
		if s, ok := p.str(f); ok && s != "" {
			u, err := url.Parse(s)
			switch {
			case err != nil || u.Host == "":
				p.errf(f.line, f.key, "%q is not a proxy URL (e.g. \"http://proxy.corp:3128\")", redactURL(s))
			case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5":
				p.errf(f.line, f.key, "%q: the scheme must be http, https or socks5", redactURL(s))
			default:
				n.Proxy = u
			}
		}
	}
	if _, ok := t.m["ca_file"]; ok {
		n.CAFile = p.caFile(t.field("ca_file"))
	}
}

// redactURL hides a password in a URL's user info.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.Index(s, "@"); i >= 0 {
			return "…" + s[i:]
		}
		return s
	}
	return u.Redacted()
}

// FileExists reports whether name exists; pass it to Resolve.
func FileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
