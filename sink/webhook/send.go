package webhook

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
	"unicode"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
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

// request is one HTTP request of an attempt: a message's body (opencon), or
// one event (CloudEvents).
type request struct {
	id     string // Elements-Webhook-Id and webhook-id
	body   []byte
	events int         // events in body, for Classify
	header http.Header // format headers (Content-Type, ce-*)
}

// post sends one request under ctx, bounded by the sender's timeout.
func (s *Sender) post(ctx context.Context, rq request) deliver.Result {
	reqCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, s.url, bytes.NewReader(rq.body))
	if err != nil {
		return deliver.Result{Outcome: deliver.Retry, Err: fmt.Errorf("build request: %w", err)}
	}
	if s.host != "" {
		req.Host = s.host
	}
	h := make(http.Header, len(s.header)+len(rq.header)+5)
	for k, v := range s.header {
		h[k] = v
	}
	for k, v := range rq.header {
		h[k] = v
	}
	h[HeaderWebhookID] = []string{rq.id}
	if sig, ok := s.signer.ElementsSignature(rq.body); ok {
		h[HeaderElementsSignature] = []string{sig}
	}
	start := s.now()
	if sig, ok := s.signer.StandardSignature(rq.id, start.Unix(), rq.body); ok {
		h[HeaderStandardID] = []string{rq.id}
		h[HeaderStandardTimestamp] = []string{strconv.FormatInt(start.Unix(), 10)}
		h[HeaderStandardSignature] = []string{sig}
	}
	req.Header = h

	resp, err := s.client.Do(req)
	if err != nil {
		return deliver.Result{Outcome: deliver.Retry, Err: s.transportError(err, reqCtx)}
	}
	r := deliver.Result{Code: resp.StatusCode, Outcome: Classify(resp.StatusCode, rq.events)}
	if r.Outcome != deliver.Delivered {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxReason))
		r.After, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
		r.Err = &StatusError{Status: resp.StatusCode, Text: statusText(resp, excerpt)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	_ = resp.Body.Close()
	return r
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
func (s *Sender) transportError(err error, reqCtx context.Context) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) && reqCtx.Err() != nil {
		cause = fmt.Errorf("no response within %s: %w", s.timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("POST %s: %w", s.safeURL, cause)
}
