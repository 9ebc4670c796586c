package callback

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"
)

// ClientOptions configures NewHTTPClient.
type ClientOptions struct {
	Proxy  string // proxy URL; "" uses HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment
	CAFile string // extra PEM CA certificates trusted besides the system pool
}

// NewHTTPClient returns a client for callbacks when the runtime has no shared
// one: a transport with 16 idle connections per host (http.DefaultTransport
// keeps 2), the proxy and CA options applied, and redirects never followed.
// The dispatcher bounds each request with its own timeout.
func NewHTTPClient(opts ClientOptions) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 100
	tr.MaxIdleConnsPerHost = 16
	tr.IdleConnTimeout = 90 * time.Second
	tr.Proxy = http.ProxyFromEnvironment
	if opts.Proxy != "" {
		u, err := url.Parse(opts.Proxy)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("callback proxy %q: not a URL like http://proxy.example:3128", opts.Proxy)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read callback ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("callback ca_file %s: no PEM certificate found", opts.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return noRedirects(&http.Client{Transport: tr}), nil
}

// noRedirects returns a copy of c (sharing its transport) that hands a 3xx
// response back instead of following it; nil gives a plain client.
func noRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}
