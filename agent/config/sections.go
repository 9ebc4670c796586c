package config

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/schedule"
)

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

var clouds = []string{"global", "usgov", "usgov-dod", "china"}

func (b *builder) auth(v values) Auth {
	p := b.p
	a := Auth{Flow: DefaultFlow, Tenant: DefaultTenant, RedirectURL: DefaultRedirectURL, Cloud: DefaultCloud}
	if f, ok := v.get("flow"); ok {
		if s, ok := p.str(f); ok {
			switch s {
			case FlowDevice, FlowBrowser, FlowCode, FlowClientCredentials:
				a.Flow = s
			default:
				p.errf(f.line, f.key, "must be device, browser, code or client_credentials, got %q", s)
			}
		}
	}
	if f, ok := v.get("tenant"); ok {
		if s, ok := p.str(f); ok {
			if tenantRE.MatchString(s) {
				a.Tenant = s
			} else {
				p.errf(f.line, f.key, "must be common, organizations, consumers, a tenant id or a domain, got %q", s)
			}
		}
	}
	if a.Flow == FlowClientCredentials {
		switch strings.ToLower(a.Tenant) {
		case "common", "organizations", "consumers":
			line, key := b.at(v, "auth", "tenant")
			p.errf(line, key, "flow = \"client_credentials\" needs your tenant id or domain, not %q", a.Tenant)
		}
	}
	if f, ok := v.get("client_id"); ok {
		if s, ok := p.str(f); ok {
			if strings.TrimSpace(s) == "" {
				p.errf(f.line, f.key, "must not be empty (the application (client) id of your app registration)")
			}
			a.ClientID = s
		}
	} else {
		line, key := b.missing("auth", "client_id")
		p.errf(line, key, "required: the application (client) id of your app registration")
	}
	secretOK := true
	if f, ok := v.get("client_secret"); ok {
		a.ClientSecret, secretOK = p.str(f)
		if a.ClientSecret != "" && a.Flow == FlowDevice {
			p.warnf(f.line, f.key, "is sent with the device flow's token requests; it is needed only when the app registration does not allow public client flows")
		}
	}
	if a.Flow == FlowClientCredentials && a.ClientSecret == "" && secretOK {
		if f, ok := v.get("client_secret"); ok {
			p.errf(f.line, f.key, "must not be empty with flow = \"client_credentials\"")
		} else {
			line, key := b.missing("auth", "client_secret")
			p.errf(line, key, "required with flow = \"client_credentials\" (or client_secret_file)")
		}
	}
	if f, ok := v.get("redirect_url"); ok {
		if s, ok := p.str(f); ok && p.httpURL(f, s, false) {
			a.RedirectURL = s
		}
	}
	if a.Flow == FlowBrowser {
		if u, err := url.Parse(a.RedirectURL); err == nil && (u.Scheme != "http" || !loopback(u.Hostname())) {
			line, key := b.at(v, "auth", "redirect_url")
			p.errf(line, key, "the browser flow listens on a loopback address: use http://localhost:<port>/ (got %q)", a.RedirectURL)
		}
	}
	if f, ok := v.get("scopes"); ok {
		if list, ok := p.strs(f); ok {
			for i, s := range list {
				if s == "" || strings.ContainsAny(s, " \t\r\n") {
					e := p.elem(f, i)
					p.errf(e.line, e.key, "a scope is one non-empty word, got %q", s)
				}
			}
			if len(list) > 0 {
				a.Scopes = list
			}
		}
	}
	if f, ok := v.get("cloud"); ok {
		if s, ok := p.str(f); ok {
			if contains(clouds, strings.ToLower(s)) {
				a.Cloud = strings.ToLower(s)
			} else {
				p.errf(f.line, f.key, "must be global, usgov, usgov-dod or china, got %q", s)
			}
		}
	}
	for _, k := range []string{"login_url", "graph_url"} {
		f, ok := v.get(k)
		if !ok {
			continue
		}
		s, ok := p.str(f)
		if !ok || s == "" || !p.httpURL(f, s, true) {
			continue
		}
		if k == "login_url" {
			a.LoginURL = s
		} else {
			a.GraphURL = s
		}
	}
	return a
}

// httpURL checks an absolute http(s) URL; root forbids a query or fragment.
func (p *parser) httpURL(f field, s string, root bool) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		p.errf(f.line, f.key, "%q is not an absolute http(s) URL", redactURL(s))
		return false
	}
	if root && (u.RawQuery != "" || u.Fragment != "") {
		p.errf(f.line, f.key, "%q must not have a query or fragment", redactURL(s))
		return false
	}
	return true
}

func loopback(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

func (b *builder) drive(v values, flow string) Drive {
	p := b.p
	d := Drive{Spec: DefaultDrive, Scope: Scope{Folder: DefaultFolder}}
	if f, ok := v.get("drive"); ok {
		if s, ok := p.str(f); ok {
			if err := checkDriveSpec(s); err != "" {
				p.errf(f.line, f.key, "%q %s", s, err)
			} else {
				d.Spec = s
			}
		}
	}
	if flow == FlowClientCredentials && d.Spec == "me" {
		line, key := b.at(v, "drive", "drive")
		p.errf(line, key, "\"me\" needs a signed-in user, which flow = \"client_credentials\" has not: use \"user:<upn>\" or a drive id")
	}
	if f, ok := v.get("folder"); ok {
		if s, ok := p.str(f); ok {
			if msg := checkFolder(s); msg != "" {
				p.errf(f.line, f.key, "%q %s", s, msg)
			} else {
				d.Scope.Folder = cleanPath(s)
			}
		}
	}
	for _, k := range []string{"include", "exclude"} {
		f, ok := v.get(k)
		if !ok {
			continue
		}
		list, ok := p.strs(f)
		if !ok {
			continue
		}
		for i, pat := range list {
			if err := ValidPattern(pat); err != nil {
				e := p.elem(f, i)
				p.errf(e.line, e.key, "%q: %v", pat, err)
			}
		}
		if k == "include" {
			d.Scope.Include = list
		} else {
			d.Scope.Exclude = list
		}
	}
	return d
}

// checkDriveSpec returns what is wrong with a drive spec, or "".
func checkDriveSpec(s string) string {
	const forms = "is not a drive: use me, user:<upn or id>, site:<site id> or a drive id"
	if s == "me" {
		return ""
	}
	kind, rest, hasColon := strings.Cut(s, ":")
	if hasColon && (kind == "user" || kind == "site") {
		if strings.TrimSpace(rest) == "" || strings.ContainsAny(rest, " \t\r\n/") {
			return forms
		}
		return ""
	}
	if s == "" || hasColon || strings.ContainsAny(s, " \t\r\n/\\?#") {
		return forms
	}
	return ""
}

// checkFolder returns what is wrong with a folder path, or "".
func checkFolder(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "must start with \"/\" (a path from the drive root, e.g. \"/Finance\")"
	}
	for _, seg := range strings.Split(strings.Trim(s, "/"), "/") {
		if (seg == "" && strings.Trim(s, "/") != "") || seg == "." || seg == ".." {
			return "must be a plain path without \"//\", \".\" or \"..\""
		}
	}
	return ""
}

func (b *builder) poll(v values) Poll {
	p := b.p
	pl := Poll{Initial: DefaultInitial, MaxQueue: DefaultMaxQueue, Location: time.UTC}
	good := true
	if f, ok := v.get("schedule"); ok {
		if s, ok := p.str(f); !ok {
			good = false
		} else if s != "" {
			if err := schedule.CheckCron(s); err != nil {
				p.errf(f.line, f.key, "%v", err)
				good = false
			}
			pl.Cron = s
		}
	}
	if f, ok := v.get("interval"); ok {
		d, ok := p.duration(f)
		switch {
		case !ok:
			good = false
		case d < MinInterval:
			p.errf(f.line, f.key, "%v is shorter than the minimum of %v", d, MinInterval)
			good = false
		case d > schedule.MaxInterval:
			p.errf(f.line, f.key, "%v is longer than 24h: use schedule (a cron expression) for rarer polls", d)
			good = false
		default:
			pl.Interval = d
		}
	} else if pl.Cron == "" {
		pl.Interval = DefaultInterval
	}
	if f, ok := v.get("timezone"); ok {
		if s, ok := p.str(f); ok {
			loc, err := time.LoadLocation(s)
			if err != nil || s == "" {
				p.errf(f.line, f.key, "%q is not a time zone (an IANA name such as \"Europe/Berlin\", or \"UTC\")", s)
				good = false
			} else {
				pl.Location = loc
			}
		} else {
			good = false
		}
	}
	if f, ok := v.get("active_hours"); ok {
		list, ok := p.strs(f)
		good = good && ok
		for i, w := range list {
			if _, err := schedule.ParseWindow(w); err != nil {
				e := p.elem(f, i)
				p.errf(e.line, e.key, "%v", err)
				good = false
			}
		}
		pl.ActiveHours = list
	}
	if f, ok := v.get("initial"); ok {
		if s, ok := p.str(f); ok {
			if s == InitialBaseline || s == InitialBackfill {
				pl.Initial = s
			} else {
				p.errf(f.line, f.key, "must be baseline or backfill, got %q", s)
			}
		}
	}
	if f, ok := v.get("max_queue"); ok {
		if n, ok := p.integer(f); ok {
			if n < 1 {
				p.errf(f.line, f.key, "must be at least 1, got %d", n)
			} else {
				pl.MaxQueue = n
			}
		}
	}
	if !good {
		return pl
	}
	s, err := schedule.New(schedule.Options{Interval: pl.Interval, Cron: pl.Cron, Location: pl.Location, ActiveHours: pl.ActiveHours})
	if err != nil {
		line, key := b.at(v, "poll", "interval")
		p.errf(line, key, "%v", err)
		return pl
	}
	if len(pl.ActiveHours) > 0 && s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		line, key := b.at(v, "poll", "active_hours")
		p.errf(line, key, "no poll of the schedule (%s) falls inside these active hours", s)
		return pl
	}
	pl.Schedule = s
	return pl
}

// reservedHeaders are set by the agent; headers may not override them.
var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Connection",
	"Elements-Webhook-Id", "Elements-Webhook-Signature", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

func (b *builder) callback(v values) Callback {
	p := b.p
	c := Callback{MaxEvents: DefaultMaxEvents, Timeout: DefaultTimeout, RetryInitial: DefaultRetryInitial,
		RetryMax: DefaultRetryMax, Headers: http.Header{}}
	if f, ok := v.get("url"); ok {
		if s, ok := p.str(f); ok && p.httpURL(f, s, false) {
			c.URL = s
		}
	} else {
		line, key := b.missing("callback", "url")
		p.errf(line, key, "required: where the agent POSTs the events")
	}
	if f, ok := v.get("signature_key"); ok {
		c.SignatureKey, _ = p.str(f)
	}
	if f, ok := v.get("webhook_secret"); ok {
		if s, ok := p.str(f); ok && s != "" {
			key, msg := decodeWebhookSecret(s)
			if msg != "" {
				p.errf(f.line, f.key, "%s", msg)
			}
			c.WebhookSecret, c.WebhookKey = s, key
		}
	}
	for _, f := range v["headers"] {
		p.headers(f, c.Headers)
	}
	if f, ok := v.get("max_events"); ok {
		if n, ok := p.integer(f); ok {
			if n < 1 || n > MaxMaxEvents {
				p.errf(f.line, f.key, "must be from 1 to %d, got %d", MaxMaxEvents, n)
			} else {
				c.MaxEvents = int(n)
			}
		}
	}
	if f, ok := v.get("ca_file"); ok {
		c.CAFile = p.caFile(f)
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"timeout", &c.Timeout}, {"retry_initial", &c.RetryInitial}, {"retry_max", &c.RetryMax}} {
		f, ok := v.get(d.key)
		if !ok {
			continue
		}
		if x, ok := p.duration(f); ok {
			if x <= 0 {
				p.errf(f.line, f.key, "must be positive, got %v", x)
			} else {
				*d.dst = x
			}
		}
	}
	if c.RetryInitial > c.RetryMax {
		line, key := b.at(v, "callback", "retry_initial")
		p.errf(line, key, "%v is longer than retry_max (%v)", c.RetryInitial, c.RetryMax)
	}
	return c
}

// decodeWebhookSecret returns the HMAC key of a Standard Webhooks secret, or what is wrong.
func decodeWebhookSecret(s string) ([]byte, string) {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, "must start with whsec_ (a Standard Webhooks secret: whsec_ and base64)"
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(rest)
	}
	if err != nil || len(key) == 0 {
		return nil, "the part after whsec_ must be non-empty base64"
	}
	return key, ""
}

// headers reads one headers table into h; values are never shown in messages.
func (p *parser) headers(f field, h http.Header) {
	m, ok := f.v.(map[string]any)
	if !ok {
		p.typeErr(f, "a table of header names and string values (e.g. { X-Api-Key = \"${HOOK_KEY}\" })")
		return
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		e := field{key: joinKey(f.key, name), path: joinKey(f.path, name), line: f.line, v: m[name], secret: true}
		if l, ok := p.lines[e.path]; ok {
			e.line = l
		}
		if !validHeaderName(name) {
			p.errf(e.line, e.key, "%q is not a valid header name", name)
			continue
		}
		canon := http.CanonicalHeaderKey(name)
		if contains(reservedHeaders, canon) {
			p.errf(e.line, e.key, "%s is set by the agent and cannot be overridden", canon)
			continue
		}
		s, ok := p.str(e)
		if !ok {
			continue
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			p.errf(e.line, e.key, "a header value must not contain line breaks")
			continue
		}
		h.Set(canon, s)
	}
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 127 || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}
