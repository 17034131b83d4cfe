package webhooks

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Delivery metrics, in controller-runtime's registry (the manager's /metrics).
var (
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_webhook_deliveries_total",
		Help: "Webhook delivery outcomes: delivered (a 2xx answer), failed (an attempt that will be retried) " +
			"and given_up (an event that failed for longer than its endpoint's retry window).",
	}, []string{"result"})
	// deliveryLag is computed at scrape time, so that it grows during a backoff.
	deliveryLag     = &lagCollector{oldest: map[types.NamespacedName]time.Time{}, now: time.Now}
	deliveryLagDesc = prometheus.NewDesc("orgrbac_webhook_delivery_lag_seconds",
		"The age of the oldest event a WebhookEndpoint has yet to deliver, the most of every enabled endpoint: 0 when "+
			"all are caught up (labels stay bounded: each endpoint's progress is in its status).", nil, nil)
	deliveryDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "orgrbac_webhook_delivery_duration_seconds",
		Help:    "Time of one webhook delivery attempt, from the request to the end of the response (or the failure).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	})
)

// Results of orgrbac_webhook_deliveries_total.
const (
	resultDelivered = "delivered"
	resultFailed    = "failed"
	resultGivenUp   = "given_up"
)

func init() {
	metrics.Registry.MustRegister(deliveriesTotal, deliveryLag, deliveryDuration)
	for _, r := range []string{resultDelivered, resultFailed, resultGivenUp} {
		deliveriesTotal.WithLabelValues(r)
	}
}

// lagCollector remembers, per endpoint, the creation time of its oldest
// undelivered event (zero: none).
type lagCollector struct {
	mu     sync.Mutex
	oldest map[types.NamespacedName]time.Time
	now    func() time.Time
}

func (c *lagCollector) set(key types.NamespacedName, oldest time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.oldest[key] = oldest
}

func (c *lagCollector) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.oldest, key)
}

// lag is the current value of key's series; ok false when it has none.
func (c *lagCollector) lag(key types.NamespacedName) (seconds float64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.oldest[key]
	if !ok || t.IsZero() {
		return 0, ok
	}
	return max(0, c.now().Sub(t).Seconds()), true
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deliveryLagDesc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	keys := make([]types.NamespacedName, 0, len(c.oldest))
	for k := range c.oldest {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	most := 0.0
	for _, k := range keys {
		if v, ok := c.lag(k); ok {
			most = max(most, v)
		}
	}
	ch <- prometheus.MustNewConstMetric(deliveryLagDesc, prometheus.GaugeValue, most)
}
