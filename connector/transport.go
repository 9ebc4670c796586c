package connector

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// HTTPOptions configures NewHTTPClient. The zero value gives a client with the environment's
// proxy, the system roots and a 60 s timeout.
type HTTPOptions struct {
	// Proxy is the proxy URL (http, https or socks5); "" uses HTTPS_PROXY/HTTP_PROXY/NO_PROXY
	// from the environment.
	Proxy string
	// CAFile names a PEM file of extra CA certificates, appended to the system pool.
	CAFile string
	// Timeout bounds each request including reading the body; default 60s.
	Timeout time.Duration
	// MaxIdleConnsPerHost keeps connections for reuse; default 16.
	MaxIdleConnsPerHost int
}

// NewHTTPClient returns the *http.Client for outbound requests (Microsoft and callbacks):
// proxy from the options or the environment, extra CAs appended to the system roots, HTTP/2,
// more idle connections per host than net/http's default of 2, and dial, TLS and overall
// timeouts. Errors name the proxy or CA file at fault.
func NewHTTPClient(o HTTPOptions) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if o.Proxy != "" {
		u, err := url.Parse(o.Proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: proxy %q is not a URL such as http://proxy.corp:3128", ErrBadConfig, o.Proxy)
		}
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("%w: proxy %q: scheme must be http, https or socks5", ErrBadConfig, o.Proxy)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca_file %s holds no PEM certificate", ErrBadConfig, o.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 0 // the client Timeout bounds the whole exchange
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = o.MaxIdleConnsPerHost
	if tr.MaxIdleConnsPerHost <= 0 {
		tr.MaxIdleConnsPerHost = 16
	}
	tr.IdleConnTimeout = 90 * time.Second
	tr.ForceAttemptHTTP2 = true
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// userAgent is the User-Agent of every request: "onedrive-agent/<version>", "dev" when the
// version is not set.
func userAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return "onedrive-agent/" + version
}

// loggerOr returns log, or a logger that discards everything when log is nil.
func loggerOr(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// userAgentTransport sets the User-Agent on requests x/oauth2 sends.
type userAgentTransport struct {
	base http.RoundTripper
	ua   string
}

// RoundTrip sends a copy of r carrying the agent's User-Agent.
func (t userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("User-Agent", t.ua)
	return t.base.RoundTrip(r2)
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// noRedirect makes a client hand back a redirect as the answer. The identity platform's
// endpoints are never redirected; following one would re-post a form that carries a client
// secret, a refresh token or an authorization code to wherever the Location points.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// maxRedirects bounds the redirects one Graph request follows.
const maxRedirects = 5

// checkRedirect lets a Graph request follow a redirect only where checkLink lets the access
// token go: the configured Graph host, over https (http only when graph_url is http). Go's
// client keeps the Authorization header on such a redirect, and re-sends nothing but the GET.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("graph: stopped after %d redirects", maxRedirects)
	}
	if len(via) > 0 && via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("graph redirect refused: %w: from https to %s", ErrForeignLink, req.URL.Scheme)
	}
	if err := c.checkLink(req.URL.String()); err != nil {
		return fmt.Errorf("graph redirect refused: %w", err)
	}
	return nil
}
