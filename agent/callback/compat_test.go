package callback

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/agent/instore"
	"github.com/onedrive-agent/onedrive-agent/sink/webhook"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// The delivery tests of this package were written against the HTTP
// dispatcher that the delivery loop (agent/deliver) and the HTTP sink
// (sink/webhook) replaced. Dispatcher puts the two together again, so the
// tests keep checking the same bytes, headers and response table.

// Queue is the delivery loop's queue.
type Queue = deliver.Queue

// StoreQueue is an instance's queue in db.
func StoreQueue(db *store.DB, name string) Queue { return instore.New(db, name, nil) }

// Config is a dispatcher's configuration: the sink's and the loop's.
type Config struct {
	Instance      string
	URL           string
	SignatureKey  string
	WebhookSecret string
	Headers       map[string]string
	Version       string
	Timeout       time.Duration
	RetryInitial  time.Duration
	RetryMax      time.Duration
	Grace         time.Duration
	BatchSize     int
}

// Observer receives outcomes, as the dispatcher reported them.
type Observer struct {
	Delivered    func(events int, took time.Duration)
	Failed       func(status int, err error)
	DeadLettered func(events int)
	Split        func(events int)
	Retrying     func(next time.Time)
	Attempt      func(Attempt)
}

// Attempt is one ended attempt, as the dispatcher reported it.
type Attempt struct {
	ID      string
	Events  int
	Outcome Outcome
	Status  int
	Took    time.Duration
	Err     error
}

// Outcome is what the loop did after an attempt.
type Outcome = deliver.Outcome

const (
	Retry     = deliver.Retry
	Delivered = deliver.Delivered
	Reject    = deliver.Reject
	Split     = deliver.Split
)

func (o Observer) observe(a deliver.Attempt) {
	if o.Attempt != nil {
		var err error
		if a.Err != "" {
			err = errors.New(a.Err)
		}
		o.Attempt(Attempt{ID: a.Message, Events: a.Events, Outcome: a.Outcome, Status: a.Code, Took: a.Took, Err: err})
	}
	switch {
	case a.Outcome == deliver.Delivered && o.Delivered != nil:
		o.Delivered(a.Events, a.Took)
	case a.Outcome == deliver.Reject && o.DeadLettered != nil:
		o.DeadLettered(a.Events)
	case a.Outcome == deliver.Split && o.Split != nil:
		o.Split(a.Events)
	case a.Outcome == deliver.Retry:
		if o.Failed != nil {
			o.Failed(a.Code, nil)
		}
		if o.Retrying != nil {
			o.Retrying(a.Next)
		}
	}
}

// Dispatcher is a delivery loop with an HTTP sender; now and timer may be
// replaced before Run.
type Dispatcher struct {
	cfg    Config
	q      Queue
	sender *webhook.Sender
	obs    Observer
	log    *slog.Logger
	now    func() time.Time
	timer  func(time.Duration) (<-chan time.Time, func() bool)

	mu   sync.Mutex
	loop *deliver.Loop
}

func New(cfg Config, q Queue, client *http.Client, obs Observer, log *slog.Logger) (*Dispatcher, error) {
	d := &Dispatcher{cfg: cfg, q: q, obs: obs, log: log, now: time.Now}
	var err error
	d.sender, err = webhook.New(webhook.Config{
		Instance: cfg.Instance, URL: cfg.URL, SignatureKey: cfg.SignatureKey, WebhookSecret: cfg.WebhookSecret,
		Headers: cfg.Headers, Version: cfg.Version, Timeout: cfg.Timeout,
		Now: func() time.Time { return d.now() },
	}, client)
	return d, err
}

func (d *Dispatcher) getLoop() *deliver.Loop {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loop == nil {
		d.loop = deliver.New(deliver.Config{
			Instance: d.cfg.Instance, Sink: "webhook", RetryInitial: d.cfg.RetryInitial, RetryMax: d.cfg.RetryMax,
			Grace: d.cfg.Grace, BatchSize: d.cfg.BatchSize, Observer: d.obs.observe,
			Now: d.now, Timer: d.timer,
		}, d.q, d.sender, d.log)
	}
	return d.loop
}

func (d *Dispatcher) Run(ctx context.Context) error { return d.getLoop().Run(ctx) }

func (d *Dispatcher) Notify() { d.getLoop().Notify() }

// wireBody is the part of a body the tests decode.
type wireBody struct {
	Message struct {
		EventID      string   `json:"eventId"`
		InstanceID   uint32   `json:"instanceId"`
		InstanceName string   `json:"instanceName"`
		InstanceTags []string `json:"instanceTags"`
		Raw          struct {
			Changes []json.RawMessage `json:"changes"`
		} `json:"raw"`
		Events []json.RawMessage `json:"events"`
	} `json:"message"`
}

const MaxRetryAfter = webhook.MaxRetryAfter
