// Package kafka is the Apache Kafka sink: one record per event, to one
// topic, through an idempotent producer that waits for every in-sync
// replica (acks=all). The record key is the item id (objectId), so the
// changes of one item stay in order in one partition; the headers eventId,
// eventType and instanceName let consumers route and deduplicate without
// parsing the value, which is the event object with its Graph item as
// "raw".
//
// A message is delivered when every one of its records is acknowledged.
// Unreachable brokers, leader changes and timeouts are retried by the
// delivery loop; a missing topic, refused authorization or a record too
// large rejects the message with the broker's reason.
package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

// Config is one instance's Kafka sink.
type Config struct {
	Instance string        // instance name, for errors
	Brokers  []string      // host:port of the seed brokers
	Topic    string        // the topic; the agent never creates it
	Username string        // SASL user; "" = no SASL
	Password string        // SASL password
	SASL     string        // plain (default), scram-sha-256 or scram-sha-512
	TLS      *tls.Config   // nil = plaintext
	Timeout  time.Duration // longest wait for a message's acknowledgements; default 30s
	Version  string        // agent version, sent as the client software version
	// Window is the most messages in flight; default DefaultWindow.
	Window int
}

// DefaultWindow is how many messages the sink keeps in flight by default:
// enough records for the producer to fill its batches.
const DefaultWindow = 256

// Sender produces messages to a topic; it implements deliver.Pipeliner.
type Sender struct {
	cl      *kgo.Client
	topic   string
	timeout time.Duration
	window  int
}

// New returns the sender for cfg. It does not connect: the first message or
// Probe does.
func New(cfg Config) (*Sender, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, fmt.Errorf("instance %s: kafka: brokers and topic are required", cfg.Instance)
	}
	s := &Sender{topic: cfg.Topic, timeout: cfg.Timeout, window: cfg.Window}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	if s.window <= 0 {
		s.window = DefaultWindow
	}
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // with the idempotent producer, franz-go's default
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(max(s.timeout, time.Second)), // franz-go allows no less
		kgo.SoftwareNameAndVersion("onedrive-agent", version),
		kgo.ClientID("onedrive-agent"),
	}
	if cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.TLS.Clone()))
	}
	if cfg.Username != "" {
		m, err := mechanism(cfg.SASL, cfg.Username, cfg.Password)
		if err != nil {
			return nil, fmt.Errorf("instance %s: kafka: %w", cfg.Instance, err)
		}
		opts = append(opts, kgo.SASL(m))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("instance %s: kafka: %w", cfg.Instance, err)
	}
	s.cl = cl
	return s, nil
}

func mechanism(name, user, pass string) (sasl.Mechanism, error) {
	switch name {
	case "", "plain":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q", name)
}

// Close flushes nothing and closes the connections; records not yet
// acknowledged are sent again by the next run, with the same ids.
func (s *Sender) Close() { s.cl.Close() }

// Window implements deliver.Pipeliner.
func (s *Sender) Window() int { return s.window }

// Send implements deliver.Sender.
func (s *Sender) Send(ctx context.Context, m *deliver.Message) deliver.Result {
	wait, _ := s.Start(ctx, m)
	return wait()
}

// Start implements deliver.Pipeliner: it buffers every event of m as a
// record and returns a wait for their acknowledgements.
func (s *Sender) Start(ctx context.Context, m *deliver.Message) (wait func() deliver.Result, started bool) {
	body, err := opencon.Read(m.Body)
	if err != nil {
		r := deliver.Result{Outcome: deliver.Reject, Err: fmt.Errorf("message %s cannot be read: %w", m.ID, err)}
		return func() deliver.Result { return r }, false
	}
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(len(body.Events))
	for _, e := range body.Events {
		rec := &kgo.Record{
			Key:   []byte(e.ObjectID),
			Value: e.Data,
			Headers: []kgo.RecordHeader{
				{Key: "eventId", Value: []byte(e.ID)},
				{Key: "eventType", Value: []byte(e.Type)},
				{Key: "instanceName", Value: []byte(body.InstanceName)},
			},
		}
		s.cl.Produce(pctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
			wg.Done()
		})
	}
	return func() deliver.Result {
		wg.Wait()
		cancel()
		if first == nil {
			return deliver.Result{Outcome: deliver.Delivered}
		}
		return s.result(first)
	}, true
}

// result classifies a failed produce.
func (s *Sender) result(err error) deliver.Result {
	var ke *kerr.Error
	code := 0
	if errors.As(err, &ke) {
		code = int(ke.Code)
	}
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID),
		errors.Is(err, kerr.InvalidTopicException):
		return deliver.Result{Outcome: deliver.Reject, Code: code, Err: fmt.Errorf("kafka topic %s: %w", s.topic, err)}
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return deliver.Result{Outcome: deliver.Reject, Code: code, Err: fmt.Errorf("kafka topic %s: authorization refused: %w", s.topic, err)}
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge), errors.Is(err, kerr.InvalidRecord):
		return deliver.Result{Outcome: deliver.Reject, Code: code, Err: fmt.Errorf("kafka topic %s: record refused: %w", s.topic, err)}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrRecordTimeout):
		return deliver.Result{Outcome: deliver.Retry, Code: code, Err: fmt.Errorf("kafka topic %s: no acknowledgement within %s: %w", s.topic, s.timeout, err)}
	}
	return deliver.Result{Outcome: deliver.Retry, Code: code, Err: fmt.Errorf("kafka topic %s: %w", s.topic, err)}
}

// Probe asks the brokers for the topic's metadata: it fails when no broker
// answers, the sign-in is refused, or the topic does not exist.
func (s *Sender) Probe(ctx context.Context) error {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(s.topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, s.cl)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic != nil && *rt.Topic == s.topic {
			if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
				return fmt.Errorf("kafka topic %s: %w", s.topic, err)
			}
			if len(rt.Partitions) == 0 {
				return fmt.Errorf("kafka topic %s has no partitions", s.topic)
			}
			return nil
		}
	}
	return fmt.Errorf("kafka topic %s: not in the brokers' metadata", s.topic)
}
