package graphtest

import "time"

// Class groups requests by route, for counters and fault injection.
type Class string

const (
	// ClassDelta is any .../root/delta request.
	ClassDelta Class = "delta"
	// ClassDrive is a drive or item metadata request (GET /me/drive, /drives/{id}, .../root).
	ClassDrive Class = "drive"
	// ClassToken is the identity token endpoint.
	ClassToken Class = "token"
	// ClassDeviceCode is the identity devicecode endpoint.
	ClassDeviceCode Class = "devicecode"
	// ClassAuthorize is the identity authorize endpoint.
	ClassAuthorize Class = "authorize"
	// ClassSubscription is a GET of <drive>/root/subscriptions/socketIo.
	ClassSubscription Class = "subscription"
	// ClassPush is a WebSocket handshake of the notification channel (/socket.io/).
	ClassPush Class = "push"
	// ClassOther is anything else (unknown paths, the /devicelogin page).
	ClassOther Class = "other"

	// ClassGraph matches ClassDelta and ClassDrive (for InjectFault and Count).
	ClassGraph Class = "graph"
	// ClassIdentity matches ClassToken, ClassDeviceCode and ClassAuthorize.
	ClassIdentity Class = "identity"
	// ClassAny matches every request.
	ClassAny Class = "any"
)

// matches reports whether a request of class c is selected by the selector sel.
func (sel Class) matches(c Class) bool {
	switch sel {
	case ClassAny:
		return true
	case ClassGraph:
		return c == ClassDelta || c == ClassDrive
	case ClassIdentity:
		return c == ClassToken || c == ClassDeviceCode || c == ClassAuthorize
	}
	return sel == c
}

// Request is one logged request.
type Request struct {
	Time       time.Time     // when it arrived (server clock)
	Done       time.Time     // when its answer was written
	Method     string        // e.g. GET
	Path       string        // URL path
	Query      string        // raw query
	Class      Class         // route class
	NextLink   bool          // a delta request following a nextLink (mid-round)
	Status     int           // status answered
	RetryAfter time.Duration // Retry-After sent with the answer, 0 if none
	Client     string        // client id of the bearer token ("" if none)
}

// maxLog bounds the request log; the oldest half is dropped when it is full.
const maxLog = 1 << 20

func (s *Server) record(e Request) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if len(s.log) >= maxLog {
		s.log = append(s.log[:0], s.log[maxLog/2:]...)
	}
	s.log = append(s.log, e)
}

// Requests returns a copy of the request log in the order the requests were
// answered (each carries its arrival and answer times).
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = nil
}

// Count returns how many logged requests match class (a class or a selector
// such as ClassGraph or ClassAny) and status (0 = any status).
func (s *Server) Count(class Class, status int) int {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	n := 0
	for _, e := range s.log {
		if class.matches(e.Class) && (status == 0 || e.Status == status) {
			n++
		}
	}
	return n
}

// RetryAfterViolations returns every Graph request that arrived while a
// Retry-After window was open for its client id: after a 429 or 503 carrying
// Retry-After had been answered, and before that many seconds had passed
// since the throttled request arrived. A client that honours Retry-After and
// pauses all its requests gets an empty result.
func (s *Server) RetryAfterViolations() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	var throttles []int
	for k, e := range s.log {
		if ClassGraph.matches(e.Class) && e.RetryAfter > 0 && (e.Status == 429 || e.Status == 503) {
			throttles = append(throttles, k)
		}
	}
	var out []Request
	for k, e := range s.log {
		if !ClassGraph.matches(e.Class) {
			continue
		}
		for _, j := range throttles {
			t := s.log[j]
			if j != k && t.Client == e.Client && !e.Time.Before(t.Done) && e.Time.Before(t.Time.Add(t.RetryAfter)) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}
