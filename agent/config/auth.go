package config

import (
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

var clouds = []string{"global", "usgov", "usgov-dod", "china"}

// auth reads [instance.auth] with the defaults merged in.
func (b *builder) auth(v values) Auth {
	p := b.p
	a := Auth{Flow: DefaultFlow, Tenant: DefaultTenant, RedirectURL: DefaultRedirectURL, Cloud: DefaultCloud}
	if f, ok := v.get("flow"); ok {
		if s, ok := p.oneOf(f, FlowDevice, FlowBrowser, FlowCode, FlowClientCredentials); ok {
			a.Flow = s
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
	certOK := true
	if f, ok := v.get("client_certificate_file"); ok {
		if s, ok := p.path(f); ok && s != "" {
			certOK = p.clientCertificate(f, s, a.Flow, a.ClientSecret != "")
			a.ClientCertificateFile = s
		} else {
			certOK = false
		}
	}
	if a.Flow == FlowClientCredentials && a.ClientSecret == "" && a.ClientCertificateFile == "" && secretOK && certOK {
		if f, ok := v.get("client_secret"); ok {
			p.errf(f.line, f.key, "must not be empty with flow = \"client_credentials\"")
		} else {
			line, key := b.missing("auth", "client_secret")
			p.errf(line, key, "required with flow = \"client_credentials\" (or client_secret_file, or client_certificate_file)")
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
		if u, _ := url.Parse(s); u.Scheme == "http" && !loopback(u.Hostname()) {
			p.errf(f.line, f.key, "%q must start with https://: tokens and drive data would cross the network in clear text (http:// is accepted only for localhost, 127.0.0.1 or [::1])", redactURL(s))
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

// clientCertificate checks client_certificate_file: only with client_credentials, not
// together with a client secret, and a readable PEM file with a certificate and the private
// key that belongs to it.
func (p *parser) clientCertificate(f field, file, flow string, secret bool) bool {
	switch {
	case flow != FlowClientCredentials:
		p.errf(f.line, f.key, "is used only with flow = \"client_credentials\"")
		return false
	case secret:
		p.errf(f.line, f.key, "set either client_secret or client_certificate_file, not both")
		return false
	}
	cc, err := connector.LoadClientCertificate(file)
	if err != nil {
		// A key file only the service's user may read is resolved when used.
		f.secret = true
		if !errors.Is(err, fs.ErrPermission) || !p.deferSecret(f, err) {
			p.errf(f.line, f.key, "%v", err)
			return false
		}
		return true
	}
	if fi, err := os.Stat(file); err == nil {
		if why := safefile.TrustProblem(fi); why != "" {
			p.warnf(f.line, f.key, "the certificate file %s %s: another user could replace the key; chmod go-w and chown it to this user or root", file, why)
		} else if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			p.warnf(f.line, f.key, "the certificate file %s holds a private key and is readable by group or others (mode %s): chmod 600 it", file, fi.Mode().Perm())
		}
	}
	if time.Now().After(cc.Cert.NotAfter) {
		p.warnf(f.line, f.key, "the certificate in %s expired on %s: Microsoft refuses it; upload a new one to the app registration", file, cc.Cert.NotAfter.Format(time.DateOnly))
	}
	return true
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

// loopback reports whether host is localhost or a loopback address (127.0.0.0/8, ::1).
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
