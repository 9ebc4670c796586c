// Package nats is the NATS JetStream sink: one message per event, published
// to one subject, each waiting for the stream's acknowledgement (PubAck).
// The header Nats-Msg-Id carries the eventId, so the stream's duplicate
// window drops a message sent again after a lost acknowledgement or a
// restart; eventType and instanceName are headers too. The payload is the
// event object with its Graph item as "raw".
//
// A message is delivered when every one of its events is acknowledged. A
// server that cannot be reached, a stream without leader and timeouts are
// retried by the delivery loop; a subject no stream captures ("no
// responders"), refused permission and a message too large reject the
// message with the server's reason.
package nats

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

// Config is one instance's NATS sink.
type Config struct {
	Instance string        // instance name, for errors
	Servers  []string      // host:port of the servers
	Subject  string        // the subject; a stream must capture it (the agent creates none)
	Username string        // "" = no user
	Password string        //
	TLS      *tls.Config   // nil = plaintext
	Timeout  time.Duration // longest wait for a message's acknowledgements; default 30s
	Version  string        // agent version, sent as the connection name
	Window   int           // most messages in flight; default 64
}

// Sender publishes messages to a subject; it implements deliver.Pipeliner.
type Sender struct {
	url     string
	opts    []natsio.Option
	nc      *natsio.Conn // nil until the first use
	js      jetstream.JetStream
	subject string
	timeout time.Duration
	window  int

	mu sync.Mutex // guards nc, js

	// pending maps an item id to the publish of its latest event whose
	// acknowledgement was not seen yet: the next event of the item waits for
	// it, so an event retried after a failure never lands after a later event
	// of the same item. Used from the delivery loop's goroutine only.
	pending map[string]*ack

	dmu    sync.Mutex    // guards denied, deny
	denied chan struct{} // closed when the server refused a publish permission
	deny   error
}

// New returns the sender for cfg. It does not connect: the first message or
// Probe does, and the connection is then kept for ever (reconnecting in the
// background), so a server that is down delays deliveries.
func New(cfg Config) (*Sender, error) {
	if len(cfg.Servers) == 0 || cfg.Subject == "" {
		return nil, fmt.Errorf("instance %s: nats: servers and subject are required", cfg.Instance)
	}
	s := &Sender{subject: cfg.Subject, timeout: cfg.Timeout, window: cfg.Window, denied: make(chan struct{}),
		pending: map[string]*ack{}}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	if s.window <= 0 {
		s.window = 64
	}
	urls := make([]string, len(cfg.Servers))
	scheme := "nats://"
	if cfg.TLS != nil {
		scheme = "tls://"
	}
	for i, h := range cfg.Servers {
		urls[i] = scheme + h
	}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	opts := []natsio.Option{
		natsio.Name("onedrive-agent/" + version + " " + cfg.Instance),
		natsio.RetryOnFailedConnect(true),
		natsio.MaxReconnects(-1),
		natsio.ReconnectWait(time.Second),
		// No buffering while disconnected: the server then receives a prefix
		// of what was published, and the messages after the first lost one
		// fail too, so a retry never lands after a later message.
		natsio.ReconnectBufSize(-1),
		natsio.Timeout(min(s.timeout, 10*time.Second)),
		natsio.ErrorHandler(func(_ *natsio.Conn, _ *natsio.Subscription, err error) { s.refused(err) }),
	}
	if cfg.Username != "" {
		opts = append(opts, natsio.UserInfo(cfg.Username, cfg.Password))
	}
	if cfg.TLS != nil {
		opts = append(opts, natsio.Secure(cfg.TLS.Clone()))
	}
	s.url, s.opts = strings.Join(urls, ","), opts
	return s, nil
}

// conn connects on first use.
func (s *Sender) conn() (jetstream.JetStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.js != nil {
		return s.js, nil
	}
	nc, err := natsio.Connect(s.url, s.opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(s.timeout),
		jetstream.WithPublishAsyncMaxPending(max(4000, 2*s.window*16)))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	s.nc, s.js = nc, js
	return js, nil
}

func (s *Sender) status() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc == nil {
		return "not connected"
	}
	return s.nc.Status().String()
}

// refused wakes the messages waiting for acknowledgements when the server
// refused a publish to the subject: their answers never come.
func (s *Sender) refused(err error) {
	if !errors.Is(err, natsio.ErrPermissionViolation) || !strings.Contains(strings.ToLower(err.Error()), "publish") {
		return
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	s.deny = err
	close(s.denied)
	s.denied = make(chan struct{})
}

func (s *Sender) deniedCh() chan struct{} {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	return s.denied
}

// Close closes the connection; messages not yet acknowledged are sent again
// by the next run, with the same ids.
func (s *Sender) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc != nil {
		s.nc.Close()
	}
}

// Window implements deliver.Pipeliner.
func (s *Sender) Window() int { return s.window }

// Send implements deliver.Sender.
func (s *Sender) Send(ctx context.Context, m *deliver.Message) deliver.Result {
	wait, _ := s.Start(ctx, m)
	return wait()
}

// Start implements deliver.Pipeliner: it publishes every event of m and
// returns a wait for their acknowledgements.
func (s *Sender) Start(ctx context.Context, m *deliver.Message) (wait func() deliver.Result, started bool) {
	fail := func(r deliver.Result) (func() deliver.Result, bool) { return func() deliver.Result { return r }, false }
	body, err := opencon.Read(m.Body)
	if err != nil {
		return fail(deliver.Result{Outcome: deliver.Reject, Err: fmt.Errorf("message %s cannot be read: %w", m.ID, err)})
	}
	js, err := s.conn()
	if err != nil {
		return fail(deliver.Result{Outcome: deliver.Retry, Err: fmt.Errorf("nats subject %s: %w", s.subject, err)})
	}
	denied := s.deniedCh()
	deadline := time.Now().Add(s.timeout)
	type published struct {
		item string
		a    *ack
	}
	futures := make([]published, 0, len(body.Events))
	for _, e := range body.Events {
		if a, ok := s.pending[e.ObjectID]; ok {
			r := a.wait(ctx, s, denied, deadline)
			if a.done {
				delete(s.pending, e.ObjectID)
			}
			// An earlier event of the item that failed, or whose answer is
			// still unknown, must be settled first: the loop sends its message
			// again before this one. This message's own earlier attempt is
			// settled once its answer is known.
			if r.Outcome != deliver.Delivered && (!a.done || a.msg != m.ID) {
				r.Outcome = deliver.Retry // the earlier message's own result tells what it was
				r.Err = fmt.Errorf("an earlier event of item %s is not acknowledged: %w", e.ObjectID, r.Err)
				return fail(r)
			}
		}
		msg := natsio.NewMsg(s.subject)
		msg.Data = e.Data
		msg.Header.Set("eventType", e.Type)
		msg.Header.Set("instanceName", body.InstanceName)
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(e.ID), jetstream.WithRetryAttempts(0))
		if err != nil {
			return fail(s.result(ctx, err))
		}
		a := &ack{f: f, msg: m.ID}
		s.pending[e.ObjectID] = a
		futures = append(futures, published{e.ObjectID, a})
	}
	return func() deliver.Result {
		for _, p := range futures {
			r := p.a.wait(ctx, s, denied, deadline)
			if p.a.done && s.pending[p.item] == p.a {
				delete(s.pending, p.item)
			}
			if r.Outcome != deliver.Delivered {
				return r
			}
		}
		return deliver.Result{Outcome: deliver.Delivered}
	}, true
}

// ack is one publish's acknowledgement; its result is kept, as a future
// hands its answer out once.
type ack struct {
	f    jetstream.PubAckFuture
	msg  string // the message id
	done bool
	r    deliver.Result
}

// wait waits for the acknowledgement until deadline (a timeout is not
// kept: a later wait may still see the answer).
func (a *ack) wait(ctx context.Context, s *Sender, denied chan struct{}, deadline time.Time) deliver.Result {
	if a.done {
		return a.r
	}
	r, final := s.await(ctx, a.f, denied, deadline)
	if final {
		a.done, a.r = true, r
	}
	return r
}

// await waits for one acknowledgement until deadline; final is false when
// it gave up waiting.
func (s *Sender) await(ctx context.Context, f jetstream.PubAckFuture, denied chan struct{}, deadline time.Time) (r deliver.Result, final bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-f.Ok():
		return deliver.Result{Outcome: deliver.Delivered}, true
	case err := <-f.Err():
		return s.result(ctx, err), true
	case <-denied:
		s.dmu.Lock()
		err := s.deny
		s.dmu.Unlock()
		return deliver.Result{Outcome: deliver.Reject, Err: fmt.Errorf("nats subject %s: %w", s.subject, err)}, true
	case <-timer.C:
		return deliver.Result{Outcome: deliver.Retry, Err: fmt.Errorf("nats subject %s: no acknowledgement within %s (%s)", s.subject, s.timeout, s.status())}, false
	case <-ctx.Done():
		return deliver.Result{Outcome: deliver.Retry, Err: ctx.Err()}, false
	}
}

// result classifies a failed publish. "No responders" rejects only when no
// stream captures the subject: right after a server restart, a stream that
// exists may not answer yet.
func (s *Sender) result(ctx context.Context, err error) deliver.Result {
	var api *jetstream.APIError
	code := 0
	if errors.As(err, &api) {
		code = int(api.ErrorCode)
	}
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, natsio.ErrNoResponders):
		if s.streamExists(ctx) {
			return deliver.Result{Outcome: deliver.Retry, Code: code, Err: fmt.Errorf("nats subject %s: the stream does not answer yet: %w", s.subject, err)}
		}
		return deliver.Result{Outcome: deliver.Reject, Code: code, Err: fmt.Errorf("nats subject %s: no stream captures it (no responders): %w", s.subject, err)}
	case errors.Is(err, natsio.ErrMaxPayload), api != nil && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum:
		return deliver.Result{Outcome: deliver.Reject, Code: code, Err: fmt.Errorf("nats subject %s: message too large: %w", s.subject, err)}
	case errors.Is(err, natsio.ErrPermissionViolation), errors.Is(err, natsio.ErrAuthorization):
		return deliver.Result{Outcome: deliver.Reject, Code: code, Err: fmt.Errorf("nats subject %s: authorization refused: %w", s.subject, err)}
	case errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return deliver.Result{Outcome: deliver.Retry, Code: code, Err: fmt.Errorf("nats subject %s: no acknowledgement within %s (%s)", s.subject, s.timeout, s.status())}
	}
	return deliver.Result{Outcome: deliver.Retry, Code: code, Err: fmt.Errorf("nats subject %s: %w", s.subject, err)}
}

// streamExists reports whether a stream captures the subject, as far as a
// lookup within a second tells.
func (s *Sender) streamExists(ctx context.Context) bool {
	lctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return s.Probe(lctx) == nil
}

// Probe looks up the stream that captures the subject: it fails when no
// server answers, the sign-in is refused, or no stream captures it.
func (s *Sender) Probe(ctx context.Context) error {
	js, err := s.conn()
	if err != nil {
		return err
	}
	name, err := js.StreamNameBySubject(ctx, s.subject)
	if err != nil {
		return fmt.Errorf("nats subject %s: no stream found: %w", s.subject, err)
	}
	if name == "" {
		return fmt.Errorf("nats subject %s: no stream captures it", s.subject)
	}
	return nil
}
