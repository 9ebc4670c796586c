package config

import (
	"regexp"
	"sort"
	"strings"
)

var sectionKeys = map[string][]string{
	"auth":  {"flow", "tenant", "client_id", "client_secret", "client_secret_file", "redirect_url", "scopes", "cloud", "login_url", "graph_url", "client_certificate_file"},
	"drive": {"drive", "folder", "include", "exclude", "users", "sites", "rediscover"},
	"poll":  {"interval", "schedule", "timezone", "active_hours", "initial", "max_queue", "push", "debounce", "requests_per_second", "concurrency"},
	"callback": {"url", "signature_key", "signature_key_file", "webhook_secret", "webhook_secret_file", "headers", "max_events", "timeout", "ca_file", "retry_initial", "retry_max",
		"format", "username", "password", "password_file", "sasl", "tls"},
}

// secretKeys may also be given as <key>_file.
var secretKeys = map[string]bool{"client_secret": true, "signature_key": true, "webhook_secret": true, "password": true}

// exclusive keys merge as one: an instance that sets one drops the defaults' others.
var exclusive = [][]string{{"interval", "schedule"}}

// zeroClientID is the client_id of agent.toml.example, never a real application.
const zeroClientID = "00000000-0000-0000-0000-000000000000"

var nameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// values holds the fields of one section, defaults first; the last one wins.
type values map[string][]field

func (v values) get(k string) (field, bool) {
	fs := v[k]
	if len(fs) == 0 {
		return field{}, false
	}
	return fs[len(fs)-1], true
}

// builder builds one instance.
type builder struct {
	p    *parser
	inst *table
	secs map[string]*table // the instance's own section tables (nil when absent)
}

// missing returns where to report a key the configuration lacks.
func (b *builder) missing(sec, key string) (int, string) {
	if t := b.secs[sec]; t != nil {
		return t.line, t.name + "." + key
	}
	return b.inst.line, "instance." + sec + "." + key
}

// at returns where a key is (or would be) set.
func (b *builder) at(v values, sec, key string) (int, string) {
	if f, ok := v.get(key); ok {
		return f.line, f.key
	}
	return b.missing(sec, key)
}

func (p *parser) instance(t *table, defaults *table) Instance {
	t.unknown(instanceKeys, nil)
	b := &builder{p: p, inst: t, secs: map[string]*table{}}
	deferred := len(p.deferred)
	in := Instance{Enabled: true, Tags: []string{}}
	if _, ok := t.m["name"]; ok {
		f := t.field("name")
		if s, ok := p.str(f); ok {
			if !nameRE.MatchString(s) || len(s) > 64 {
				p.errf(f.line, f.key, "%q: use 1 to 64 of a-z, 0-9, _ and -", s)
			}
			in.Name = s
		}
	} else {
		p.errf(t.line, "instance.name", "required: every [[instance]] needs a name ([a-z0-9_-]+)")
	}
	if f, ok := pick(t, defaults, "tags"); ok {
		if tags, ok := p.strs(f); ok {
			for i, s := range tags {
				if strings.TrimSpace(s) == "" {
					e := p.elem(f, i)
					p.errf(e.line, e.key, "a tag must not be empty")
				}
			}
			in.Tags = tags
		}
	}
	if f, ok := pick(t, defaults, "enabled"); ok {
		in.Enabled, _ = p.boolean(f)
	}
	sec := map[string]values{}
	for _, name := range []string{"auth", "drive", "poll", "callback"} {
		var dt *table
		if defaults != nil {
			dt = defaults.sub(name)
		}
		it := t.sub(name)
		b.secs[name] = it
		sec[name] = p.merge(name, dt, it)
	}
	in.Auth = b.auth(sec["auth"])
	if in.Auth.ClientID == zeroClientID {
		line, key := b.at(sec["auth"], "auth", "client_id")
		p.errf(line, key, "%s is the example's placeholder: put the application (client) id of your app registration", zeroClientID)
	}
	in.Drive = b.drive(sec["drive"], in.Auth.Flow)
	in.Poll = b.poll(sec["poll"])
	b.tenant(sec["drive"], sec["poll"], &in)
	in.Callback = b.callback(sec["callback"])
	if len(p.deferred) > deferred {
		in.Unresolved = append([]*Error(nil), p.deferred[deferred:]...)
	}
	return in
}

// pick returns key k from the instance table, else from the defaults.
func pick(t, defaults *table, k string) (field, bool) {
	if _, ok := t.m[k]; ok {
		return t.field(k), true
	}
	if defaults != nil {
		if _, ok := defaults.m[k]; ok {
			return defaults.field(k), true
		}
	}
	return field{}, false
}

// merge reads one section from the defaults and the instance (either may be nil).
func (p *parser) merge(sec string, tables ...*table) values {
	out := values{}
	for _, t := range tables {
		if t == nil {
			continue
		}
		t.unknown(sectionKeys[sec], nil)
		keys := make([]string, 0, len(t.m))
		for k := range t.m {
			if contains(sectionKeys[sec], k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		local := map[string]field{}
		for _, k := range keys {
			f := t.field(k)
			logical := k
			if base, ok := strings.CutSuffix(k, "_file"); ok && secretKeys[base] {
				logical, f.file = base, true
			}
			f.secret = secretKeys[logical]
			if prev, dup := local[logical]; dup {
				line := max(prev.line, f.line)
				p.errf(line, joinKey(t.name, logical), "give %s or %s_file, not both", logical, logical)
				continue
			}
			local[logical] = f
		}
		for _, g := range exclusive {
			set := 0
			for _, k := range g {
				if _, ok := local[k]; ok {
					set++
				}
			}
			if set == 0 {
				continue
			}
			if set > 1 {
				// Keep the first; the builder sees one of them only.
				line := 0
				for _, k := range g[1:] {
					if f, ok := local[k]; ok {
						line = max(line, f.line)
						delete(local, k)
					}
				}
				p.errf(line, joinKey(t.name, g[0]), "give %s, not both", strings.Join(g, " or "))
			}
			for _, k := range g {
				delete(out, k)
			}
		}
		for k, f := range local {
			out[k] = append(out[k], f)
		}
	}
	return out
}
