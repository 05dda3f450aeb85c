package webhook

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/foresight-dev/foresight/pkg/rightsize"
)

// The result label of requests that reach no rightsizing decision;
// decided requests are labelled with their rightsize.Reason.
const (
	// ResultIgnored: not the creation of a pod.
	ResultIgnored = "ignored"
	// ResultError: the request or its pod could not be decoded.
	ResultError = "error"
)

// Metrics are the webhook's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewMetrics creates the webhook's metrics and registers them with reg:
// foresight_webhook_requests_total{result} and
// foresight_webhook_request_duration_seconds.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "foresight_webhook_requests_total",
			Help: "Admission requests answered by the rightsizing webhook, by result: rightsized, the reason requests were kept, ignored (not a pod creation) or error.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "foresight_webhook_request_duration_seconds",
			Help:    "Time the rightsizing webhook took to answer an admission request.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15), // 100µs to 1.6s
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering the webhook metrics: %w", err)
		}
	}
	// Every result starts at zero, so that rates exist before the first.
	for _, r := range rightsize.Reasons {
		m.requests.WithLabelValues(string(r))
	}
	m.requests.WithLabelValues(ResultIgnored)
	m.requests.WithLabelValues(ResultError)
	return m, nil
}

func (m *Metrics) observe(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(result).Inc()
	m.duration.Observe(took.Seconds())
}
