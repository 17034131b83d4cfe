package webhooks

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Delivery metrics, in controller-runtime's registry (the manager's /metrics).
var (
	deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_webhook_deliveries_total",
		Help: "Webhook delivery outcomes: delivered (a 2xx answer), failed (an attempt that will be retried) " +
			"and given_up (an event that failed for longer than its endpoint's retry window).",
	}, []string{"result"})
	deliveryLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orgrbac_webhook_delivery_lag_seconds",
		Help: "Per WebhookEndpoint, the age of the oldest event it has yet to deliver (0 when caught up).",
	}, []string{"namespace", "name"})
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
