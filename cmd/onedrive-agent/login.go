package main

import (
	"errors"
	"flag"
	"fmt"
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
	cfg, err := loadConfig(*cfgPath)
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
