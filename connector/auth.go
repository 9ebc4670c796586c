package connector

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Sign-in flows accepted in AuthConfig.Flow.
const (
	FlowDevice            = "device"             // device code (default)
	FlowBrowser           = "browser"            // authorization code with PKCE on a loopback redirect
	FlowCode              = "code"               // an authorization code obtained elsewhere
	FlowClientCredentials = "client_credentials" // app-only, with a client secret or certificate
)

// DefaultTenant is the tenant used when AuthConfig.Tenant is empty.
const DefaultTenant = "common"

// DefaultRedirectURL is the loopback redirect used when AuthConfig.RedirectURL is empty.
const DefaultRedirectURL = "http://localhost:53682/"

// ErrBadConfig marks configuration errors (exit status 2): errors.Is(err, ErrBadConfig).
var ErrBadConfig = errors.New("configuration error")

// AuthConfig says how an instance signs in. The zero value of every optional field takes the
// documented default; Validate reports what cannot work.
type AuthConfig struct {
	Flow         string   // FlowDevice (default), FlowBrowser, FlowCode or FlowClientCredentials
	Tenant       string   // common (default), organizations, consumers, a tenant id or domain
	ClientID     string   // required
	ClientSecret string   // confidential clients; required for client_credentials
	RedirectURL  string   // browser and code flows; default DefaultRedirectURL
	Scopes       []string // default: DefaultScopes(flow, cloud)
	Cloud        string   // global (default), usgov, usgov-dod, china
	LoginURL     string   // override of the cloud's sign-in root
	GraphURL     string   // override of the cloud's Graph root with version
	// ClientCertificateFile names a PEM file with the certificate credential (certificate
	// and unencrypted private key) of a client_credentials app, instead of ClientSecret:
	// each token request then carries a signed client assertion. The file is read at every
	// token request, so a renewed certificate is used without a restart.
	ClientCertificateFile string
}

var tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)

// Validate reports every problem of the configuration, each as "key: reason", joined with
// errors.Join; each matches errors.Is(err, ErrBadConfig). It never includes the client secret.
func (a AuthConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrBadConfig, key, fmt.Sprintf(format, args...)))
	}
	switch a.flow() {
	case FlowDevice, FlowBrowser, FlowCode, FlowClientCredentials:
	default:
		bad("flow", "must be device, browser, code or client_credentials (got %q)", a.Flow)
	}
	if strings.TrimSpace(a.ClientID) == "" {
		bad("client_id", "is required")
	}
	tenant := a.tenant()
	if !tenantRE.MatchString(tenant) {
		bad("tenant", "must be common, organizations, consumers, a tenant id or a domain (got %q)", a.Tenant)
	}
	if a.flow() == FlowClientCredentials {
		switch strings.ToLower(tenant) {
		case "common", "organizations", "consumers":
			bad("tenant", "client_credentials needs a real tenant (a tenant id or domain), not %q", tenant)
		}
		switch {
		case a.ClientSecret == "" && a.ClientCertificateFile == "":
			bad("client_secret", "is required with flow client_credentials (or client_certificate_file)")
		case a.ClientSecret != "" && a.ClientCertificateFile != "":
			bad("client_certificate_file", "set either client_secret or client_certificate_file, not both")
		}
	} else if a.ClientCertificateFile != "" {
		bad("client_certificate_file", "is used only with flow client_credentials")
	}
	if a.ClientCertificateFile != "" {
		if _, err := LoadClientCertificate(a.ClientCertificateFile); err != nil {
			bad("client_certificate_file", "%v", err)
		}
	}
	if _, err := LookupCloud(a.Cloud); err != nil {
		bad("cloud", "%v", err)
	}
	if a.LoginURL != "" {
		if err := checkRootURL(a.LoginURL); err != nil {
			bad("login_url", "%v", err)
		}
	}
	if a.GraphURL != "" {
		if err := checkRootURL(a.GraphURL); err != nil {
			bad("graph_url", "%v", err)
		}
	}
	if f := a.flow(); f == FlowBrowser || f == FlowCode {
		if err := checkRedirectURL(a.redirectURL(), f == FlowBrowser); err != nil {
			bad("redirect_url", "%v", err)
		}
	}
	offline := false
	for _, s := range a.Scopes {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
			bad("scopes", "a scope must be one non-empty word (got %q)", s)
		}
		if strings.EqualFold(s, "offline_access") {
			offline = true
		}
		if a.flow() == FlowClientCredentials && !strings.HasSuffix(s, "/.default") {
			bad("scopes", "client_credentials takes only \"<graph host>/.default\" scopes (got %q); leave scopes unset for the default", s)
		}
	}
	if len(a.Scopes) > 0 && a.delegated() && !offline {
		bad("scopes", "add \"offline_access\": without it there is no refresh token and the sign-in ends within the hour")
	}
	return errors.Join(errs...)
}

func checkRedirectURL(s string, loopback bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("must be an absolute http(s) URL (got %q)", s)
	}
	if !loopback {
		return nil
	}
	if u.Scheme != "http" {
		return fmt.Errorf("the browser flow listens on a loopback http:// address (got %q)", s)
	}
	if !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("the browser flow needs localhost, 127.0.0.1 or [::1] (got %q)", s)
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (a AuthConfig) flow() string {
	if a.Flow == "" {
		return FlowDevice
	}
	return a.Flow
}

func (a AuthConfig) tenant() string {
	if a.Tenant == "" {
		return DefaultTenant
	}
	return a.Tenant
}

func (a AuthConfig) redirectURL() string {
	if a.RedirectURL == "" {
		return DefaultRedirectURL
	}
	return a.RedirectURL
}

// cloud returns the configured cloud, or global when the name is unknown (Validate reports it).
func (a AuthConfig) cloud() Cloud {
	c, err := LookupCloud(a.Cloud)
	if err != nil {
		c = clouds["global"]
	}
	return c
}

// LoginRoot returns the identity platform root in use: LoginURL or the cloud's, without a
// trailing slash.
func (a AuthConfig) LoginRoot() string {
	if a.LoginURL != "" {
		return strings.TrimRight(a.LoginURL, "/")
	}
	return a.cloud().LoginURL
}

// GraphRoot returns the Graph root with version in use: GraphURL or the cloud's, without a
// trailing slash.
func (a AuthConfig) GraphRoot() string {
	if a.GraphURL != "" {
		return strings.TrimRight(a.GraphURL, "/")
	}
	return a.cloud().GraphURL
}

func (a AuthConfig) endpoint(name string) string {
	return a.LoginRoot() + "/" + url.PathEscape(a.tenant()) + "/oauth2/v2.0/" + name
}

// TokenURL returns <login>/<tenant>/oauth2/v2.0/token.
func (a AuthConfig) TokenURL() string { return a.endpoint("token") }

// DeviceAuthURL returns <login>/<tenant>/oauth2/v2.0/devicecode.
func (a AuthConfig) DeviceAuthURL() string { return a.endpoint("devicecode") }

// AuthURL returns <login>/<tenant>/oauth2/v2.0/authorize.
func (a AuthConfig) AuthURL() string { return a.endpoint("authorize") }

// AccountKey identifies the account Graph throttles: login root, tenant and client id
// (case-insensitive). Clients with the same key share one throttling gate.
func (a AuthConfig) AccountKey() string {
	return strings.ToLower(a.LoginRoot() + "|" + a.tenant() + "|" + a.ClientID)
}

// DefaultScopes returns the scopes requested when none are configured: for delegated flows
// Files.Read and Files.Read.All on the cloud's Graph host plus offline_access (for a refresh
// token); for client_credentials "<graph host>/.default".
func DefaultScopes(flow, cloud string) []string {
	c, err := LookupCloud(cloud)
	if err != nil {
		c = clouds["global"]
	}
	root := c.resourceRoot()
	if flow == FlowClientCredentials {
		return []string{root + "/.default"}
	}
	return []string{root + "/Files.Read", root + "/Files.Read.All", "offline_access"}
}

// EffectiveScopes returns Scopes, or DefaultScopes for the flow and cloud when none are set.
func (a AuthConfig) EffectiveScopes() []string {
	if len(a.Scopes) > 0 {
		return append([]string(nil), a.Scopes...)
	}
	return DefaultScopes(a.flow(), a.Cloud)
}

// oauthConfig builds the x/oauth2 configuration of a delegated flow.
func (a AuthConfig) oauthConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     a.ClientID,
		ClientSecret: a.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       a.AuthURL(),
			TokenURL:      a.TokenURL(),
			DeviceAuthURL: a.DeviceAuthURL(),
			// Microsoft accepts the client credentials in the body; probing with Basic auth
			// first would double every failing request.
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: a.redirectURL(),
		Scopes:      a.EffectiveScopes(),
	}
}

// clientCredentialsConfig builds the x/oauth2 configuration of the app-only flow: with the
// client secret, or with a client assertion signed by the certificate credential, made fresh
// for this request.
func (a AuthConfig) clientCredentialsConfig(now time.Time) (*clientcredentials.Config, error) {
	cfg := &clientcredentials.Config{
		ClientID:     a.ClientID,
		ClientSecret: a.ClientSecret,
		TokenURL:     a.TokenURL(),
		Scopes:       a.EffectiveScopes(),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	if a.ClientCertificateFile == "" {
		return cfg, nil
	}
	cc, err := LoadClientCertificate(a.ClientCertificateFile)
	if err != nil {
		return nil, fmt.Errorf("%w: client_certificate_file: %w", ErrBadConfig, err)
	}
	assertion, err := cc.assertion(a.ClientID, a.TokenURL(), now)
	if err != nil {
		return nil, err
	}
	cfg.ClientSecret = ""
	cfg.EndpointParams = url.Values{"client_assertion_type": {clientAssertionType}, "client_assertion": {assertion}}
	return cfg, nil
}

// delegated reports whether the flow signs in a user (and so has a refresh token).
func (a AuthConfig) delegated() bool { return a.flow() != FlowClientCredentials }
