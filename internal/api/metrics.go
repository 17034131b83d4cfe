package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The decision API's metrics, registered in controller-runtime's registry and
// served on the manager's metrics endpoint. The store's own (its age, its
// updates) are in internal/api/store.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_api_requests_total",
		Help: "Decision API requests by route pattern and HTTP status code.",
	}, []string{"route", "code"})
	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orgrbac_api_request_duration_seconds",
		Help:    "Decision API request latency by route pattern, authentication included.",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
	}, []string{"route"})
	decisionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_api_decisions_total",
		Help: "Permission checks answered, by endpoint (v1, workos) and result (allowed, denied).",
	}, []string{"endpoint", "result"})
	authCacheTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_api_auth_cache_total",
		Help: "Lookups in the authentication (token) and authorization (access) caches, by result (hit, miss).",
	}, []string{"cache", "result"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, decisionsTotal, authCacheTotal)
}

// countDecision counts a check's answer by endpoint and result.
func countDecision(endpoint string, allowed bool) {
	result := "denied"
	if allowed {
		result = "allowed"
	}
	decisionsTotal.WithLabelValues(endpoint, result).Inc()
}
