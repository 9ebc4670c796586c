package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/oauth2"
)

// maxPageBytes bounds a success body; a 999-item delta page is about 1 MB.
const maxPageBytes = 64 << 20

// response is one Graph answer, its body read and closed.
type response struct {
	status int
	header http.Header
	body   []byte
	pause  time.Duration // for 429/503: the pause applied to the account's gate
}

// get sends an authenticated GET to Graph and returns the body of a 2xx answer. It applies the
// account gate before every attempt, pauses the account on 429/503, refreshes the access token
// once on 401, turns 410 into a *ResyncError, and retries network failures and 500/502/504
// with an exponential backoff bounded by retryMax.
func (c *Client) get(ctx context.Context, op, link string) ([]byte, error) {
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(c.retryInit),
		backoff.WithMaxInterval(max(c.retryMax/4, c.retryInit)),
		backoff.WithMaxElapsedTime(c.retryMax),
	)
	if err := c.checkLink(link); err != nil {
		return nil, fmt.Errorf("graph %s: %w", op, err)
	}
	refreshed := false
	var throttledSince time.Time
	// transient waits before the next attempt, or reports that the retry budget is spent.
	transient := func(err error) error {
		d := bo.NextBackOff()
		if d == backoff.Stop {
			return err
		}
		c.log.Info("graph request failed, retrying", "op", op, "error", err, "retry_in", d)
		return sleepCtx(ctx, d)
	}
	for {
		if err := c.waitTurn(ctx); err != nil {
			return nil, err
		}
		tok, err := c.tokens.token()
		if err != nil {
			if !transientTokenError(err) {
				return nil, err
			}
			if err := transient(err); err != nil {
				return nil, err
			}
			continue
		}
		res, err := c.send(ctx, op, link, tok)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, ErrForeignLink) {
				// A refused redirect: the same answer would come again. The *url.Error
				// around it would repeat the whole link; keep only the reason.
				var ue *url.Error
				if errors.As(err, &ue) {
					err = fmt.Errorf("graph %s: %w", op, ue.Err)
				}
				return nil, err
			}
			if err := transient(err); err != nil {
				return nil, err
			}
			continue
		}
		switch s := res.status; {
		case s >= 200 && s < 300:
			c.gate.Succeeded()
			if len(res.body) == 0 {
				return nil, fmt.Errorf("graph %s: %w", op, errNoBody)
			}
			return res.body, nil

		case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
			pause := res.pause
			now := c.now()
			if throttledSince.IsZero() {
				throttledSince = now
			}
			he := c.httpError(res)
			he.RetryAfter = pause
			c.log.Warn("graph throttled the account, pausing its requests", "op", op, "status", s, "pause", pause, "code", he.Code)
			if now.Add(pause).Sub(throttledSince) > c.throttMax {
				return nil, he
			}

		case s == http.StatusUnauthorized:
			he := c.httpError(res)
			if refreshed {
				return nil, he
			}
			c.log.Info("graph rejected the access token, refreshing it", "op", op, "code", he.Code)
			if _, err := c.tokens.forceRefresh(tok.AccessToken); err != nil {
				if !transientTokenError(err) {
					return nil, err
				}
				// The refresh itself failed for a while: try it again after a pause.
				if err := transient(err); err != nil {
					return nil, err
				}
				continue
			}
			refreshed = true

		case s == http.StatusGone:
			he := c.httpError(res)
			return nil, &ResyncError{Location: c.resyncLocation(res.header), Status: s, Code: he.Code, Message: he.Message}

		case s == http.StatusInternalServerError || s == http.StatusBadGateway ||
			s == http.StatusGatewayTimeout || s == http.StatusRequestTimeout:
			if err := transient(c.httpError(res)); err != nil {
				return nil, err
			}

		default:
			he := c.httpError(res)
			if he.isResyncCode() {
				return nil, &ResyncError{Location: c.resyncLocation(res.header), Status: s, Code: he.Code, Message: he.Message}
			}
			return nil, he
		}
	}
}

// ErrForeignLink is returned for a link (nextLink, deltaLink, Location, redirect) that does
// not lead to the configured Graph root's host over https (or over http when the configured
// root itself is http): the access token is never sent with it.
var ErrForeignLink = errors.New("link leaves the configured Graph host")

// checkLink accepts only links the access token may travel with: absolute, without user
// information, on the configured Graph host (port included, compared case-insensitively),
// over https, or over http when the configured Graph root is http. Failures are final (never
// retried) and name only the scheme and host of the link.
func (c *Client) checkLink(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("%w: not a URL", ErrForeignLink)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%w: %s is not an absolute http(s) URL", ErrForeignLink, shortText(link, 80))
	}
	if u.User != nil {
		return fmt.Errorf("%w: %s://%s carries user information", ErrForeignLink, u.Scheme, shortText(u.Host, 80))
	}
	if !strings.EqualFold(u.Host, c.graphHost) {
		return fmt.Errorf("%w: %s://%s is not %s", ErrForeignLink, u.Scheme, shortText(u.Host, 80), c.graphHost)
	}
	if u.Scheme != "https" && u.Scheme != c.graphScheme {
		return fmt.Errorf("%w: %s://%s is not https", ErrForeignLink, u.Scheme, shortText(u.Host, 80))
	}
	return nil
}

// resyncLocation returns the Location of a resync answer when it may be followed, "" (start
// again from DeltaURL) when it leads elsewhere.
func (c *Client) resyncLocation(h http.Header) string {
	loc := h.Get("Location")
	if loc == "" {
		return ""
	}
	if err := c.checkLink(loc); err != nil {
		c.log.Warn("graph sent a resync Location that is not followed", "error", err)
		return ""
	}
	return loc
}

func (c *Client) httpError(res response) *HTTPError {
	he := DecodeGraphError(res.status, res.body)
	he.RetryAfter = parseRetryAfter(res.header, c.now())
	he.RequestID = cleanText(res.header.Get("request-id"), 64)
	return he
}

// send makes one attempt and reads the whole body (bounded), so the connection is reused.
func (c *Client) send(ctx context.Context, op, link string, tok *oauth2.Token) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return response{}, fmt.Errorf("graph %s: bad link: %w", op, err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	start := time.Now()
	info := RequestInfo{Op: op}
	defer func() {
		if c.observe != nil {
			info.Duration = time.Since(start)
			c.observe(info)
		}
	}()
	resp, err := c.http.Do(req)
	if err != nil {
		info.Err = err
		return response{}, fmt.Errorf("graph %s: %w", op, err)
	}
	defer drain(resp.Body)
	info.Status = resp.StatusCode
	info.Throttled = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
	var pause time.Duration
	if info.Throttled {
		// Close the gate as soon as the status is known, before reading the body, so the
		// account's other requests hold back as early as possible.
		pause = c.gate.Throttled(parseRetryAfter(resp.Header, c.now()))
	}
	limit := int64(maxErrorBody)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		limit = maxPageBytes + 1
	}
	hint := resp.ContentLength
	if hint <= 0 {
		hint = c.lastBody.Load() * 5 / 4
	}
	body, err := readBody(io.LimitReader(resp.Body, limit), min(hint, limit))
	if err != nil {
		info.Err = err
		return response{}, fmt.Errorf("graph %s: read response: %w", op, err)
	}
	if int64(len(body)) > maxPageBytes {
		return response{}, fmt.Errorf("graph %s: response larger than %d MiB", op, maxPageBytes>>20)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		c.lastBody.Store(int64(len(body)))
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body, pause: pause}, nil
}

// transientTokenError reports whether a token failure may go away by itself: a network
// error or a 5xx/429 from the token endpoint. ErrNeedsLogin and other refusals are final.
func transientTokenError(err error) bool {
	if errors.Is(err, ErrNeedsLogin) {
		return false
	}
	var te *TokenError
	if errors.As(err, &te) {
		return te.Status >= 500 || te.Status == http.StatusTooManyRequests
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readBody reads r to the end into a buffer that starts at sizeHint bytes,
// so a page is not copied through a dozen doublings the way io.ReadAll
// grows from 512 bytes.
func readBody(r io.Reader, sizeHint int64) ([]byte, error) {
	b := make([]byte, 0, max(sizeHint, 512)+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
