package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// cmdLogin signs an instance in and hands the token to the running agent,
// or stores it when no agent runs.
func cmdLogin(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	code := fs.String("code", "", "exchange this authorization code (Open Connectors' providerData.code)")
	browser := fs.Bool("browser", false, "sign in in a browser (authorization code with PKCE on the loopback redirect_url)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: onedrive-agent login [-c FILE] INSTANCE [--code CODE] [--browser]")
	}
	if *code != "" && *browser {
		return usagef("login: --code and --browser exclude each other")
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	ic, ok := cfg.Instance(pos[0])
	if !ok {
		return usagef("login: no instance %q in %s", pos[0], cfg.File)
	}
	if err := needSecrets(ic, "auth"); err != nil {
		return err
	}
	auth := authConfigOf(ic.Auth)
	if auth.Flow == config.FlowCode && *code == "" && !*browser {
		// No code at hand: say how to get one and what to run with it.
		fmt.Fprint(env.stderr, codeFlowHelp(ic.Name, auth))
		return errSilent{exitUsage}
	}
	switch {
	case *code != "":
		auth.Flow = config.FlowCode
	case *browser:
		auth.Flow = config.FlowBrowser
	}
	hc, err := connector.NewHTTPClient(connector.HTTPOptions{Proxy: proxyOf(cfg), CAFile: cfg.Network.CAFile})
	if err != nil {
		return usageError{err}
	}
	tok, err := connector.Login(env.ctx, auth, connector.LoginOptions{
		HTTPClient: hc,
		Version:    agentVersion(),
		Code:       *code,
		ShowDeviceCode: func(dc connector.DeviceCode) {
			fmt.Fprintln(env.stderr, dc.Message)
			fmt.Fprintf(env.stderr, "(the code works until %s; waiting for you to finish signing in…)\n", dc.Expiry.Local().Format(time.Kitchen))
		},
		ShowAuthURL: func(u string) {
			fmt.Fprintf(env.stderr, "If no browser opens, visit:\n  %s\n", u)
		},
	})
	if err != nil {
		if errors.Is(err, connector.ErrBadConfig) {
			return usageError{err}
		}
		return fmt.Errorf("login %s: %w", ic.Name, err)
	}
	if err := saveToken(env, cfg, ic.Name, tok); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: signed in; the token is stored in the agent's database\n", ic.Name)
	return nil
}

func authConfigOf(c config.Auth) connector.AuthConfig {
	return connector.AuthConfig{
		Flow: c.Flow, Tenant: c.Tenant, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: c.RedirectURL, Scopes: c.Scopes, Cloud: c.Cloud, LoginURL: c.LoginURL, GraphURL: c.GraphURL,
		ClientCertificateFile: c.ClientCertificateFile,
	}
}

func proxyOf(cfg *config.Config) string {
	if cfg.Network.Proxy == nil {
		return ""
	}
	return cfg.Network.Proxy.String()
}

// saveToken gives the token to a running agent through the admin API, or
// writes it into the database.
func saveToken(env *cmdEnv, cfg *config.Config, name string, tok connector.Token) error {
	t := agent.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry}
	c, done, err := controller(env.ctx, env, cfg)
	if err != nil {
		return err
	}
	defer done()
	ts, ok := c.(agent.TokenSaver)
	if !ok {
		return errors.New("the agent cannot take a token")
	}
	return ts.SaveToken(env.ctx, name, t)
}

// codeFlowHelp tells how to sign in an instance with flow = "code" when no
// authorization code was given: the address that issues one for the
// configured redirect_url, and the command to redeem it.
func codeFlowHelp(name string, auth connector.AuthConfig) string {
	q := url.Values{
		"client_id":     {auth.ClientID},
		"response_type": {"code"},
		"redirect_uri":  {auth.RedirectURL},
		"response_mode": {"query"},
		"scope":         {strings.Join(auth.EffectiveScopes(), " ")},
		"prompt":        {"select_account"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s signs in with flow = \"code\": an authorization code issued for redirect_url %s.\n", name, auth.RedirectURL)
	b.WriteString("1. Open this address in a browser and sign in:\n")
	fmt.Fprintf(&b, "     %s?%s\n", auth.AuthURL(), q.Encode())
	fmt.Fprintf(&b, "2. The browser then goes to %s?code=…; copy the value of code from its address\n", auth.RedirectURL)
	b.WriteString("   bar (that page need not load). A code works once, for a few minutes.\n")
	fmt.Fprintf(&b, "3. Run:  onedrive-agent login %s --code 'THE-CODE'\n", name)
	fmt.Fprintf(&b, "Without a browser on this host, `onedrive-agent login %s` with flow = \"device\" needs none\n", name)
	b.WriteString("(the app registration must allow public client flows).\n")
	return b.String()
}
