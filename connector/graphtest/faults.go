package graphtest

import (
	"net/http"
	"strconv"
	"time"
)

// Fault is an injected failure. With Status 0 the request is answered
// normally, changed only by Loop, Delay, Hangup or Truncate.
type Fault struct {
	// Status, when not 0, is the HTTP error status to answer with, e.g. 429,
	// 503, 410, 500, with Graph's error body for it.
	Status int
	// RetryAfter, when > 0, is sent as an integer-seconds Retry-After header
	// (rounded up). Zero sends no Retry-After.
	RetryAfter time.Duration
	// Code is the error code in the body; "" picks Graph's usual code for the
	// status (activityLimitReached for 429, resyncRequired for 410, ...).
	// On identity routes it is the OAuth error (default temporarily_unavailable).
	Code string
	// Message overrides the error message.
	Message string
	// EmptyBody answers with no body at all (as a timed-out 503 does).
	EmptyBody bool
	// Loop, on a delta request, serves the page normally but with
	// @odata.nextLink equal to the requested URL and no deltaLink: the
	// "same nextLink repeated" fault.
	Loop bool
	// NextLinkOnly restricts a delta fault to requests that follow a nextLink
	// (mid-round); requests that start a round pass by it untouched.
	NextLinkOnly bool
	// Delay holds the answer back this long (real time), e.g. to trip a
	// client's timeout.
	Delay time.Duration
	// Hangup closes the connection without any answer.
	Hangup bool
	// Truncate sends the full Content-Length but only half of the body, then
	// closes the connection (the client sees an unexpected EOF).
	Truncate bool
}

type queuedFault struct {
	class Class
	left  int
	fault Fault
}

// InjectFault makes the next n requests of the given class fail with f (in
// queue order with other faults). ClassGraph matches delta and drive
// requests; ClassIdentity matches token, devicecode and authorize requests.
func (s *Server) InjectFault(class Class, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &queuedFault{class: class, left: n, fault: f})
}

// FailNextWith makes the next Graph request (delta or drive) fail with status,
// an optional Retry-After and code ("" = the usual code for the status).
func (s *Server) FailNextWith(status int, retryAfter time.Duration, code string) {
	s.InjectFault(ClassGraph, 1, Fault{Status: status, RetryAfter: retryAfter, Code: code})
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// ExpireTokens invalidates every delta token and nextLink handed out so far:
// following one answers 410 resyncRequired with a Location header that starts
// a fresh enumeration.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	s.rounds.clear()
	s.tree.keep = 0
	s.tree.prune(^uint64(0))
}

// takeFault pops the first queued fault matching the request; s.mu is held.
func (s *Server) takeFault(class Class, nextLink bool) *Fault {
	for k, q := range s.faults {
		if !q.class.matches(class) || (q.fault.NextLinkOnly && !nextLink) {
			continue
		}
		f := q.fault
		q.left--
		if q.left <= 0 {
			s.faults = append(s.faults[:k:k], s.faults[k+1:]...)
		}
		return &f
	}
	return nil
}

func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
	}
}

var graphCodes = map[int]string{
	http.StatusBadRequest: "invalidRequest", http.StatusUnauthorized: "InvalidAuthenticationToken",
	http.StatusForbidden: "accessDenied", http.StatusNotFound: "itemNotFound",
	http.StatusGone: "resyncRequired", http.StatusTooManyRequests: "activityLimitReached",
	http.StatusInternalServerError: "generalException", http.StatusNotImplemented: "notSupported",
	http.StatusBadGateway: "badGateway", http.StatusServiceUnavailable: "serviceNotAvailable",
	http.StatusGatewayTimeout: "gatewayTimeout", 509: "bandwidthLimitExceeded",
}

// writeFault answers a Graph request with an injected fault; s.mu is held.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, rt route, f Fault) {
	setRetryAfter(w, f.RetryAfter)
	if f.EmptyBody {
		s.setGraphHeaders(w, r)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(f.Status)
		return
	}
	code := f.Code
	if code == "" {
		code = graphCodes[f.Status]
		if code == "" {
			code = "generalException"
		}
	}
	msg := f.Message
	switch {
	case f.Status == http.StatusGone && f.Code == "" && f.Message == "":
		s.gone(w, r, rt)
		return
	case f.Status == http.StatusTooManyRequests:
		if msg == "" {
			msg = "The request has been throttled"
		}
		s.graphError(w, r, f.Status, code, msg, "throttledRequest", "quota")
		return
	case f.Status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", wwwAuthenticate)
		if msg == "" {
			msg = "Unable to initialize RPS"
		}
	case f.Status == http.StatusGone:
		w.Header().Set("Location", s.URL+rt.prefix+"/root/delta")
	}
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	s.graphError(w, r, f.Status, code, msg)
}

// ruSpend is one request's resource-unit cost at a time.
type ruSpend struct {
	at   time.Time
	cost int
}

// spend charges cost resource units to client; over budget it answers 429
// and returns false. s.mu is held.
func (s *Server) spend(w http.ResponseWriter, r *http.Request, client string, cost int) bool {
	budget := s.opts.RUPerMinute
	if budget <= 0 {
		return true
	}
	now := s.now()
	window := s.ru[client]
	k := 0
	for k < len(window) && now.Sub(window[k].at) >= time.Minute {
		k++
	}
	window = append(window[k:], ruSpend{at: now, cost: cost})
	s.ru[client] = window
	used := 0
	for _, e := range window {
		used += e.cost
	}
	reset := time.Minute - now.Sub(window[0].at)
	h := w.Header()
	if used*5 >= budget*4 {
		h.Set("RateLimit-Limit", strconv.Itoa(budget))
		h.Set("RateLimit-Remaining", strconv.Itoa(max(0, budget-used)))
		h.Set("RateLimit-Reset", strconv.FormatInt(int64((reset+time.Second-1)/time.Second), 10))
	}
	if used <= budget {
		return true
	}
	// Wait until enough of the window has expired for a retry to fit (the
	// throttled request itself stays counted).
	over, wait := used-budget+cost, time.Second
	for _, e := range window {
		over -= e.cost
		if over <= 0 {
			wait = max(time.Second, time.Minute-now.Sub(e.at))
			break
		}
	}
	setRetryAfter(w, wait)
	s.graphError(w, r, http.StatusTooManyRequests, "activityLimitReached",
		"The request has been throttled", "throttledRequest", "quota")
	return false
}
