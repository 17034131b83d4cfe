package webhooks

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/events"
)

// The Ready condition's reasons.
const (
	ReasonDelivering         = "Delivering"
	ReasonIdle               = "Idle"
	ReasonDisabled           = "Disabled"
	ReasonSecretMissing      = "SecretMissing"
	ReasonSecretForbidden    = "SecretForbidden"
	ReasonDestinationRefused = "DestinationRefused"
	ReasonDeliveryFailing    = "DeliveryFailing"
	// ReasonEventGivenUp is the reason of the Warning event of a given-up event.
	ReasonEventGivenUp = "EventGivenUp"
)

// Defaults of the spec.
const (
	defaultSecretKey   = "secret"
	defaultRetryWindow = 259200 * time.Second
)

// maxBatch bounds the events of the log one step takes to deliver: a step
// never copies the log's tail, it scans it up to the maxBatch-th match.
const maxBatch = 100

// loop delivers the events of one endpoint. Its fields below done are owned
// by its goroutine.
type loop struct {
	d      *deliverer
	key    types.NamespacedName
	uid    types.UID
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	ep        *orgrbacv1alpha1.WebhookEndpoint // the last cached copy
	loaded    bool
	status    orgrbacv1alpha1.WebhookEndpointStatus // the progress
	written   orgrbacv1alpha1.WebhookEndpointStatus // as last written (or read)
	writtenAt time.Time
	// rv is the resourceVersion our last status write returned, and rvCached
	// the cached copy's when it was made: the next write is conditional on rv
	// until the cache shows another version.
	rv, rvCached string

	client    *http.Client
	clientFor string

	secret        []byte
	secretAt      time.Time
	secretRetries int32
	secretRetryAt time.Time

	// down: the last attempt (since the start or the last new spec) failed,
	// so events older than the retry window are given up without one.
	down bool
	// draining: the last step gave up the rest of its batch, so the next one
	// does not wait for the backoff to give up the older events that follow.
	draining bool
}

// poke wakes the loop up to look at its endpoint and log again.
func (l *loop) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// forever is the wait of a loop with nothing to do until poked.
const forever = time.Duration(-1)

func (l *loop) run(ctx context.Context) {
	defer close(l.done)
	defer deliveryLag.forget(l.key)
	defer func() {
		if l.client != nil {
			l.client.CloseIdleConnections()
		}
	}()
	defer func() {
		// Record the unwritten progress, so that a restart redelivers as little as possible.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		l.flush(fctx, l.d.opts.Clock.Now(), true)
	}()
	for ctx.Err() == nil {
		wait, stop := l.step(ctx)
		if stop {
			return
		}
		if wait == 0 {
			continue
		}
		l.sleep(ctx, wait)
	}
}

// sleep waits for wait (forever: no timeout), a poke or the end of ctx.
func (l *loop) sleep(ctx context.Context, wait time.Duration) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := l.d.opts.Clock.NewTimer(wait)
		defer t.Stop()
		timeout = t.C()
	}
	select {
	case <-ctx.Done():
	case <-l.wake:
	case <-timeout:
	}
}

// step does what is due and returns how long to wait before the next step
// (forever: until poked), or stop when the endpoint is gone.
func (l *loop) step(ctx context.Context) (wait time.Duration, stop bool) {
	log := logf.FromContext(ctx)
	now := l.d.opts.Clock.Now()
	ep, gone, err := l.get(ctx)
	switch {
	case gone:
		return 0, true
	case err != nil:
		log.Error(err, "reading the endpoint from the cache")
		return time.Second, false
	}
	if ep.Generation != l.status.ObservedGeneration {
		// A new spec: try at once, with the Secret read again.
		l.status.ObservedGeneration = ep.Generation
		l.status.NextRetryAt = nil
		l.secret, l.secretRetries, l.secretRetryAt = nil, 0, time.Time{}
		l.down, l.draining = false, false
	}
	if ep.Spec.Enabled != nil && !*ep.Spec.Enabled {
		deliveryLag.forget(l.key)
		l.status.NextRetryAt = nil
		l.setReady(metav1.ConditionFalse, ReasonDisabled, "spec.enabled is false: deliveries are paused, progress is kept")
		l.flush(ctx, now, true)
		return forever, false
	}
	if r := l.status.NextRetryAt; r != nil && now.Before(r.Time) && !l.draining {
		return r.Sub(now), false
	}
	if l.secret == nil || now.Sub(l.secretAt) > l.d.opts.SecretRefresh {
		if now.Before(l.secretRetryAt) {
			return l.secretRetryAt.Sub(now), false
		}
		if wait, ok := l.readSecret(ctx, now); !ok {
			return wait, false
		}
	}

	// Only the log's tail after the cursor (or the endpoint's creation) is read.
	tail, err := events.ReadAfter(ctx, l.d.cache, l.key.Namespace, l.status.LastDeliveredEventID,
		ep.CreationTimestamp.UnixMilli())
	if err != nil {
		log.Error(err, "reading the event log from the cache")
		return time.Second, false
	}
	batch, last := nextBatch(tail, l.status.LastDeliveredEventID, ep.CreationTimestamp.UnixMilli(), ep.Spec.Events, maxBatch)
	if len(batch) == 0 {
		// The filter skipped every event: move past them, recorded lazily.
		l.advance(last)
		l.draining = false
		deliveryLag.set(l.key, time.Time{})
		if l.status.ConsecutiveFailures == 0 {
			l.setReady(metav1.ConditionTrue, ReasonIdle, "every event is delivered")
		}
		l.status.NextRetryAt = nil
		return l.flushLater(ctx, now), false
	}
	deliveryLag.set(l.key, time.UnixMilli(batch[0].CreatedAtMillis))

	if clientFor := ep.Spec.URL + "\x00" + ep.Spec.CABundle; l.client == nil || l.clientFor != clientFor {
		if l.client != nil {
			l.client.CloseIdleConnections()
		}
		c, err := newClient(ep.Spec.URL, ep.Spec.CABundle, l.d.opts.Destinations, l.d.opts.RequestTimeout)
		if err != nil {
			l.client = nil
			l.setReady(metav1.ConditionFalse, ReasonDeliveryFailing, err.Error())
			l.flush(ctx, now, true)
			return forever, false // until the spec changes
		}
		l.client, l.clientFor = c, clientFor
	}
	return l.deliver(ctx, batch, last), false
}

// advance moves the cursor to id when it sorts after it (ids sort in
// emission order).
func (l *loop) advance(id string) {
	if id > l.status.LastDeliveredEventID {
		l.status.LastDeliveredEventID = id
	}
}

// flushLater writes the progress at most every StatusInterval (at once when
// the Ready condition changed) and returns the wait of an idle loop: until
// the progress left unwritten is due, else forever.
func (l *loop) flushLater(ctx context.Context, now time.Time) time.Duration {
	l.flush(ctx, now, false)
	if l.ep == nil || equality.Semantic.DeepEqual(l.status, l.written) {
		return forever
	}
	if wait := l.d.opts.StatusInterval - now.Sub(l.writtenAt); wait > 0 {
		return wait
	}
	return time.Second // the write failed: try again
}

// get reads the endpoint from the cache; gone when it is deleted or replaced.
func (l *loop) get(ctx context.Context) (ep *orgrbacv1alpha1.WebhookEndpoint, gone bool, err error) {
	ep = &orgrbacv1alpha1.WebhookEndpoint{}
	if err := l.d.cache.Get(ctx, l.key, ep); err != nil {
		return nil, apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}
	if ep.UID != l.uid {
		return nil, true, nil
	}
	l.ep = ep
	if !l.loaded {
		l.loaded = true
		l.status = *ep.Status.DeepCopy()
		l.written = *ep.Status.DeepCopy()
	}
	return ep, false, nil
}

// readSecret reads the signing secret (by name, through the API reader: the
// manager caches no Secret). ok false: retry after wait.
func (l *loop) readSecret(ctx context.Context, now time.Time) (wait time.Duration, ok bool) {
	ref := l.ep.Spec.SecretRef
	key := ref.Key
	if key == "" {
		key = defaultSecretKey
	}
	var s corev1.Secret
	err := l.d.api.Get(ctx, types.NamespacedName{Namespace: l.key.Namespace, Name: ref.Name}, &s)
	reason, message := "", ""
	switch {
	case apierrors.IsNotFound(err):
		reason, message = ReasonSecretMissing, "Secret "+ref.Name+" (spec.secretRef) does not exist"
	case apierrors.IsForbidden(err):
		reason, message = ReasonSecretForbidden, "the manager may not read Secret "+ref.Name+
			": bind the ClusterRole orgrbac-webhook-secret-reader to it in this namespace"
	case err != nil:
		logf.FromContext(ctx).Error(err, "reading the signing Secret", "secret", ref.Name)
		return 5 * time.Second, false
	case len(s.Data[key]) == 0:
		reason, message = ReasonSecretMissing, "Secret "+ref.Name+" has no key "+key+" (spec.secretRef.key), or it is empty"
	}
	if reason != "" {
		l.secret = nil
		l.secretRetries++
		wait := backoff(l.secretRetries, l.d.opts.MinBackoff, l.d.opts.MaxBackoff, l.d.opts.Jitter())
		l.secretRetryAt = now.Add(wait)
		l.setReady(metav1.ConditionFalse, reason, message)
		l.flush(ctx, now, true)
		return wait, false
	}
	l.secret, l.secretAt, l.secretRetries, l.secretRetryAt = s.Data[key], now, 0, time.Time{}
	return 0, true
}

// deliver posts batch in order until one fails or the spec changes, and
// returns the wait before the next step. Once the whole batch is delivered
// or given up, the cursor moves to last, past the events the filter skipped.
func (l *loop) deliver(ctx context.Context, batch []*orgrbacv1alpha1.StoredEvent, last string) time.Duration {
	log := logf.FromContext(ctx)
	ep := l.ep
	url := ep.Spec.URL
	window := retryWindow(ep)
	l.draining = false
	if l.status.ConsecutiveFailures == 0 {
		l.setReady(metav1.ConditionTrue, ReasonDelivering, "delivering events")
	}
	var run givenUpRun
	defer func() { l.report(ep, &run) }()
	for i, e := range batch {
		if i > 0 {
			// Stop at a new spec or a deleted endpoint: the next step sees it.
			if cur, gone, err := l.get(ctx); gone || err != nil || cur.Generation != ep.Generation {
				return 0
			}
		}
		now := l.d.opts.Clock.Now()
		if l.down && expired(e, now, window) {
			// The destination is failing and e is older than the window.
			l.giveUp(e)
			run.add(e, "")
			l.flush(ctx, now, false)
			continue
		}
		if r := l.status.NextRetryAt; r != nil && now.Before(r.Time) {
			l.flush(ctx, now, true)
			return r.Sub(now) // inside its window: wait for the backoff
		}
		l.report(ep, &run)
		body, err := Body(e)
		if err != nil {
			// Cannot happen for an event the API server stored (its data is JSON).
			log.Error(err, "encoding an event: given up", "event", e.ID)
			l.giveUp(e)
			l.d.recorder.Eventf(ep, nil, corev1.EventTypeWarning, ReasonEventGivenUp, "Deliver",
				"event %s (%s) given up: its data is not valid JSON", e.ID, e.Event)
			continue
		}
		o := post(ctx, l.client, url, body, Signature(l.secret, now, body), l.d.opts.Clock.Now)
		if ctx.Err() != nil && !o.ok {
			return 0 // stopping: not the destination's failure
		}
		deliveryDuration.Observe(o.duration.Seconds())
		now = l.d.opts.Clock.Now()
		if o.ok {
			deliveriesTotal.WithLabelValues(resultDelivered).Inc()
			l.advance(e.ID)
			l.status.LastDeliveredAt = &metav1.Time{Time: now}
			l.status.DeliveredEvents++
			l.status.ConsecutiveFailures = 0
			l.status.NextRetryAt = nil
			l.down = false
			if i == len(batch)-1 && len(batch) < maxBatch {
				l.setReady(metav1.ConditionTrue, ReasonIdle, "every event is delivered")
			} else {
				l.setReady(metav1.ConditionTrue, ReasonDelivering, "delivering events")
			}
			l.flush(ctx, now, false)
			continue
		}
		wait := l.fail(ctx, e, o, now)
		if !expired(e, now, window) {
			return wait
		}
		l.giveUp(e)
		run.add(e, o.message)
	}
	l.advance(last)
	// Given up at the batch's end: the events that follow may be as old.
	l.draining = l.down && run.n > 0
	l.flush(ctx, l.d.opts.Clock.Now(), run.n > 0)
	return 0 // look again: more may have come
}

// retryWindow is spec.retryWindowSeconds, or its default.
func retryWindow(ep *orgrbacv1alpha1.WebhookEndpoint) time.Duration {
	if ep.Spec.RetryWindowSeconds > 0 {
		return time.Duration(ep.Spec.RetryWindowSeconds) * time.Second
	}
	return defaultRetryWindow
}

// expired reports whether e was created longer than window before now: it is
// given up at its next failure (or without an attempt while the destination
// fails). Measured from the event's creation, it survives restarts.
func expired(e *orgrbacv1alpha1.StoredEvent, now time.Time, window time.Duration) bool {
	return now.Sub(time.UnixMilli(e.CreatedAtMillis)) > window
}

// fail records a failed attempt to deliver e and returns the backoff.
func (l *loop) fail(ctx context.Context, e *orgrbacv1alpha1.StoredEvent, o outcome, now time.Time) time.Duration {
	deliveriesTotal.WithLabelValues(resultFailed).Inc()
	l.status.ConsecutiveFailures++
	l.down = true
	wait := backoff(l.status.ConsecutiveFailures, l.d.opts.MinBackoff, l.d.opts.MaxBackoff, l.d.opts.Jitter())
	l.status.NextRetryAt = &metav1.Time{Time: now.Add(wait)}
	reason := ReasonDeliveryFailing
	if o.refused {
		reason = ReasonDestinationRefused
	}
	l.setReady(metav1.ConditionFalse, reason, o.message)
	logf.FromContext(ctx).V(1).Info("delivery failed", "event", e.ID, "failure", o.message,
		"consecutiveFailures", l.status.ConsecutiveFailures, "retryIn", wait)
	l.flush(ctx, now, true)
	return wait
}

// giveUp moves the cursor past e without delivering it.
func (l *loop) giveUp(e *orgrbacv1alpha1.StoredEvent) {
	deliveriesTotal.WithLabelValues(resultGivenUp).Inc()
	l.advance(e.ID)
	l.status.FailedEvents++
}

// givenUpRun is a run of events given up for their age, reported in one
// Warning event.
type givenUpRun struct {
	n           int
	first, last *orgrbacv1alpha1.StoredEvent
	why         string // the last failure seen
}

func (r *givenUpRun) add(e *orgrbacv1alpha1.StoredEvent, why string) {
	if r.n == 0 {
		r.first = e
	}
	r.n++
	r.last = e
	if why != "" {
		r.why = why
	}
}

// message is the Warning event's message of the run.
func (r *givenUpRun) message(window time.Duration, lastFailure string) string {
	why := r.why
	if why == "" {
		why = lastFailure
	}
	if why == "" {
		why = "the destination is failing"
	}
	age := fmt.Sprintf("older than spec.retryWindowSeconds (%s) while the destination fails", window)
	if r.n == 1 {
		return fmt.Sprintf("event %s (%s) given up: %s: %s", r.first.ID, r.first.Event, age, why)
	}
	return fmt.Sprintf("%d events, %s (%s) to %s (%s), given up: %s: %s", r.n,
		r.first.ID, r.first.Event, r.last.ID, r.last.Event, age, why)
}

// report records the Warning event of the run, if any, and empties it.
func (l *loop) report(ep *orgrbacv1alpha1.WebhookEndpoint, r *givenUpRun) {
	if r.n == 0 {
		return
	}
	var lastFailure string
	if c := meta.FindStatusCondition(l.status.Conditions, orgrbacv1alpha1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
		lastFailure = c.Message
	}
	l.d.recorder.Eventf(ep, nil, corev1.EventTypeWarning, ReasonEventGivenUp, "Deliver", "%s",
		r.message(retryWindow(ep), lastFailure))
	*r = givenUpRun{}
}

// setReady sets the Ready condition of the progress.
func (l *loop) setReady(status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&l.status.Conditions, metav1.Condition{
		Type: orgrbacv1alpha1.ConditionReady, Status: status, Reason: reason, Message: message,
		ObservedGeneration: l.status.ObservedGeneration, LastTransitionTime: metav1.NewTime(l.d.opts.Clock.Now()),
	})
}

// flush writes the progress when it differs from what was written: at once
// when force or when the Ready condition changed, else at most every
// StatusInterval (the coalescing of successful deliveries). The write is
// conditional on the endpoint's resourceVersion: after a conflict the
// endpoint is read again, and a status whose cursor is ahead of ours (a newer
// leader's) is kept rather than overwritten, so the cursor never moves back.
func (l *loop) flush(ctx context.Context, now time.Time, force bool) {
	if l.ep == nil || equality.Semantic.DeepEqual(l.status, l.written) {
		return
	}
	if !force && !readyChanged(l.status.Conditions, l.written.Conditions) && now.Sub(l.writtenAt) < l.d.opts.StatusInterval {
		return
	}
	rv := l.ep.ResourceVersion
	if l.rv != "" && rv == l.rvCached {
		rv = l.rv // the cache has not seen our last write yet
	}
	for range 2 {
		base := l.ep.DeepCopy()
		base.ResourceVersion = rv
		base.Status = l.written
		obj := l.ep.DeepCopy()
		obj.Status = *l.status.DeepCopy()
		err := l.d.client.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if err == nil {
			l.written = *l.status.DeepCopy()
			l.writtenAt = now
			l.rv, l.rvCached = obj.ResourceVersion, l.ep.ResourceVersion
			return
		}
		if !apierrors.IsConflict(err) {
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				logf.FromContext(ctx).Error(err, "writing the endpoint's status")
			}
			return
		}
		cur := &orgrbacv1alpha1.WebhookEndpoint{}
		if err := l.d.api.Get(ctx, l.key, cur); err != nil || cur.UID != l.uid {
			if client.IgnoreNotFound(err) != nil && ctx.Err() == nil {
				logf.FromContext(ctx).Error(err, "reading the endpoint after a conflict")
			}
			return
		}
		l.written = *cur.Status.DeepCopy()
		l.rv, l.rvCached = cur.ResourceVersion, l.ep.ResourceVersion
		rv = cur.ResourceVersion
		if keepTheirs(l.status.LastDeliveredEventID, cur.Status.LastDeliveredEventID) {
			// Another writer (a newer leader) is ahead: its progress stands.
			logf.FromContext(ctx).Info("the endpoint's status is ahead of this loop's: kept",
				"ours", l.status.LastDeliveredEventID, "theirs", cur.Status.LastDeliveredEventID)
			l.status = *cur.Status.DeepCopy()
			l.writtenAt = now
			return
		}
		if equality.Semantic.DeepEqual(l.status, l.written) {
			l.writtenAt = now
			return
		}
	}
}

// keepTheirs reports whether a status whose cursor is theirs must be kept
// rather than overwritten with ours: its cursor sorts after ours (ids sort in
// emission order; empty is the start).
func keepTheirs(ours, theirs string) bool {
	return theirs > ours
}

// readyChanged reports whether the Ready condition's status or reason differs.
func readyChanged(a, b []metav1.Condition) bool {
	ca, cb := meta.FindStatusCondition(a, orgrbacv1alpha1.ConditionReady), meta.FindStatusCondition(b, orgrbacv1alpha1.ConditionReady)
	if ca == nil || cb == nil {
		return ca != cb
	}
	return ca.Status != cb.Status || ca.Reason != cb.Reason
}

// nextBatch scans tail (the log after the cursor, in emission order) without
// copying it, and returns the first at most max events after cursor (an event
// id; empty: the events created at or after sinceMillis) of the types of
// filter (empty: all), and last, the id of the last event it scanned (empty
// when none). Once batch is delivered or given up, the cursor may move to
// last: the events up to it that filter skipped are never delivered. The
// scan stops before the first match past max, so last is at least the
// batch's last event. batch points into tail.
func nextBatch(tail events.Tail, cursor string, sinceMillis int64, filter []string, max int) (batch []*orgrbacv1alpha1.StoredEvent, last string) {
	placed := false
	for e := range tail.All() {
		if !placed {
			// ReadAfter placed tail already: this only guards its start.
			if cursor != "" && e.ID <= cursor || cursor == "" && e.CreatedAtMillis < sinceMillis {
				continue
			}
			placed = true
		}
		if len(filter) == 0 || slices.Contains(filter, e.Event) {
			if len(batch) == max {
				break
			}
			batch = append(batch, e)
		}
		last = e.ID
	}
	return batch, last
}
