// Package webhook is the HTTP sink: it POSTs callback messages to the
// receiver's URL, one request per message (format opencon) or one per event
// (CloudEvents), signs each request (Elements-Webhook-Signature, Standard
// Webhooks), and maps the answer to an outcome as Classify says: 2xx
// delivers, 400/413 (one event)/415/422 reject, 413 with several events
// splits, anything else retries, honouring Retry-After (capped at
// MaxRetryAfter). Redirects are never followed.
package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

// Config is one instance's HTTP callback.
type Config struct {
	Instance      string            // instance name, for errors
	URL           string            // callback URL (required)
	SignatureKey  string            // Open Connectors signature key; "" = no Elements-Webhook-Signature
	WebhookSecret string            // "whsec_<base64>"; "" = no Standard Webhooks headers
	Headers       map[string]string // extra request headers ("Host" sets the request's host)
	Version       string            // agent version for User-Agent: onedrive-agent/<version>
	Timeout       time.Duration     // per request; default 30s
	Now           func() time.Time  // clock of the webhook-timestamp; nil = time.Now
	// Format is FormatOpenCon (default), FormatCloudEvents or
	// FormatCloudEventsBinary.
	Format string
	// DriveID returns the id of the instance's drive as Graph returned it,
	// the CloudEvents source /drives/{id}; nil or "" gives /drives/unknown.
	DriveID func() string
}

// Sender delivers messages to one callback URL; it implements
// deliver.Sender.
type Sender struct {
	client  *http.Client
	signer  Signer
	url     string
	safeURL string
	host    string
	header  http.Header
	timeout time.Duration
	now     func() time.Time
	format  string
	drive   func() string
}

// New returns the sender for cfg. client may be shared with other instances
// (nil uses a plain client); the sender uses a copy that never follows
// redirects.
func New(cfg Config, client *http.Client) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("instance %s: callback url must be an http or https URL", cfg.Instance)
	}
	signer, err := NewSigner(cfg.SignatureKey, cfg.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", cfg.Instance, err)
	}
	s := &Sender{
		client:  noRedirects(client),
		signer:  signer,
		url:     cfg.URL,
		safeURL: (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		header:  http.Header{},
		timeout: cfg.Timeout,
		now:     time.Now,
	}
	switch cfg.Format {
	case "", FormatOpenCon:
		s.format = FormatOpenCon
	case FormatCloudEvents, FormatCloudEventsBinary:
		s.format = cfg.Format
	default:
		return nil, fmt.Errorf("instance %s: unknown callback format %q", cfg.Instance, cfg.Format)
	}
	s.drive = cfg.DriveID
	if cfg.Now != nil {
		s.now = cfg.Now
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	for k, v := range cfg.Headers {
		if strings.EqualFold(k, "Host") {
			s.host = v
			continue
		}
		s.header.Set(k, v)
	}
	s.header.Set("Content-Type", "application/json")
	if s.header.Get("User-Agent") == "" {
		version := cfg.Version
		if version == "" {
			version = "dev"
		}
		s.header.Set("User-Agent", "onedrive-agent/"+version)
	}
	return s, nil
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

func (s *Sender) driveID() string {
	if s.drive != nil {
		if id := s.drive(); id != "" {
			return id
		}
	}
	return "unknown"
}

// Send POSTs m's body once, or each of its events as a CloudEvent. A 413 for
// several events comes back as Split with the two halves (opencon.Split).
func (s *Sender) Send(ctx context.Context, m *deliver.Message) deliver.Result {
	if s.format != FormatOpenCon {
		return s.sendEvents(ctx, m)
	}
	r := s.post(ctx, request{id: m.ID, body: m.Body, events: m.Events})
	if r.Outcome == deliver.Split {
		parts, err := opencon.Split(m.ID, m.Body)
		if err != nil {
			return deliver.Result{Outcome: deliver.Reject, Code: r.Code,
				Err: fmt.Errorf("%w; the message cannot be split: %w", r.Err, err)}
		}
		for _, p := range parts {
			r.Parts = append(r.Parts, deliver.Message{ID: p.ID, Events: p.Events, Body: p.Body})
		}
	}
	return r
}
