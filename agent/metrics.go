package agent

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the agent's Prometheus collectors, all labelled by instance.
// Queue figures (depth, oldest age, dead letters, last successful poll) are
// read from the store when scraped, so they are never stale; counters are
// incremented by the poller and the dispatcher as things happen.
type Metrics struct {
	reg *prometheus.Registry

	events          *prometheus.CounterVec // instance, type
	deliveries      *prometheus.CounterVec // instance, sink, outcome
	polls           *prometheus.CounterVec // instance, outcome
	graph           *prometheus.CounterVec // instance, status
	throttles       *prometheus.CounterVec // instance
	resyncs         *prometheus.CounterVec // instance
	deliverySeconds *prometheus.HistogramVec

	pushConnected     *prometheus.GaugeVec     // instance
	pushNotifications *prometheus.CounterVec   // instance
	pushReconnects    *prometheus.CounterVec   // instance
	eventLatency      *prometheus.HistogramVec // instance
	buildInfo         *prometheus.GaugeVec     // version, commit, goversion (SetBuildInfo)
}

// QueueSnapshot is what the metrics need to know about one instance's queue
// at scrape time.
type QueueSnapshot struct {
	Instance     string
	QueuedEvents int64
	QueuedMsgs   int64
	OldestAge    time.Duration
	DeadEvents   int64
	DeadMsgs     int64
	LastSuccess  time.Time
}

// NewMetrics registers the agent's collectors. snapshot is called on every
// scrape and returns one QueueSnapshot per instance.
func NewMetrics(snapshot func() []QueueSnapshot) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_events_total", Help: "Events recorded, by event type.",
	}, []string{"instance", "type"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_deliveries_total", Help: "Delivery attempts of callback messages, by sink (webhook, kafka, nats) and outcome (delivered, retry, dead, split).",
	}, []string{"instance", "sink", "outcome"})
	m.polls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_polls_total", Help: "Delta rounds, by outcome (ok, error, paused, needs_login).",
	}, []string{"instance", "outcome"})
	m.graph = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_graph_requests_total", Help: "Requests to Microsoft Graph and sign-in, by HTTP status (0 = no response).",
	}, []string{"instance", "status"})
	m.throttles = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_graph_throttles_total", Help: "429 and 503 answers from Microsoft.",
	}, []string{"instance"})
	m.resyncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_resyncs_total", Help: "Reconciling resyncs (410 Gone or requested).",
	}, []string{"instance"})
	m.deliverySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "onedrive_agent_delivery_duration_seconds",
		Help:    "Duration of successful callback POSTs.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	}, []string{"instance"})
	m.pushConnected = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "onedrive_agent_push_connected", Help: "1 while the change-notification link to Graph is connected, else 0.",
	}, []string{"instance"})
	m.pushNotifications = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_push_notifications_total", Help: "Change notifications received from Graph.",
	}, []string{"instance"})
	m.pushReconnects = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "onedrive_agent_push_reconnects_total", Help: "Notification links opened after the first one, renewals included.",
	}, []string{"instance"})
	m.eventLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "onedrive_agent_event_latency_seconds",
		Help:    "From an event's date (the change in the drive) to the receiver's 2xx.",
		Buckets: []float64{0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 120, 300, 900, 3600},
	}, []string{"instance"})
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "onedrive_agent_build_info", Help: "Always 1; the labels tell the version, the commit and the Go version of the running binary.",
	}, []string{"version", "commit", "goversion"})
	m.reg.MustRegister(m.events, m.deliveries, m.polls, m.graph, m.throttles, m.resyncs, m.deliverySeconds,
		m.pushConnected, m.pushNotifications, m.pushReconnects, m.eventLatency, m.buildInfo,
		&queueCollector{snapshot: snapshot},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// SetBuildInfo exports onedrive_agent_build_info{version,commit,goversion} 1,
// so dashboards can tell which build runs where. An empty commit is "unknown".
func (m *Metrics) SetBuildInfo(version, commit string) {
	if commit == "" {
		commit = "unknown"
	}
	m.buildInfo.Reset() // one series: a second call replaces the first
	m.buildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
}

// AddInstance creates the instance's counters at zero, so that every metric
// is present from the start (a counter that appears only at its first
// increment breaks rate() and alerts on absence).
func (m *Metrics) AddInstance(name, sink string) {
	for _, typ := range []string{"CREATED", "UPDATED", "DELETED"} {
		m.events.WithLabelValues(name, typ)
	}
	for _, o := range []string{"delivered", "retry", "dead", "split"} {
		m.deliveries.WithLabelValues(name, sink, o)
	}
	for _, o := range []string{"ok", "error", "paused", "needs_login", "disk_full", "cancelled"} {
		m.polls.WithLabelValues(name, o)
	}
	m.throttles.WithLabelValues(name)
	m.resyncs.WithLabelValues(name)
	m.pushConnected.WithLabelValues(name)
	m.pushNotifications.WithLabelValues(name)
	m.pushReconnects.WithLabelValues(name)
	m.eventLatency.WithLabelValues(name)
}

// ObserveEventLatency records one delivered event in onedrive_agent_event_latency_seconds:
// from its date (when the change happened in the drive) to accepted, when the receiver
// answered 2xx. Every delivery path calls it once per event it delivered.
func (m *Metrics) ObserveEventLatency(instance string, date, accepted time.Time) {
	m.eventLatency.WithLabelValues(instance).Observe(max(accepted.Sub(date), 0).Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var (
	descDepth   = prometheus.NewDesc("onedrive_agent_queue_events", "Events waiting for delivery.", []string{"instance"}, nil)
	descMsgs    = prometheus.NewDesc("onedrive_agent_queue_messages", "Messages waiting for delivery.", []string{"instance"}, nil)
	descOldest  = prometheus.NewDesc("onedrive_agent_queue_oldest_age_seconds", "Age of the oldest queued message (0 when empty).", []string{"instance"}, nil)
	descDead    = prometheus.NewDesc("onedrive_agent_dead_letter_events", "Events in dead letters.", []string{"instance"}, nil)
	descDeadMsg = prometheus.NewDesc("onedrive_agent_dead_letter_messages", "Messages in dead letters.", []string{"instance"}, nil)
	descLastOK  = prometheus.NewDesc("onedrive_agent_last_successful_poll_timestamp_seconds", "Unix time of the last successful poll (0 = never).", []string{"instance"}, nil)
)

// queueCollector turns store snapshots into gauges at scrape time.
type queueCollector struct {
	snapshot func() []QueueSnapshot
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDepth, descMsgs, descOldest, descDead, descDeadMsg, descLastOK} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.snapshot() {
		var last float64
		if !s.LastSuccess.IsZero() {
			last = float64(s.LastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(s.QueuedEvents), s.Instance)
		ch <- prometheus.MustNewConstMetric(descMsgs, prometheus.GaugeValue, float64(s.QueuedMsgs), s.Instance)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, s.OldestAge.Seconds(), s.Instance)
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(s.DeadEvents), s.Instance)
		ch <- prometheus.MustNewConstMetric(descDeadMsg, prometheus.GaugeValue, float64(s.DeadMsgs), s.Instance)
		ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, last, s.Instance)
	}
}
