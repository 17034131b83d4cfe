package api

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Coalescing bounds: after a rebuild, the index waits at least minInterval, and
// twice as long as the rebuild took (at most maxInterval), before the next one.
const (
	minInterval = 20 * time.Millisecond
	maxInterval = 2 * time.Second
)

// index is the in-memory view the API answers from, one snapshot per
// environment. It is fed by the manager's informer cache, which runs on every
// replica: informer event handlers mark a namespace dirty, and one goroutine
// rebuilds the dirty namespaces from the cache, coalescing bursts of events.
// Requests only read snapshots; they never call the API server.
type index struct {
	cache cache.Cache
	clock clock.Clock
	log   logr.Logger

	mu    sync.RWMutex
	snaps map[string]*snapshot
	revs  map[string]int64 // the highest published revision seen, kept after a namespace empties

	dirtyMu sync.Mutex
	dirty   map[string]time.Time // namespace -> first unindexed change
	wake    chan struct{}

	ready atomic.Bool
}

func newIndex(c cache.Cache, clk clock.Clock, log logr.Logger) *index {
	return &index{cache: c, clock: clk, log: log, snaps: map[string]*snapshot{}, revs: map[string]int64{},
		dirty: map[string]time.Time{}, wake: make(chan struct{}, 1)}
}

// watched are the kinds the index is built from.
func watched() []client.Object {
	return []client.Object{&orgrbacv1alpha1.Environment{}, &orgrbacv1alpha1.Role{},
		&orgrbacv1alpha1.Organization{}, &orgrbacv1alpha1.OrganizationRole{}, &orgrbacv1alpha1.Membership{}}
}

// mark records a change in namespace ns.
func (x *index) mark(ns string) {
	x.dirtyMu.Lock()
	if _, ok := x.dirty[ns]; !ok {
		x.dirty[ns] = x.clock.Now()
	}
	x.dirtyMu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

func (x *index) markObject(obj any) {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if o, ok := obj.(client.Object); ok {
		x.mark(o.GetNamespace())
	}
}

// Start registers the event handlers, builds the first snapshots once the
// handlers have seen the cache's initial contents, and then keeps the index
// current until ctx ends.
func (x *index) Start(ctx context.Context) error {
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    x.markObject,
		UpdateFunc: func(_, obj any) { x.markObject(obj) },
		DeleteFunc: x.markObject,
	}
	var regs []toolscache.ResourceEventHandlerRegistration
	for _, obj := range watched() {
		inf, err := x.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("getting the informer of %T: %w", obj, err)
		}
		reg, err := inf.AddEventHandler(handler)
		if err != nil {
			return fmt.Errorf("adding an event handler to the informer of %T: %w", obj, err)
		}
		defer func() { _ = inf.RemoveEventHandler(reg) }()
		regs = append(regs, reg)
	}
	err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, r := range regs {
			if !r.HasSynced() {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil //nolint:nilerr // ctx ended before the caches synced: a normal shutdown
	}
	if err := x.flush(ctx); err != nil {
		return err
	}
	x.ready.Store(true)
	x.log.Info("Decision API index ready", "environments", x.count())

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			x.updateAge()
		case <-x.wake:
			start := x.clock.Now()
			if err := x.flush(ctx); err != nil {
				// The cache only fails when it stops; keep the namespaces dirty and retry.
				x.log.Error(err, "Rebuilding the decision API index")
			}
			pause := min(max(minInterval, 2*x.clock.Since(start)), maxInterval)
			select {
			case <-ctx.Done():
				return nil
			case <-x.clock.After(pause):
			}
		}
	}
}

// flush rebuilds every dirty namespace.
func (x *index) flush(ctx context.Context) error {
	x.dirtyMu.Lock()
	dirty := x.dirty
	x.dirty = map[string]time.Time{}
	x.dirtyMu.Unlock()
	for ns, since := range dirty {
		if err := x.rebuild(ctx, ns); err != nil {
			x.dirtyMu.Lock()
			if t, ok := x.dirty[ns]; !ok || since.Before(t) {
				x.dirty[ns] = since
			}
			x.dirtyMu.Unlock()
			return err
		}
	}
	x.updateAge()
	return nil
}

// updateAge publishes the age of the oldest unindexed change.
func (x *index) updateAge() {
	x.dirtyMu.Lock()
	var oldest time.Time
	for _, t := range x.dirty {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	x.dirtyMu.Unlock()
	age := 0.0
	if !oldest.IsZero() {
		age = x.clock.Since(oldest).Seconds()
	}
	snapshotAge.Set(age)
}

// rebuild recomputes the snapshot of namespace ns from the cache, and swaps it in
// when its content or revision changed.
func (x *index) rebuild(ctx context.Context, ns string) error {
	start := x.clock.Now()
	var in input
	var (
		envs     orgrbacv1alpha1.EnvironmentList
		roles    orgrbacv1alpha1.RoleList
		orgs     orgrbacv1alpha1.OrganizationList
		orgRoles orgrbacv1alpha1.OrganizationRoleList
		members  orgrbacv1alpha1.MembershipList
	)
	// Cached objects are shared, not copied: buildContent only reads them and
	// keeps no reference to their slices.
	for _, l := range []client.ObjectList{&envs, &roles, &orgs, &orgRoles, &members} {
		if err := x.cache.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return fmt.Errorf("listing %T in %s: %w", l, ns, err)
		}
	}
	in.Environments, in.Roles, in.Organizations = envs.Items, roles.Items, orgs.Items
	in.OrganizationRoles, in.Memberships = orgRoles.Items, members.Items

	// The revision is the publisher's: the highest Environment status.revision
	// this replica has seen in the namespace. It never goes back, even when an
	// Environment is recreated or its status edited.
	var published int64
	for i := range in.Environments {
		published = max(published, in.Environments[i].Status.Revision)
	}

	x.mu.RLock()
	old := x.snaps[ns]
	rev := max(x.revs[ns], published)
	x.mu.RUnlock()
	// Only this goroutine writes snapshots, so old stays current while the new
	// content is built without holding the lock.
	var c content
	if !in.empty() {
		c = buildContent(&in)
		indexRebuildDuration.Observe(x.clock.Since(start).Seconds())
		if old != nil && old.revision == rev && reflect.DeepEqual(old.content, c) {
			return nil
		}
	} else if old == nil {
		return nil
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	x.revs[ns] = rev
	indexUpdatesTotal.Inc()
	if in.empty() {
		delete(x.snaps, ns)
		return nil
	}
	x.snaps[ns] = &snapshot{namespace: ns, revision: rev, content: c}
	return nil
}

// get returns the snapshot of namespace ns; an environment without objects gives
// an empty snapshot.
func (x *index) get(ns string) *snapshot {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if s := x.snaps[ns]; s != nil {
		return s
	}
	return &snapshot{namespace: ns, revision: x.revs[ns], content: content{
		envRoleBySlug: map[string]*roleEntry{}, orgs: map[string]*orgEntry{},
		orgIDs: map[string]*orgEntry{}, members: map[string]*memberEntry{}}}
}

func (x *index) count() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.snaps)
}
