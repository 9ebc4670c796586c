package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/console"
	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/sink/webhook"
)

// Steps of an online check, in order.
const (
	CheckSignIn   = "sign-in"
	CheckDrive    = "drive"
	CheckCallback = "callback"
)

// CheckStep is the outcome of one step of an online check.
type CheckStep struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Checker runs the online check of an instance: it signs in with the
// stored (delegated) or app-only token, asks Graph for the drive once (a
// tenant-wide instance: one user and one site it may list), and
// sends the callback a message without events. A token it refreshes is
// saved as the agent saves it, so the check never invalidates the agent's
// sign-in.
type Checker interface {
	Check(ctx context.Context, instance string) ([]CheckStep, error)
}

var _ Checker = (*Agent)(nil)

// Check implements Checker.
func (a *Agent) Check(ctx context.Context, name string) ([]CheckStep, error) {
	in, err := a.instance(name)
	if err != nil {
		return nil, err
	}
	steps := in.checkGraph(ctx)
	return append(steps, in.checkCallback(ctx)), nil
}

func (in *instance) checkGraph(ctx context.Context) []CheckStep {
	fail := func(step, detail string) []CheckStep {
		out := []CheckStep{{Step: step, Detail: detail}}
		if step == CheckSignIn {
			out = append(out, CheckStep{Step: CheckDrive, Detail: "not checked (no sign-in)"})
		}
		return out
	}
	if err := in.cfg.SecretErr("auth"); err != nil {
		return fail(CheckSignIn, err.Error())
	}
	if in.client == nil {
		return fail(CheckSignIn, "no Graph client")
	}
	appOnly := in.cfg.Auth.Flow == config.FlowClientCredentials
	signIn := "app-only token accepted"
	if !appOnly {
		_, ok, err := in.store.LoadToken()
		switch {
		case err != nil:
			return fail(CheckSignIn, "reading the stored sign-in: "+err.Error())
		case !ok:
			return fail(CheckSignIn, "never signed in: run `onedrive-agent login "+in.cfg.Name+"`")
		}
		signIn = "stored sign-in accepted"
	}
	var id, drive string
	var err error
	if tc := in.cfg.Drive.Tenant; tc != nil {
		// A tenant-wide instance: the smallest requests that prove the app
		// may list what its discovery lists.
		err = in.client.CheckTenant(ctx, tc.Users, tc.Sites)
		drive = fmt.Sprintf("%s: the app may list the tenant's %s", in.cfg.Drive.Spec, tenantScope(tc))
	} else {
		id, err = in.client.ResolveDrive(ctx, in.cfg.Drive.Spec)
		drive = fmt.Sprintf("%s is drive %s", in.cfg.Drive.Spec, id)
		if connector.SameDrive(in.cfg.Drive.Spec, id) {
			drive = "drive " + id + " answers"
		}
	}
	var te *connector.TokenError
	switch {
	case errors.Is(err, connector.ErrNeedsLogin):
		return fail(CheckSignIn, "Microsoft did not accept the stored sign-in: run `onedrive-agent login "+in.cfg.Name+"`")
	case errors.As(err, &te):
		return fail(CheckSignIn, "Microsoft refused the sign-in: "+te.Error())
	case err != nil:
		return []CheckStep{{Step: CheckSignIn, OK: true, Detail: signIn}, {Step: CheckDrive, Detail: err.Error()}}
	}
	return []CheckStep{
		{Step: CheckSignIn, OK: true, Detail: signIn},
		{Step: CheckDrive, OK: true, Detail: drive},
	}
}

func tenantScope(tc *config.Tenant) string {
	switch {
	case tc.Users && tc.Sites:
		return "users and sites"
	case tc.Users:
		return "users"
	}
	return "sites"
}

// CallbackCheck is what a callback test gets: the instance's callback
// configuration and the HTTP client its deliveries use ([network] proxy and
// CA, the callback's ca_file).
type CallbackCheck struct {
	Instance string
	Callback config.Callback
	HTTP     *http.Client
	Version  string
}

// CallbackTests holds the online test of each callback URL scheme. A test
// returns what the receiver answered; an error fails the check.
var CallbackTests = map[string]func(context.Context, CallbackCheck) (string, error){
	"http":  testHTTPCallback,
	"https": testHTTPCallback,
}

func (in *instance) checkCallback(ctx context.Context) CheckStep {
	step := CheckStep{Step: CheckCallback}
	if cb := in.cfg.Callback; cb.Sink == config.SinkKafka || cb.Sink == config.SinkNATS {
		// The multi-host form is no URL Go parses; the broker sinks test
		// themselves (a metadata request, a stream lookup).
		shown := cb.Sink + "://" + strings.Join(cb.Servers, ",") + "/" + cb.Topic
		if err := in.cfg.SecretErr("callback"); err != nil {
			step.Detail = shown + ": " + err.Error()
			return step
		}
		if err := ProbeSink(ctx, in.cfg, in.a.version); err != nil {
			step.Detail = shown + ": " + err.Error()
			return step
		}
		what := "topic found"
		if cb.Sink == config.SinkNATS {
			what = "a stream captures the subject"
		}
		step.OK, step.Detail = true, shown+": "+what
		return step
	}
	u, err := url.Parse(in.cfg.Callback.URL)
	if err != nil {
		step.Detail = "the callback url does not parse"
		return step
	}
	shown := console.RedactURL(in.cfg.Callback.URL)
	if err := in.cfg.SecretErr("callback"); err != nil {
		step.Detail = shown + ": " + err.Error()
		return step
	}
	test, ok := CallbackTests[u.Scheme]
	if !ok {
		step.Detail = fmt.Sprintf("%s: no online test for %s:// callbacks", shown, u.Scheme)
		return step
	}
	hc, err := callbackHTTPClient(in.a.graphHTTPClient(), proxyString(in.a.currentConfig()), in.cfg)
	if err != nil {
		step.Detail = shown + ": " + err.Error()
		return step
	}
	answer, err := test(ctx, CallbackCheck{Instance: in.cfg.Name, Callback: in.cfg.Callback, HTTP: hc, Version: in.a.version})
	if err != nil {
		step.Detail = shown + ": " + err.Error()
		return step
	}
	step.OK, step.Detail = true, shown+" "+answer
	return step
}

func (a *Agent) graphHTTPClient() *http.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.graphHTTP
}

// callbackHTTPClient is the client an instance's callbacks use: the Graph
// client ([network] proxy and CA), or, with a callback ca_file, one that
// trusts that file instead of [network].ca_file (the system roots stay
// trusted), through the same proxy.
func callbackHTTPClient(graphHTTP *http.Client, proxy string, ic config.Instance) (*http.Client, error) {
	if ic.Callback.CAFile == "" {
		return graphHTTP, nil
	}
	hc, err := connector.NewHTTPClient(connector.HTTPOptions{Proxy: proxy, CAFile: ic.Callback.CAFile, Timeout: ic.Callback.Timeout})
	if err != nil {
		return nil, fmt.Errorf("instance %s: callback: %w", ic.Name, err)
	}
	return hc, nil
}

// testHTTPCallback POSTs a signed message without events, as deliveries
// are sent; any 2xx passes. Redirects are not followed, as in delivery.
func testHTTPCallback(ctx context.Context, c CallbackCheck) (string, error) {
	hc := *c.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.Callback.Timeout > 0 {
		hc.Timeout = c.Callback.Timeout
	}
	id := fmt.Sprintf("check-%d", time.Now().UnixNano())
	body := []byte(`{"message":{"eventId":"` + id + `","elementKey":"onedrivev2","instanceName":"` + c.Instance +
		`","raw":{"objectType":"changes","changes":[]},"events":[]}}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Callback.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	for k := range c.Callback.Headers {
		req.Header.Set(k, c.Callback.Headers.Get(k))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Elements-Webhook-Id", id)
	req.Header.Set("User-Agent", "onedrive-agent/"+c.Version)
	signer, err := webhook.NewSigner(c.Callback.SignatureKey, c.Callback.WebhookSecret)
	if err != nil {
		return "", err
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
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold a token
		}
		return "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("answered %s to a test message without events (want 2xx)", resp.Status)
	}
	return "answered " + resp.Status, nil
}
