package store

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The store's metrics, registered in controller-runtime's registry next to the
// decision API's and served on the manager's metrics endpoint. Their names
// keep the orgrbac_api_ prefix: they are the decision API's, whichever package
// keeps them.
var (
	snapshotAge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orgrbac_api_snapshot_age_seconds",
		Help: "How far the served index may lag behind the informer cache: the age of the oldest change " +
			"not yet indexed, 0 when the index is current.",
	})
	indexRebuildDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "orgrbac_api_index_rebuild_duration_seconds",
		Help: "Time to apply one batch of changes to the index of one environment: the changed memberships' " +
			"entries, and its roles and organizations when one of them changed.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	})
	indexUpdatesTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orgrbac_api_index_updates_total",
		Help: "Batches of changes that changed an environment's index (its content or its revision).",
	})
)

func init() {
	metrics.Registry.MustRegister(snapshotAge, indexRebuildDuration, indexUpdatesTotal)
}
