package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/webhook"
)

// Prober is a sink that can test its receiver for real: a Kafka metadata
// request for the topic, a NATS stream lookup for the subject.
type Prober interface {
	Probe(ctx context.Context) error
}

// NewSender returns the sink of ic's callback URL (by its scheme) and the
// sink's name, the sink label of the delivery metrics. httpClient is the
// callbacks' client (callbackHTTPClient: [network], or the callback's
// ca_file). driveID returns the resolved drive id (the CloudEvents source).
// A Kafka or NATS sender has a Close method and implements Prober; callers
// close it when done.
func NewSender(ic config.Instance, version string, httpClient *http.Client, driveID func() string) (deliver.Sender, string, error) {
	cb := ic.Callback
	switch cb.Sink {
	case config.SinkKafka, config.SinkNATS:
		var tc *tls.Config
		if cb.TLS {
			var err error
			if tc, err = tlsConfig(cb.CAFile); err != nil {
				return nil, "", fmt.Errorf("instance %s: callback: %w", ic.Name, err)
			}
		}
		if cb.Sink == config.SinkKafka {
			return newKafkaSender(ic, tc, version)
		}
		return newNATSSender(ic, tc, version)
	}
	headers := map[string]string{}
	for k := range cb.Headers {
		headers[k] = cb.Headers.Get(k)
	}
	s, err := webhook.New(webhook.Config{
		Instance:      ic.Name,
		URL:           cb.URL,
		SignatureKey:  cb.SignatureKey,
		WebhookSecret: cb.WebhookSecret,
		Headers:       headers,
		Version:       version,
		Timeout:       cb.Timeout,
		Format:        cb.Format,
		DriveID:       driveID,
	}, httpClient)
	return s, config.SinkWebhook, err
}

// tlsConfig trusts the system roots and the certificates of caFile.
func tlsConfig(caFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return tc, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", caFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// newSender returns the instance's sink. The CloudEvents source is the
// drive id of the instance's state, read once it is known.
func (in *instance) newSender(httpClient *http.Client) (deliver.Sender, string, error) {
	var drive atomic.Pointer[string]
	driveID := func() string {
		if p := drive.Load(); p != nil {
			return *p
		}
		st, err := in.store.State()
		if err != nil || st.DriveID == "" {
			return ""
		}
		drive.Store(&st.DriveID)
		return st.DriveID
	}
	return NewSender(in.cfg, in.a.version, httpClient, driveID)
}

// closeSender releases a broker sink's connections.
func closeSender(s deliver.Sender) {
	if c, ok := s.(interface{ Close() }); ok {
		c.Close()
	}
}

// ProbeSink tests a Kafka or NATS callback for real, as check --online
// does: a metadata request for the Kafka topic, a lookup of the stream that
// captures the NATS subject. It returns nil for other sinks (the HTTP
// callback is tested with a request). ctx bounds the test; without a
// deadline it is given 15 s.
func ProbeSink(ctx context.Context, ic config.Instance, version string) error {
	if ic.Callback.Sink != config.SinkKafka && ic.Callback.Sink != config.SinkNATS {
		return nil
	}
	s, _, err := NewSender(ic, version, nil, nil)
	if err != nil {
		return err
	}
	defer closeSender(s)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
	}
	return s.(Prober).Probe(ctx)
}
