package webhooks

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Options configure the deliveries.
type Options struct {
	// Destinations is the policy of --webhook-destinations (ParseDestinations); required.
	Destinations *Destinations
	// Clock is the deliveries' clock; the real one when nil. Receivers check
	// that a signature's time is within 180 s of theirs, so it must be real
	// in production.
	Clock clock.Clock
	// RequestTimeout bounds one delivery; DefaultRequestTimeout (10 s) when 0.
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failure (doubling from
	// MinBackoff); DefaultMinBackoff (1 s) and DefaultMaxBackoff (5 min) when 0.
	MinBackoff, MaxBackoff time.Duration
	// StatusInterval is the least time between two status writes that only
	// record successful deliveries; 1 s when 0.
	StatusInterval time.Duration
	// SecretRefresh is how long a signing secret read is used before it is
	// read again (it is also read again after a failure and on a new spec);
	// 1 min when 0.
	SecretRefresh time.Duration
	// Jitter returns a number in [0, 1) that shortens each backoff by up to a
	// fifth; rand.Float64 when nil.
	Jitter func() float64
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = time.Second
	}
	if o.SecretRefresh <= 0 {
		o.SecretRefresh = time.Minute
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	return o
}

// Setup adds the WebhookEndpoint controller and its delivery loops to mgr.
// Both run on the leader only.
func Setup(mgr manager.Manager, opts Options) error {
	if opts.Destinations == nil {
		return errors.New("webhooks: no destination policy (--webhook-destinations)")
	}
	d := &deliverer{
		cache:    mgr.GetCache(),
		client:   mgr.GetClient(),
		api:      mgr.GetAPIReader(),
		recorder: mgr.GetEventRecorder("orgrbac-webhooks"),
		opts:     opts.withDefaults(),
		loops:    map[types.NamespacedName]*loop{},
		started:  make(chan struct{}),
	}
	if err := mgr.Add(d); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("webhookendpoint-delivery").
		For(&orgrbacv1alpha1.WebhookEndpoint{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.EventSegment{}, handler.EnqueueRequestsFromMapFunc(d.segmentToEndpoints),
			builder.WithPredicates(predicate.NewPredicateFuncs(isEventsSegment))).
		Complete(d)
}

// deliverer runs the delivery loops: a leader-only Runnable whose context
// they live in, and the reconciler that starts, pokes and stops them.
type deliverer struct {
	cache    client.Reader
	client   client.Client
	api      client.Reader
	recorder recorder.EventRecorder
	opts     Options

	mu      sync.Mutex
	ctx     context.Context
	loops   map[types.NamespacedName]*loop
	started chan struct{}
	wg      sync.WaitGroup
}

// NeedLeaderElection makes the loops leader-only.
func (d *deliverer) NeedLeaderElection() bool { return true }

// Start holds the loops' context until ctx ends, then stops every loop
// (each records its progress) and waits for them.
func (d *deliverer) Start(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	close(d.started)
	d.mu.Unlock()
	<-ctx.Done()
	d.mu.Lock()
	for k, l := range d.loops {
		l.cancel()
		delete(d.loops, k)
	}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// Reconcile makes sure the endpoint has a running loop (or none, when it is
// gone) and pokes it.
func (d *deliverer) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	select {
	case <-d.started:
	case <-ctx.Done():
		return reconcile.Result{}, ctx.Err()
	}
	var ep orgrbacv1alpha1.WebhookEndpoint
	if err := d.cache.Get(ctx, req.NamespacedName, &ep); err != nil {
		if client.IgnoreNotFound(err) == nil {
			d.stop(req.NamespacedName, "")
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	d.stop(req.NamespacedName, ep.UID) // a loop of an earlier object of that name
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx.Err() != nil {
		return reconcile.Result{}, nil
	}
	l := d.loops[req.NamespacedName]
	if l == nil {
		lctx, cancel := context.WithCancel(logf.IntoContext(d.ctx,
			logf.FromContext(ctx).WithValues("webhookendpoint", req.NamespacedName)))
		l = &loop{d: d, key: req.NamespacedName, uid: ep.UID, wake: make(chan struct{}, 1),
			cancel: cancel, done: make(chan struct{})}
		d.loops[req.NamespacedName] = l
		d.wg.Go(func() { l.run(lctx) })
	}
	l.poke()
	return reconcile.Result{}, nil
}

// stop stops the loop of key unless it delivers for the object keep, and
// waits for it.
func (d *deliverer) stop(key types.NamespacedName, keep types.UID) {
	d.mu.Lock()
	l := d.loops[key]
	if l == nil || (keep != "" && l.uid == keep) {
		d.mu.Unlock()
		return
	}
	delete(d.loops, key)
	d.mu.Unlock()
	l.cancel()
	<-l.done
}

// segmentToEndpoints maps a changed Events segment to its namespace's endpoints.
func (d *deliverer) segmentToEndpoints(ctx context.Context, o client.Object) []reconcile.Request {
	var list orgrbacv1alpha1.WebhookEndpointList
	if err := d.cache.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		logf.FromContext(ctx).Error(err, "listing the webhook endpoints", "namespace", o.GetNamespace())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

func isEventsSegment(o client.Object) bool {
	return o.GetLabels()[orgrbacv1alpha1.LabelEventSegment] == string(orgrbacv1alpha1.EventSegmentEvents)
}
