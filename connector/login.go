package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// LoginOptions are the interactive parts of a sign-in.
type LoginOptions struct {
	// HTTPClient sends the requests to the identity platform; nil uses NewHTTPClient defaults.
	HTTPClient *http.Client
	// Version goes into the User-Agent "onedrive-agent/<version>".
	Version string
	// ShowDeviceCode shows the user where to go and which code to enter (device flow).
	ShowDeviceCode func(DeviceCode)
	// OpenBrowser opens the sign-in page (browser flow); nil uses OpenSystemBrowser.
	OpenBrowser func(authURL string) error
	// ShowAuthURL, if set, shows the sign-in page URL too, in case no browser opens.
	ShowAuthURL func(authURL string)
	// Timeout bounds the wait for the browser's redirect; default 5 minutes.
	Timeout time.Duration
	// Code is the authorization code for flow "code".
	Code   string
	Logger *slog.Logger

	sleep func(context.Context, time.Duration) error // device polling; tests shorten it
}

// DeviceCode is what the user needs to finish a device-code sign-in on another device.
type DeviceCode struct {
	UserCode        string
	VerificationURI string
	Message         string    // one sentence with both, ready to print
	Expiry          time.Time // when the code stops working
}

// Login signs in with cfg.Flow and returns the token to save. The caller stores it (the
// connector's Client then keeps it fresh).
func Login(ctx context.Context, cfg AuthConfig, opts LoginOptions) (Token, error) {
	switch cfg.flow() {
	case FlowBrowser:
		return LoginBrowser(ctx, cfg, opts)
	case FlowCode:
		return ExchangeCode(ctx, cfg, opts.Code, opts)
	case FlowClientCredentials:
		return ClientCredentials(ctx, cfg, opts)
	default:
		return LoginDevice(ctx, cfg, opts)
	}
}

// withFlow validates cfg as if configured for flow (login --browser / --code override it).
func withFlow(cfg AuthConfig, flow string) (AuthConfig, error) {
	cfg.Flow = flow
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func (o LoginOptions) context(ctx context.Context) (context.Context, error) {
	hc := o.HTTPClient
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(HTTPOptions{}); err != nil {
			return nil, err
		}
	}
	hc = &http.Client{Transport: userAgentTransport{base: transportOf(hc), ua: userAgent(o.Version)}, Timeout: hc.Timeout, CheckRedirect: noRedirect}
	return context.WithValue(ctx, oauth2.HTTPClient, hc), nil
}

func (o LoginOptions) logger() *slog.Logger { return loggerOr(o.Logger) }

// ExchangeCode redeems an authorization code obtained elsewhere (Open Connectors'
// providerData.code) at the token endpoint, with cfg's redirect URL.
func ExchangeCode(ctx context.Context, cfg AuthConfig, code string, opts LoginOptions) (Token, error) {
	cfg, err := withFlow(cfg, FlowCode)
	if err != nil {
		return Token{}, err
	}
	if strings.TrimSpace(code) == "" {
		return Token{}, fmt.Errorf("%w: --code needs an authorization code", ErrBadConfig)
	}
	ctx, err = opts.context(ctx)
	if err != nil {
		return Token{}, err
	}
	t, err := cfg.oauthConfig().Exchange(ctx, strings.TrimSpace(code))
	if err != nil {
		return Token{}, loginError("redeem authorization code", err)
	}
	return tokenFromOAuth(t), nil
}

// ClientCredentials gets an app-only token with the client secret or certificate, which also
// checks the credentials. Such a token has no refresh token; the Client simply gets a new one.
func ClientCredentials(ctx context.Context, cfg AuthConfig, opts LoginOptions) (Token, error) {
	cfg, err := withFlow(cfg, FlowClientCredentials)
	if err != nil {
		return Token{}, err
	}
	ctx, err = opts.context(ctx)
	if err != nil {
		return Token{}, err
	}
	cc, err := cfg.clientCredentialsConfig(time.Now())
	if err != nil {
		return Token{}, err
	}
	t, err := cc.Token(ctx)
	if err != nil {
		return Token{}, loginError("client credentials sign-in", err)
	}
	return tokenFromOAuth(t), nil
}

// loginError turns an x/oauth2 failure into an error with a *TokenError inside.
func loginError(what string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %w", what, tokenErrorFrom(re))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// tokenResponse is a token endpoint answer, success or error.
type tokenResponse struct {
	AccessToken  string      `json:"access_token"`
	TokenType    string      `json:"token_type"`
	RefreshToken string      `json:"refresh_token"`
	ExpiresIn    json.Number `json:"expires_in"`
	Error        string      `json:"error"`
}

// postToken sends one form to the token endpoint. It returns a *TokenError for an error
// answer; any other error is a transport failure.
func postToken(ctx context.Context, tokenURL string, form url.Values) (Token, error) {
	hc, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, err
	}
	defer drain(resp.Body)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return Token{}, fmt.Errorf("read token response: %w", err)
	}
	var tr tokenResponse
	jerr := json.Unmarshal(body, &tr)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || tr.Error != "" {
		return Token{}, DecodeTokenError(resp.StatusCode, body)
	}
	if jerr != nil || tr.AccessToken == "" {
		return Token{}, &TokenError{Status: resp.StatusCode, Description: "the token response has no access_token"}
	}
	t := Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: tr.RefreshToken}
	if secs, err := tr.ExpiresIn.Int64(); err == nil && secs > 0 {
		t.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	return t, nil
}
