package callback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxDrain is how much of a response body is read (and discarded) so the
// connection can be reused; a larger body closes the connection instead.
const maxDrain = 64 << 10

// maxReason bounds the excerpt of a refusing receiver's answer kept in a
// message's last error and dead-letter reason.
const maxReason = 200

// StatusError is a response that did not deliver a message. Its text is the
// status line and an excerpt of the receiver's answer.
type StatusError struct {
	Status int
	Text   string
}

// Error returns e.g. "HTTP 503 Service Unavailable: try later".
func (e *StatusError) Error() string { return e.Text }

// attempt is the result of sending a message once.
type attempt struct {
	outcome    Outcome
	status     int           // 0 for a transport error
	err        error         // *StatusError or a sanitized transport error; nil when delivered
	retryAfter time.Duration // from Retry-After when hasRA
	hasRA      bool
	took       time.Duration
	aborted    bool // cut short by shutdown: nothing to record
}

// send POSTs m once. The request runs under its own context so that a
// shutdown lets it finish for up to the grace period.
func (d *Dispatcher) send(ctx context.Context, m *Message) attempt {
	reqCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(d.grace, cancel) })
	defer stop()

	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, d.url, bytes.NewReader(m.Body))
	if err != nil {
		return attempt{outcome: Retry, err: fmt.Errorf("build request: %w", err)}
	}
	if d.host != "" {
		req.Host = d.host
	}
	h := make(http.Header, len(d.header)+5)
	for k, v := range d.header {
		h[k] = v
	}
	h[HeaderWebhookID] = []string{m.ID}
	if sig, ok := d.signer.ElementsSignature(m.Body); ok {
		h[HeaderElementsSignature] = []string{sig}
	}
	start := d.now()
	if sig, ok := d.signer.StandardSignature(m.ID, start.Unix(), m.Body); ok {
		h[HeaderStandardID] = []string{m.ID}
		h[HeaderStandardTimestamp] = []string{strconv.FormatInt(start.Unix(), 10)}
		h[HeaderStandardSignature] = []string{sig}
	}
	req.Header = h

	resp, err := d.client.Do(req)
	took := d.now().Sub(start)
	if err != nil {
		return attempt{outcome: Retry, err: d.transportError(err, reqCtx), took: took, aborted: ctx.Err() != nil}
	}
	a := attempt{status: resp.StatusCode, took: took, outcome: Classify(resp.StatusCode, m.Events)}
	var excerpt []byte
	if a.outcome != Delivered {
		excerpt, _ = io.ReadAll(io.LimitReader(resp.Body, maxReason))
		a.retryAfter, a.hasRA = ParseRetryAfter(resp.Header.Get("Retry-After"), d.now())
		a.err = &StatusError{Status: resp.StatusCode, Text: statusText(resp, excerpt)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	return a
}

// statusText describes a refusing response: status line plus a one-line
// printable excerpt of its body.
func statusText(resp *http.Response, excerpt []byte) string {
	s := "HTTP " + strconv.Itoa(resp.StatusCode)
	if t := http.StatusText(resp.StatusCode); t != "" {
		s += " " + t
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		s += " (redirects are not followed)"
	}
	if len(excerpt) > 0 {
		clean := strings.Map(func(r rune) rune {
			if unicode.IsPrint(r) {
				return r
			}
			return ' '
		}, strings.ToValidUTF8(string(excerpt), "?"))
		if clean = strings.Join(strings.Fields(clean), " "); clean != "" {
			s += ": " + clean
		}
	}
	return s
}

// transportError rewrites a client error without the callback URL (which may
// carry a token in its query) as "POST <scheme://host/path>: <cause>".
func (d *Dispatcher) transportError(err error, reqCtx context.Context) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) && reqCtx.Err() != nil {
		cause = fmt.Errorf("no response within %s: %w", d.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("POST %s: %w", d.safeURL, cause)
}
