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
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// ClientOptions configures a Client.
type ClientOptions struct {
	Auth AuthConfig
	// Store loads and saves the instance's token. Required for delegated flows; optional for
	// client_credentials (nil keeps the app-only token in memory).
	Store TokenStore
	// HTTPClient sends every request (Graph and token endpoint); nil uses NewHTTPClient with
	// defaults. Its Timeout bounds each request. Its Transport is used; its redirect policy
	// and cookie jar are not: Graph redirects are followed only to the Graph host over
	// https, token endpoint redirects never.
	HTTPClient *http.Client
	// Throttle is shared between the Clients of a process so that Clients of one account
	// pause together; nil gives this Client a registry of its own.
	Throttle *Throttle
	// Budget, if set, limits the Client's Graph requests per second (see Budget); nil is
	// unlimited.
	Budget *Budget
	// Version goes into the User-Agent "onedrive-agent/<version>".
	Version string
	// Observe, if set, is called after every Graph response or transport failure.
	Observe func(RequestInfo)
	Logger  *slog.Logger

	// RetryInitial is the first delay after a transient failure (5xx other than 503, network
	// error); default 1s. RetryMaxElapsed bounds the whole retry sequence of one request;
	// default 1m, after which the last error is returned.
	RetryInitial, RetryMaxElapsed time.Duration
	// ThrottleMaxWait bounds how long one call waits on a throttled account before it returns
	// the 429/503 as an *HTTPError (the account stays paused); default 15m.
	ThrottleMaxWait time.Duration
}

// RequestInfo describes one Graph request outcome for metrics.
type RequestInfo struct {
	Op        string        // "delta" or "drive"
	Status    int           // HTTP status; 0 when the request failed before a response
	Throttled bool          // 429 or 503 that paused the account
	Duration  time.Duration // from sending to the end of the response body
	Err       error         // transport failure: no response (Status 0) or a body cut short
}

// Client talks to Graph for one instance. Create it with NewClient; it is safe for
// concurrent use.
type Client struct {
	auth  AuthConfig
	graph string
	// graphScheme and graphHost are those of graph: the only place links are followed to.
	graphScheme, graphHost string
	http                   *http.Client
	tokens                 *tokenSource
	gate                   *Gate
	budget                 *Budget
	userAgent              string
	observe                func(RequestInfo)
	log                    *slog.Logger
	retryInit              time.Duration
	retryMax               time.Duration
	throttMax              time.Duration
	now                    func() time.Time
	// lastBody is the size of the last page read: the buffer for the next
	// one starts there when the server does not send Content-Length.
	lastBody atomic.Int64
}

// NewClient validates the configuration and returns a Client. It does no network I/O.
func NewClient(opts ClientOptions) (*Client, error) {
	if err := opts.Auth.Validate(); err != nil {
		return nil, err
	}
	store := opts.Store
	if store == nil {
		if opts.Auth.delegated() {
			return nil, fmt.Errorf("%w: a token store is required for flow %q", ErrBadConfig, opts.Auth.flow())
		}
		store = &memoryStore{}
	}
	hc := opts.HTTPClient
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(HTTPOptions{}); err != nil {
			return nil, err
		}
	}
	th := opts.Throttle
	if th == nil {
		th = NewThrottle(ThrottleOptions{})
	}
	gu, err := url.Parse(opts.Auth.GraphRoot())
	if err != nil {
		return nil, fmt.Errorf("%w: graph_url: %v", ErrBadConfig, err)
	}
	c := &Client{
		auth:        opts.Auth,
		graph:       opts.Auth.GraphRoot(),
		graphScheme: strings.ToLower(gu.Scheme),
		graphHost:   strings.ToLower(gu.Host),
		gate:        th.Gate(opts.Auth.AccountKey()),
		budget:      opts.Budget,
		userAgent:   userAgent(opts.Version),
		observe:     opts.Observe,
		log:         loggerOr(opts.Logger).With("component", "connector"),
		retryInit:   durationOr(opts.RetryInitial, time.Second),
		retryMax:    durationOr(opts.RetryMaxElapsed, time.Minute),
		throttMax:   durationOr(opts.ThrottleMaxWait, 15*time.Minute),
		now:         th.opts.Now,
	}
	// Refreshes outlive any one request: they run on a context of their own that carries the
	// HTTP client for x/oauth2.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{
		Transport:     userAgentTransport{base: transportOf(hc), ua: c.userAgent},
		Timeout:       hc.Timeout,
		CheckRedirect: noRedirect,
	})
	// Graph requests follow redirects only where checkLink lets the token go.
	c.http = &http.Client{Transport: hc.Transport, Timeout: hc.Timeout, CheckRedirect: c.checkRedirect}
	c.tokens = &tokenSource{ctx: ctx, auth: opts.Auth, store: store, now: c.now}
	return c, nil
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// CheckDriveSpec reports whether a drive spec can work with a flow, so configuration loading
// can reject it early. "me" (or "") needs a signed-in user. The SharePoint forms
// ("site:<site id>", "site:<host>:/sites/NAME", a library's or site's https URL) are checked
// for their shape.
func CheckDriveSpec(spec, flow string) error {
	s := strings.TrimSpace(spec)
	if _, ok, err := parseSiteSpec(s); ok {
		return err
	}
	switch {
	case s == "" || strings.EqualFold(s, "me"):
		if flow == FlowClientCredentials {
			return fmt.Errorf("%w: drive = \"me\" needs a signed-in user, but flow client_credentials signs in as the app: set drive to \"user:<upn or id>\", \"site:<site id>\" or a drive id", ErrBadConfig)
		}
	case strings.HasPrefix(s, "user:") && strings.TrimSpace(s[len("user:"):]) == "":
		return fmt.Errorf("%w: drive = %q: user: needs a user principal name or id", ErrBadConfig, spec)
	case strings.HasPrefix(s, "site:") && strings.TrimSpace(s[len("site:"):]) == "":
		return fmt.Errorf("%w: drive = %q: site: needs a site id", ErrBadConfig, spec)
	case strings.ContainsAny(s, "/?# ") && !strings.HasPrefix(s, "site:") && !strings.HasPrefix(s, "user:"):
		return fmt.Errorf("%w: drive = %q: a drive id has no '/', '?', '#' or spaces", ErrBadConfig, spec)
	}
	return nil
}

// ResolveDrive returns the id of the drive a spec names: "me" (GET /me/drive), "user:<upn or
// id>" (/users/{x}/drive), "site:<site id>" (/sites/{x}/drive), "site:<host>:/sites/NAME"
// (the site by path, then its default drive), the https URL of a SharePoint site (its
// default drive) or of a document library (the site's drive whose webUrl is that URL; a
// trailing /Forms/… is ignored), or a drive id (/drives/{id}, which checks that it exists
// and is reachable). "me" with client_credentials is an ErrBadConfig error.
func (c *Client) ResolveDrive(ctx context.Context, spec string) (string, error) {
	if err := CheckDriveSpec(spec, c.auth.flow()); err != nil {
		return "", err
	}
	s := strings.TrimSpace(spec)
	if ref, ok, _ := parseSiteSpec(s); ok && ref.id == "" {
		id, err := c.resolveSiteDrive(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("resolve drive %q: %w", spec, err)
		}
		return id, nil
	}
	var path string
	switch {
	case s == "" || strings.EqualFold(s, "me"):
		path = "/me/drive"
	case strings.HasPrefix(s, "user:"):
		path = "/users/" + escapeSegment(strings.TrimSpace(s[len("user:"):])) + "/drive"
	case strings.HasPrefix(s, "site:"):
		path = "/sites/" + escapeSegments(strings.TrimSpace(s[len("site:"):])) + "/drive"
	default:
		path = "/drives/" + escapeSegment(s)
	}
	body, err := c.get(ctx, "drive", c.graph+path+"?$select=id,driveType")
	if err != nil {
		return "", fmt.Errorf("resolve drive %q: %w", spec, err)
	}
	var d struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &d); err != nil || d.ID == "" {
		return "", fmt.Errorf("resolve drive %q: Graph answered without a drive id", spec)
	}
	return d.ID, nil
}

// escapeSegments escapes each '/'-separated segment, so site paths such as
// "contoso.sharepoint.com:/sites/Finance:" keep their slashes.
func escapeSegments(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = escapeSegment(p)
	}
	return strings.Join(parts, "/")
}

// escapeSegment percent-encodes what RFC 3986 does not allow in a path segment. Unlike
// url.PathEscape it keeps sub-delimiters such as '!' and ',' that Graph ids contain
// ("b!Xy12…", "host,site-guid,web-guid"), so URLs look as Graph writes them.
func escapeSegment(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// deltaSelect lists the driveItem properties the agent asks delta for: what the events need
// (ids, names, parents, tags, hashes, facets, times) plus what receivers expect in the raw
// item (webUrl, who and when). It leaves out @microsoft.graph.downloadUrl, a short-lived
// credential-like link that must not travel to receivers.
const deltaSelect = "id,name,eTag,cTag,size,createdDateTime,lastModifiedDateTime,webUrl," +
	"file,folder,package,root,deleted,parentReference,fileSystemInfo,createdBy,lastModifiedBy"

// deltaPageSize is the $top asked for; Graph treats it as a hint (it caps near 999 and sends
// deletions in tiny pages), and larger pages cost fewer requests on a big enumeration.
const deltaPageSize = 500

// DeltaURL returns the link of a fresh enumeration of a drive:
// <graph>/drives/{id}/root/delta?$select=…&$top=500. Graph keeps the query options in every
// nextLink and deltaLink it returns, so later links are followed verbatim.
func (c *Client) DeltaURL(driveID string) string {
	return fmt.Sprintf("%s/drives/%s/root/delta?$select=%s&$top=%d", c.graph, escapeSegment(driveID), deltaSelect, deltaPageSize)
}

// ThrottledUntil returns the end of the pause Graph imposed on this Client's account, or the
// zero time (or a past one) when requests may go out.
func (c *Client) ThrottledUntil() time.Time { return c.gate.Until() }

// ReloadToken makes the Client read its token from the TokenStore again before the next
// request: the runtime calls it after `onedrive-agent login` saved a new sign-in while the
// agent runs. A refreshed token whose save failed is dropped; the new sign-in replaces it.
func (c *Client) ReloadToken() { c.tokens.reload() }

// SameDrive compares drive ids the way Graph does: case-insensitively (OneDrive personal
// returns the same id with different letter case from different endpoints).
func SameDrive(a, b string) bool { return strings.EqualFold(a, b) }

// Page fetches one delta page from link (a DeltaURL, a nextLink or a deltaLink, used
// verbatim) and decodes it. It waits out throttling, refreshes an expired access token once,
// and retries transient failures for up to RetryMaxElapsed. Errors: *ResyncError
// (ErrResyncRequired) for 410, ErrNeedsLogin when sign-in is needed, *HTTPError for other
// refusals, or the last transient error. On error no partial page is returned. ctx bounds
// the waits and Graph requests; a token refresh already under way runs on the Client's own
// context, bounded by the HTTP client's timeout, so a rotated refresh token is never lost to a
// cancellation.
func (c *Client) Page(ctx context.Context, link string) (Page, error) {
	body, err := c.get(ctx, "delta", link)
	if err != nil {
		return Page{}, err
	}
	p, err := decodePage(body)
	if err != nil {
		return Page{}, fmt.Errorf("delta page: %w", err)
	}
	return p, nil
}

// memoryStore keeps an app-only token in memory when no store is given.
type memoryStore struct{ t *Token }

// LoadToken returns the token kept in memory, if any.
func (m *memoryStore) LoadToken() (Token, bool, error) {
	if m.t == nil {
		return Token{}, false, nil
	}
	return *m.t, true, nil
}

// SaveToken keeps t in memory.
func (m *memoryStore) SaveToken(t Token) error { m.t = &t; return nil }

// drain reads what is left of a body (bounded) so the connection can be reused, and closes it.
func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 256<<10))
	_ = rc.Close()
}

var errNoBody = errors.New("empty response body")
