package graphtest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP routes Graph requests under /v1.0/ and identity requests under
// /{tenant}/oauth2/v2.0/, and records every request. Answers are composed
// under the server lock into a buffer and sent after it is released, so a
// slow reader never holds up the tests' mutations.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	start := s.now()
	s.mu.Unlock()
	entry := Request{Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Class: ClassOther}
	if r.URL.Path == "/socket.io/" {
		// A WebSocket link is not buffered; it is logged once its handshake is answered.
		s.servePush(w, r, &entry)
		return
	}
	buf := &buffered{header: http.Header{}}
	defer func() {
		entry.Status, entry.RetryAfter = buf.outcome()
		s.mu.Lock()
		entry.Done = s.now()
		s.mu.Unlock()
		s.record(entry)
	}()
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1.0/"):
		s.serveGraph(buf, r, &entry)
	case r.URL.Path == "/devicelogin":
		s.serveDeviceLogin(buf, r)
	default:
		s.serveIdentity(buf, r, &entry)
	}
	buf.flush(w, r)
}

// buffered is an http.ResponseWriter that keeps the answer, plus the
// transport faults to apply when sending it.
type buffered struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	delay    time.Duration
	hangup   bool
	truncate bool
}

func (b *buffered) Header() http.Header { return b.header }

func (b *buffered) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *buffered) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// outcome returns what the request log records of the answer: its status (0 for a hang-up)
// and its Retry-After in whole seconds (0 without one).
func (b *buffered) outcome() (status int, retryAfter time.Duration) {
	status = b.status
	if b.hangup {
		status = 0
	}
	if v, err := strconv.Atoi(b.header.Get("Retry-After")); err == nil {
		retryAfter = time.Duration(v) * time.Second
	}
	return status, retryAfter
}

// apply notes the transport effects of fault f.
func (b *buffered) apply(f *Fault) {
	b.delay, b.hangup, b.truncate = f.Delay, f.Hangup, f.Truncate
}

func (b *buffered) flush(w http.ResponseWriter, r *http.Request) {
	if b.delay > 0 {
		t := time.NewTimer(b.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
	}
	if b.hangup {
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	for k, v := range b.header {
		w.Header()[k] = v
	}
	body := b.body.Bytes()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if b.truncate {
		body = body[:len(body)/2] // short of Content-Length: the server drops the connection
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(body)
}
