package webhooks

import "time"

// Backoff bounds.
const (
	// DefaultMinBackoff is the wait after the first failure.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the wait between two attempts.
	DefaultMaxBackoff = 5 * time.Minute
)

// backoff is the wait after the n-th consecutive failure (n ≥ 1): min doubled
// n-1 times, capped at max, less a jitter of up to a fifth (jitter in [0, 1),
// e.g. rand.Float64()), so that endpoints failing together spread out.
func backoff(n int32, minWait, maxWait time.Duration, jitter float64) time.Duration {
	d := minWait
	for i := int32(1); i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	if jitter < 0 || jitter >= 1 {
		jitter = 0
	}
	return d - time.Duration(float64(d)*jitter/5)
}
