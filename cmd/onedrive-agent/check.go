package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/callback"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// cmdCheck validates the configuration (exit 2 with file:line:key when it is
// wrong); --online also signs in where it can and calls each callback.
func cmdCheck(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	online := fs.Bool("online", false, "also sign in (client_credentials) and send a test request to each callback")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("check: unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: configuration OK, %d instance(s)\n", cfg.File, len(cfg.Instances))
	if !*online {
		return nil
	}
	failed := 0
	for _, ic := range cfg.Instances {
		if !ic.Enabled {
			fmt.Fprintf(env.stdout, "%s: disabled, not checked\n", ic.Name)
			continue
		}
		if err := checkGraph(env.ctx, cfg, ic); err != nil {
			failed++
			fmt.Fprintf(env.stdout, "%s: Microsoft: %v\n", ic.Name, err)
		} else {
			fmt.Fprintf(env.stdout, "%s: Microsoft: OK\n", ic.Name)
		}
		if err := checkCallback(env.ctx, ic); err != nil {
			failed++
			fmt.Fprintf(env.stdout, "%s: callback: %v\n", ic.Name, err)
		} else {
			fmt.Fprintf(env.stdout, "%s: callback: OK\n", ic.Name)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d online check(s) failed", failed)
	}
	return nil
}

// checkGraph signs in with client credentials; delegated flows need an
// interactive login, so only the sign-in endpoint's reachability is checked.
func checkGraph(ctx context.Context, cfg *config.Config, ic config.Instance) error {
	hc, err := connector.NewHTTPClient(connector.HTTPOptions{Proxy: proxyOf(cfg), CAFile: cfg.Network.CAFile, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	auth := authConfigOf(ic.Auth)
	if ic.Auth.Flow != config.FlowClientCredentials {
		// Reachability of the identity platform, without a sign-in.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, auth.LoginRoot()+"/"+ic.Auth.Tenant+"/v2.0/.well-known/openid-configuration", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("sign-in endpoint unreachable: %w", err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return nil
	}
	tok, err := connector.ClientCredentials(ctx, auth, connector.LoginOptions{HTTPClient: hc, Version: agentVersion()})
	if err != nil {
		return err
	}
	client, err := connector.NewClient(connector.ClientOptions{Auth: auth, Store: &memTokens{t: tok}, HTTPClient: hc, Version: agentVersion()})
	if err != nil {
		return err
	}
	if tc := ic.Drive.Tenant; tc != nil {
		return client.CheckTenant(ctx, tc.Users, tc.Sites)
	}
	_, err = client.ResolveDrive(ctx, ic.Drive.Spec)
	return err
}

// checkCallback POSTs a message without events; any 2xx passes.
func checkCallback(ctx context.Context, ic config.Instance) error {
	hc, err := connector.NewHTTPClient(connector.HTTPOptions{CAFile: ic.Callback.CAFile, Timeout: ic.Callback.Timeout})
	if err != nil {
		return err
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	id := fmt.Sprintf("check-%d", time.Now().UnixNano())
	body := []byte(`{"message":{"eventId":"` + id + `","elementKey":"onedrivev2","instanceName":"` + ic.Name + `","raw":{"objectType":"changes","changes":[]},"events":[]}}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ic.Callback.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Elements-Webhook-Id", id)
	req.Header.Set("User-Agent", "onedrive-agent/"+agentVersion())
	signer, err := callback.NewSigner(ic.Callback.SignatureKey, ic.Callback.WebhookSecret)
	if err != nil {
		return err
	}
	if sig, ok := signer.ElementsSignature(body); ok {
		req.Header.Set("Elements-Webhook-Signature", sig)
	}
	ts := time.Now().Unix()
	if sig, ok := signer.StandardSignature(id, ts, body); ok {
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", fmt.Sprint(ts))
		req.Header.Set("webhook-signature", sig)
	}
	for k := range ic.Callback.Headers {
		req.Header.Set(k, ic.Callback.Headers.Get(k))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered %s to a test message without events", resp.Status)
	}
	return nil
}

// memTokens keeps a token in memory for the online check.
type memTokens struct{ t connector.Token }

func (m *memTokens) LoadToken() (connector.Token, bool, error) { return m.t, true, nil }
func (m *memTokens) SaveToken(t connector.Token) error         { m.t = t; return nil }
