package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// An instance with push = "auto" and a signed-in user keeps Graph's socket.io notification
// link open (connector.Push). A notification, or a completed (re)connect, opens a debounce
// window; when it closes the instance polls once. Notifications that arrive during that poll
// open one more window. The schedule keeps running as the safety net, so a lost notification
// delays a change until the next scheduled poll at worst.

// pushStatus is what status shows of an instance's push link.
type pushStatus struct {
	mu            sync.Mutex
	state         string
	reason        string
	notifications uint64
	last          time.Time
	link          *connector.Push // nil until runPush started
}

// retryPush makes a push link waiting on a refused or missing sign-in try again now.
func (in *instance) retryPush() {
	in.push.mu.Lock()
	link := in.push.link
	in.push.mu.Unlock()
	if link != nil {
		link.Retry()
	}
}

// appOnlyReason is why client_credentials instances poll only.
const appOnlyReason = "app-only sign-in (client_credentials): Graph offers change notifications to signed-in users only; polling"

// pushWanted reports whether the instance runs a push link: push = "auto" and a delegated
// sign-in.
func (in *instance) pushWanted() bool {
	return in.cfg.Poll.Push == config.PushAuto && in.cfg.Auth.Flow != config.FlowClientCredentials
}

// initPush sets the push state an instance starts with.
func (in *instance) initPush() {
	in.kick = make(chan struct{}, 1)
	in.push.state = connector.PushOff
	if in.cfg.Poll.Push == config.PushAuto && in.cfg.Auth.Flow == config.FlowClientCredentials {
		in.push.state, in.push.reason = connector.PushUnsupported, appOnlyReason
	}
}

// runPush keeps the push link up until ctx ends; it returns nil.
func (in *instance) runPush(ctx context.Context) error {
	p, err := connector.NewPush(connector.PushOptions{
		Subscribe:  in.subscribe,
		HTTPClient: in.graphHTTP,
		Version:    in.a.version,
		Logger:     in.log,
		Observer: connector.PushObserver{
			State:        in.pushState,
			Connected:    in.pushConnected,
			Notification: in.pushNotified,
		},
	})
	if err != nil {
		in.log.Error("push disabled", "err", err)
		return nil
	}
	in.push.mu.Lock()
	in.push.link = p
	in.push.mu.Unlock()
	err = p.Run(ctx)
	in.pushState(connector.PushOff, nil)
	return err
}

// subscribe asks Graph for a notification URL of the instance's drive. The drive id comes
// from the store; before the first poll resolved it (or after the drive setting changed) it
// is resolved here.
func (in *instance) subscribe(ctx context.Context) (connector.Subscription, error) {
	st, err := in.a.db.State(in.cfg.Name)
	if err != nil {
		return connector.Subscription{}, err
	}
	id := st.DriveID
	if id == "" || (st.Scope != "" && st.Scope != in.cfg.Scope()) {
		if id, err = in.client.ResolveDrive(ctx, in.cfg.Drive.Spec); err != nil {
			return connector.Subscription{}, err
		}
	}
	return in.client.Subscribe(ctx, id)
}

func (in *instance) pushState(state string, err error) {
	in.push.mu.Lock()
	in.push.state = state
	switch {
	case err != nil:
		in.push.reason = err.Error()
	case state == connector.PushConnected || state == connector.PushOff:
		in.push.reason = ""
	}
	in.push.mu.Unlock()
	if state != connector.PushConnected {
		in.a.metrics.pushConnected.WithLabelValues(in.cfg.Name).Set(0)
	}
}

func (in *instance) pushConnected(reconnect bool) {
	in.a.metrics.pushConnected.WithLabelValues(in.cfg.Name).Set(1)
	if reconnect {
		in.a.metrics.pushReconnects.WithLabelValues(in.cfg.Name).Inc()
	}
	in.log.Debug("push link connected", "reconnect", reconnect)
	in.kickPoll() // a change made while disconnected is not left for the schedule
}

func (in *instance) pushNotified() {
	now := in.a.now()
	in.push.mu.Lock()
	in.push.notifications++
	in.push.last = now
	in.push.mu.Unlock()
	in.a.metrics.pushNotifications.WithLabelValues(in.cfg.Name).Inc()
	in.kickPoll()
}

// kickPoll asks for a debounced poll; kicks before the window closes make one poll.
func (in *instance) kickPoll() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// runPushPoller turns kicks into polls: the first kick opens a window of poll.debounce, the
// poll runs when it closes, and a kick during the poll opens the next window. Active hours,
// a full queue, a full disk and a needed sign-in hold push-triggered polls back as they hold
// scheduled ones; Graph's throttling pauses them in the connector like any request.
func (in *instance) runPushPoller(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-in.kick:
		}
		if !sleepCtx(ctx, in.cfg.Poll.Debounce) {
			return nil
		}
		select {
		case <-in.kick: // notifications inside the window are this poll's
		default:
		}
		if why := in.pushHold(); why != "" {
			in.log.Debug("notification not polled", "reason", why)
			continue
		}
		if _, err := in.poll(ctx, false, true); err != nil && ctx.Err() == nil && !errors.Is(err, connector.ErrNeedsLogin) {
			in.log.Debug("push-triggered poll failed; the schedule retries", "err", err)
		}
	}
}

// pushHold returns why a push-triggered poll must not run now, "" when it may.
func (in *instance) pushHold() string {
	if !in.cfg.Poll.Schedule.Active(in.a.now()) {
		return "outside active_hours"
	}
	in.mu.Lock()
	state := in.state
	in.mu.Unlock()
	switch state {
	case StateQueueFull, StateDiskFull, StateNeedsLogin:
		return state
	}
	return ""
}

// pushSnapshot returns the push fields of the status.
func (in *instance) pushSnapshot(running bool) (state, reason string, n uint64, last time.Time) {
	in.push.mu.Lock()
	defer in.push.mu.Unlock()
	state, reason = in.push.state, in.push.reason
	if !running && state != connector.PushUnsupported {
		state, reason = connector.PushOff, ""
	}
	return state, reason, in.push.notifications, in.push.last
}

// EventDates returns the date of each event of a callback body as the agent builds it
// ({"message":{"events":[{"date":…},…]}}), for the event latency histogram. It runs for every
// delivered message, so it scans the body once without decoding what it skips (the events'
// Graph items are most of it): a third or less of the CPU of encoding/json. Keys are matched
// exactly, as the agent writes them, and what is skipped is not validated; a date that is
// null or empty is left out.
func EventDates(body []byte) ([]time.Time, error) {
	// The events are the last member of the message: their array is read on
	// its own from the first `,"events":[` that ends the body as the message
	// does, and the whole body is walked only when none does. (The search
	// goes forward: bytes.Index is several times faster than LastIndex.)
	for off := 0; ; {
		i := bytes.Index(body[off:], eventsKey)
		if i < 0 {
			break
		}
		sc := dateScanner{b: body, i: off + i + len(eventsKey) - 1}
		var out []time.Time
		if err := sc.array(func() error { return sc.event(&out) }); err == nil &&
			sc.expect('}') && sc.expect('}') {
			if sc.ws(); sc.i == len(sc.b) {
				return out, nil
			}
		}
		off += i + 1
	}
	sc := dateScanner{b: body}
	var out []time.Time
	err := sc.object(func(key []byte) error {
		if string(key) != "message" {
			return sc.skip()
		}
		return sc.object(func(key []byte) error {
			if string(key) != "events" {
				return sc.skip()
			}
			return sc.array(func() error { return sc.event(&out) })
		})
	})
	if err == nil {
		sc.ws()
		if sc.i != len(sc.b) {
			err = sc.fail("data after the body")
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eventsKey comes right before the message's events array, its last member
// ({"message":{…,"events":[…]}}). A key of a Graph item in raw.changes
// comes before it; inside a string its quotes would be escaped.
var eventsKey = []byte(`,"events":[`)

// event reads one event object, appending its date to out.
func (s *dateScanner) event(out *[]time.Time) error {
	return s.object(func(key []byte) error {
		if string(key) != "date" {
			return s.skip()
		}
		if s.literal("null") {
			return nil
		}
		v, err := s.str()
		if err != nil || len(v) == 0 {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return fmt.Errorf("event dates: %w", err)
		}
		*out = append(*out, t)
		return nil
	})
}

// dateScanner walks a JSON document for EventDates.
type dateScanner struct {
	b []byte
	i int
}

func (s *dateScanner) fail(what string) error {
	return fmt.Errorf("event dates: %s at byte %d", what, s.i)
}

func (s *dateScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// expect consumes c after white space.
func (s *dateScanner) expect(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal consumes word (after white space) when it comes next.
func (s *dateScanner) literal(word string) bool {
	s.ws()
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// str reads a string and returns its raw bytes between the quotes (escapes
// left as they are, not checked).
func (s *dateScanner) str() ([]byte, error) {
	if !s.expect('"') {
		return nil, s.fail("want a string")
	}
	start := s.i
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			s.i = len(s.b)
			return nil, s.fail("unterminated string")
		}
		if k := bytes.IndexByte(s.b[s.i:s.i+j], '\\'); k >= 0 {
			s.i += k + 2 // the escaped byte may be a quote
			continue
		}
		s.i += j + 1
		return s.b[start : s.i-1], nil
	}
}

// object reads an object, calling member with each key; member must
// consume the value.
func (s *dateScanner) object(member func(key []byte) error) error {
	if !s.expect('{') {
		return s.fail("want an object")
	}
	if s.expect('}') {
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if !s.expect(':') {
			return s.fail("want ':'")
		}
		if err := member(key); err != nil {
			return err
		}
		if s.expect('}') {
			return nil
		}
		if !s.expect(',') {
			return s.fail("want ',' or '}'")
		}
	}
}

// array reads an array, calling elem for each element; elem must consume it.
func (s *dateScanner) array(elem func() error) error {
	if !s.expect('[') {
		return s.fail("want an array")
	}
	if s.expect(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if s.expect(']') {
			return nil
		}
		if !s.expect(',') {
			return s.fail("want ',' or ']'")
		}
	}
}

// composite consumes an object or an array, matching brackets outside
// strings without checking what is between them.
func (s *dateScanner) composite() error {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		s.i++
		if depth == 0 {
			return nil
		}
	}
	return s.fail("unterminated object or array")
}

// skip consumes one value of any kind.
func (s *dateScanner) skip() error {
	s.ws()
	if s.i >= len(s.b) {
		return s.fail("want a value")
	}
	switch s.b[s.i] {
	case '"':
		_, err := s.str()
		return err
	case '{', '[':
		return s.composite()
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if s.i == start {
				return s.fail("want a value")
			}
			return nil
		}
		s.i++
	}
	if s.i == start {
		return s.fail("want a value")
	}
	return nil
}
