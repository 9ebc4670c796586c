package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Behaviour is how the Receiver answers a callback request.
type Behaviour struct {
	// Status is the status to answer; 0 means 204 (accepted).
	Status int
	// RetryAfter, when > 0, is sent as whole seconds in Retry-After.
	RetryAfter time.Duration
	// Hang keeps the request open without an answer until the client gives
	// up (its callback timeout) or the receiver goes down.
	Hang bool
	// LoseResponse keeps the message (as a receiver that processed it) and
	// then closes the connection without an answer, as a lost response does:
	// the agent must send it again, with the same id and bytes.
	LoseResponse bool
}

// Accept is the normal behaviour: 204, the message is kept.
var Accept = Behaviour{}

// Delivery is one request the receiver got.
type Delivery struct {
	At        time.Time // arrival
	MessageID string    // Elements-Webhook-Id header
	Header    http.Header
	Body      []byte
	Status    int  // answered; 0 when no answer was given (hang, lost response)
	Kept      bool // the receiver processed the message (2xx or lost response)
	Epoch     int  // Receiver epoch at arrival (bumped by the test on each kill)
}

// Receiver is a recording callback receiver on a fixed loopback address. It
// keeps every request body, and can refuse connections (Down closes the
// listener and every connection; Up listens again on the same port), answer
// errors, hang, or lose responses. It checks that the agent never comes back
// inside a Retry-After window it was given (unless the agent was killed in
// between: see NewEpoch).
type Receiver struct {
	addr string

	mu         sync.Mutex
	srv        *http.Server
	behave     Behaviour
	log        []Delivery
	epoch      int
	blockUntil time.Time // end of the last Retry-After window
	blockEpoch int
	violations []string
	downSince  time.Time
	outages    []time.Duration
}

// NewReceiver starts a receiver on a free loopback port; it is closed when
// the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("receiver: %v", err)
	}
	r := &Receiver{addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.Down)
	return r
}

// URL is the callback URL.
func (r *Receiver) URL() string { return "http://" + r.addr + "/hook" }

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// Set changes how the following requests are answered.
func (r *Receiver) Set(b Behaviour) {
	r.mu.Lock()
	r.behave = b
	r.mu.Unlock()
}

// NewEpoch marks that the agent process was killed: a request of the new
// process inside an older Retry-After window is not a violation (the kill
// may have come before the agent recorded the window).
func (r *Receiver) NewEpoch() {
	r.mu.Lock()
	r.epoch++
	r.mu.Unlock()
}

// Down closes the listener and every open connection: the agent gets
// "connection refused" until Up.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	if srv != nil {
		r.downSince = time.Now()
	}
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Up listens again on the same address.
func (r *Receiver) Up(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	up := r.srv != nil
	r.mu.Unlock()
	if up {
		return
	}
	var err error
	for i := 0; i < 100; i++ { // the port may linger for a moment
		var ln net.Listener
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.mu.Lock()
			r.outages = append(r.outages, time.Since(r.downSince))
			r.mu.Unlock()
			r.serve(ln)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("receiver: listen again on %s: %v", r.addr, err)
}

// Outages returns the length of every Down..Up stretch so far.
func (r *Receiver) Outages() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.outages...)
}

// Log returns a copy of every request received, in arrival order.
func (r *Receiver) Log() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.log...)
}

// Kept returns the requests whose message the receiver processed.
func (r *Receiver) Kept() []Delivery {
	var out []Delivery
	for _, d := range r.Log() {
		if d.Kept {
			out = append(out, d)
		}
	}
	return out
}

// RetryAfterViolations lists requests that came inside a Retry-After window
// the receiver had given to the same agent process.
func (r *Receiver) RetryAfterViolations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.violations...)
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the agent gave up (timeout) while sending
	}
	now := time.Now()
	r.mu.Lock()
	b := r.behave
	d := Delivery{At: now, MessageID: req.Header.Get("Elements-Webhook-Id"), Header: req.Header.Clone(), Body: body, Epoch: r.epoch}
	if now.Before(r.blockUntil) && r.blockEpoch == r.epoch {
		r.violations = append(r.violations, fmt.Sprintf("message %s at %s, %v before the end of its Retry-After window",
			d.MessageID, now.Format("15:04:05.000"), r.blockUntil.Sub(now)))
	}
	switch {
	case b.LoseResponse:
		d.Kept = true
	case b.Hang:
	default:
		d.Status = b.Status
		if d.Status == 0 {
			d.Status = http.StatusNoContent
		}
		d.Kept = d.Status/100 == 2
		if b.RetryAfter > 0 {
			r.blockUntil = time.Now().Add(b.RetryAfter)
			r.blockEpoch = r.epoch
		}
	}
	r.log = append(r.log, d)
	r.mu.Unlock()

	switch {
	case b.LoseResponse:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case b.Hang:
		<-req.Context().Done()
	default:
		if b.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((b.RetryAfter+time.Second-1)/time.Second)))
		}
		w.WriteHeader(d.Status)
	}
}
