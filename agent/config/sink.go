package config

import (
	"net"
	"regexp"
	"strconv"
	"strings"
)

// sinkURL reads callback.url: an http(s) URL, or kafka:// / nats:// with one
// or more host:port and a topic or subject. Go's URL parser refuses the
// multi-host form, so the broker URLs are read here.
func (p *parser) sinkURL(f field, s string) (sink string, servers []string, topic string) {
	scheme, rest, ok := strings.Cut(s, "://")
	switch scheme = strings.ToLower(scheme); {
	case !ok || scheme == "http" || scheme == "https":
		if p.httpURL(f, s, false) {
			return SinkWebhook, nil, ""
		}
		return "", nil, ""
	case scheme != SinkKafka && scheme != SinkNATS:
		p.errf(f.line, f.key, "%q: the scheme must be http, https, kafka or nats", redactURL(s))
		return "", nil, ""
	}
	what := "topic"
	if scheme == SinkNATS {
		what = "subject"
	}
	hosts, topic, _ := strings.Cut(rest, "/")
	if strings.ContainsAny(rest, "?#@") {
		p.errf(f.line, f.key, "%s://… takes no user, query or fragment: %s://host:port[,host:port…]/%s (give username and password as keys)", scheme, scheme, what)
		return "", nil, ""
	}
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(h))
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			p.errf(f.line, f.key, "%q is not host:port (in %s://host:port[,host:port…]/%s)", h, scheme, what)
			return "", nil, ""
		}
		servers = append(servers, net.JoinHostPort(host, port))
	}
	valid := kafkaTopicRE.MatchString(topic)
	if scheme == SinkNATS {
		valid = natsSubjectRE.MatchString(topic)
	}
	if !valid {
		p.errf(f.line, f.key, "%q is not a valid %s %s", topic, scheme, what)
		return "", nil, ""
	}
	return scheme, servers, topic
}

var (
	kafkaTopicRE  = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	natsSubjectRE = regexp.MustCompile(`^[^.*>\s]+(\.[^.*>\s]+)*$`)
)

// sinkKeys reads the keys whose meaning depends on the sink: format for
// HTTP, username/password/sasl/tls for the brokers, and refuses those that
// do not apply.
func (b *builder) sinkKeys(v values, c *Callback) {
	p := b.p
	not := func(key, why string) {
		if f, ok := v.get(key); ok {
			p.errf(f.line, f.key, "%s", why)
		}
	}
	str := func(key string, dst *string) {
		if f, ok := v.get(key); ok {
			*dst, _ = p.str(f)
		}
	}
	switch c.Sink {
	case SinkWebhook:
		c.Format = FormatOpenCon
		if f, ok := v.get("format"); ok {
			if s, ok := p.oneOf(f, FormatOpenCon, FormatCloudEvents, FormatCloudEventsBinary); ok {
				c.Format = s
			}
		}
		if c.Format != FormatOpenCon {
			if f, ok := v.get("max_events"); ok && c.MaxEvents != 1 {
				p.errf(f.line, f.key, "must be 1 (or unset) with format = %q: each request carries one event", c.Format)
			}
			c.MaxEvents = 1
		}
		for _, k := range []string{"username", "password", "sasl", "tls"} {
			not(k, "applies to kafka:// and nats:// URLs only")
		}
	case SinkKafka, SinkNATS:
		if _, ok := v.get("max_events"); !ok {
			// A message is only the unit of acknowledgement here (each event
			// is a record of its own): larger ones cost less per event.
			c.MaxEvents = DefaultBrokerMaxEvents
		}
		for _, k := range []string{"signature_key", "webhook_secret", "headers", "format"} {
			not(k, "applies to http(s) callbacks only")
		}
		str("username", &c.Username)
		str("password", &c.Password)
		if f, ok := v.get("tls"); ok {
			c.TLS, _ = p.boolean(f)
		}
		if c.Username != "" && c.Password == "" {
			line, key := b.at(v, "callback", "password")
			p.errf(line, key, "required with username (or password_file)")
		}
		if c.Username == "" && c.Password != "" {
			line, key := b.at(v, "callback", "username")
			p.errf(line, key, "required with password")
		}
		if f, ok := v.get("ca_file"); ok && !c.TLS && c.CAFile != "" {
			p.errf(f.line, f.key, "is used for the brokers' TLS: set tls = true")
		}
		if c.Sink == SinkNATS {
			not("sasl", "applies to kafka:// URLs only")
			break
		}
		if c.Username != "" {
			c.SASL = SASLPlain
		}
		if f, ok := v.get("sasl"); ok {
			if s, ok := p.str(f); ok {
				switch s {
				case SASLPlain, SASLScram256, SASLScram512:
					c.SASL = s
				default:
					p.errf(f.line, f.key, "must be plain, scram-sha-256 or scram-sha-512, got %q", s)
				}
				if c.Username == "" {
					p.errf(f.line, f.key, "needs username and password")
				}
			}
		}
	}
}
