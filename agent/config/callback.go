package config

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"time"
)

// reservedHeaders are set by the agent; headers may not override them.
var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Connection",
	"Elements-Webhook-Id", "Elements-Webhook-Signature", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

// callback reads [instance.callback]; headers of the defaults and the instance merge by name.
func (b *builder) callback(v values) Callback {
	p := b.p
	c := Callback{MaxEvents: DefaultMaxEvents, Timeout: DefaultTimeout, RetryInitial: DefaultRetryInitial,
		RetryMax: DefaultRetryMax, Headers: http.Header{}}
	if f, ok := v.get("url"); ok {
		if s, ok := p.str(f); ok {
			c.URL = s
			c.Sink, c.Servers, c.Topic = p.sinkURL(f, s)
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
	b.sinkKeys(v, &c)
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
