package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
	"github.com/orgrbac/orgrbac/internal/model"
)

// Coalescing bounds: after applying a batch of changes, the index waits at least
// minInterval, and twice as long as the batch took (at most maxInterval), before
// the next one.
const (
	minInterval = 20 * time.Millisecond
	maxInterval = 2 * time.Second
)

// Store is the in-memory view the decision API answers from, one EnvIndex per
// environment (namespace). It is fed by the manager's informer cache, which runs
// on every replica. Informer event handlers record what changed: the latest
// state of each changed Membership, or that a namespace's roles and
// organizations (its structure) or its published revision changed; events that
// change nothing the API shows (an observedGeneration alone, a resync) are dropped.
// One goroutine applies the recorded changes in batches, coalescing bursts:
// a Membership change updates that membership's entry only, a structure change
// rebuilds the namespace's roles and organizations (small) but no membership.
// Requests only read EnvIndexes; they never call the API server.
type Store struct {
	cache cache.Cache
	clock clock.Clock
	log   logr.Logger

	mu sync.RWMutex
	// envs are the namespaces holding orgrbac objects. A namespace's entry
	// (with the highest revision seen) is forgotten once it holds none.
	envs map[string]*EnvIndex

	dirtyMu sync.Mutex
	dirty   map[string]*pending
	wake    chan struct{}

	ready atomic.Bool

	subsMu sync.Mutex
	// subs are called with a namespace after each applied batch that changed
	// its content (Subscribe).
	subs []func(ns string)
}

// pending are the changes of one namespace not applied yet.
type pending struct {
	// since is the time of the first of them.
	since time.Time
	// structure: an Environment, Role, OrganizationRole, Organization or
	// GroupMapping changed.
	structure bool
	// revision: an Environment's status changed.
	revision bool
	// members are the latest states of the Memberships that changed, by name;
	// nil for a deleted one.
	members map[string]*orgrbacv1alpha1.Membership
}

// New returns a store fed by the informers of c; Start builds and then keeps
// it current.
func New(c cache.Cache, clk clock.Clock, log logr.Logger) *Store {
	return &Store{cache: c, clock: clk, log: log, envs: map[string]*EnvIndex{},
		dirty: map[string]*pending{}, wake: make(chan struct{}, 1)}
}

// watched are the kinds the index is built from.
func watched() []client.Object {
	return []client.Object{&orgrbacv1alpha1.Environment{}, &orgrbacv1alpha1.Role{},
		&orgrbacv1alpha1.Organization{}, &orgrbacv1alpha1.OrganizationRole{}, &orgrbacv1alpha1.GroupMapping{},
		&orgrbacv1alpha1.Membership{}}
}

// note records a change in namespace ns and wakes the writer.
func (x *Store) note(ns string, f func(p *pending)) {
	x.dirtyMu.Lock()
	p := x.dirty[ns]
	if p == nil {
		p = &pending{since: x.clock.Now()}
		x.dirty[ns] = p
	}
	f(p)
	x.dirtyMu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// memberChanged records the latest state of a Membership (nil: deleted).
func (x *Store) memberChanged(ns, name string, m *orgrbacv1alpha1.Membership) {
	x.note(ns, func(p *pending) {
		if p.members == nil {
			p.members = map[string]*orgrbacv1alpha1.Membership{}
		}
		p.members[name] = m
	})
}

// structureChanged records a change of the roles or organizations of ns.
func (x *Store) structureChanged(ns string) { x.note(ns, func(p *pending) { p.structure = true }) }

// revisionChanged records a change of an Environment's status in ns.
func (x *Store) revisionChanged(ns string) { x.note(ns, func(p *pending) { p.revision = true }) }

func unwrap(obj any) any {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// handler is the event handler of the informer of obj's kind.
func (x *Store) handler(obj client.Object) toolscache.ResourceEventHandler {
	if _, ok := obj.(*orgrbacv1alpha1.Membership); ok {
		return toolscache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) {
				if m, ok := obj.(*orgrbacv1alpha1.Membership); ok {
					x.memberChanged(m.Namespace, m.Name, m)
				}
			},
			UpdateFunc: func(oldObj, obj any) {
				old, _ := oldObj.(*orgrbacv1alpha1.Membership)
				if m, ok := obj.(*orgrbacv1alpha1.Membership); ok && (old == nil || memberDiffers(old, m)) {
					x.memberChanged(m.Namespace, m.Name, m)
				}
			},
			DeleteFunc: func(obj any) {
				if m, ok := unwrap(obj).(*orgrbacv1alpha1.Membership); ok {
					x.memberChanged(m.Namespace, m.Name, nil)
				}
			},
		}
	}
	structural := func(obj any) {
		if o, ok := unwrap(obj).(client.Object); ok {
			x.structureChanged(o.GetNamespace())
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    structural,
		DeleteFunc: structural,
		UpdateFunc: func(oldObj, obj any) {
			o, ok := obj.(client.Object)
			if !ok {
				return
			}
			switch structureDiffers(oldObj, obj) {
			case structureChange:
				x.structureChanged(o.GetNamespace())
			case revisionChange:
				x.revisionChanged(o.GetNamespace())
			}
		},
	}
}

// Start registers the event handlers, builds the first index once the
// handlers have seen the cache's initial contents, and then keeps the index
// current until ctx ends.
func (x *Store) Start(ctx context.Context) error {
	var regs []toolscache.ResourceEventHandlerRegistration
	for _, obj := range watched() {
		inf, err := x.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("getting the informer of %T: %w", obj, err)
		}
		reg, err := inf.AddEventHandler(x.handler(obj))
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
				// The cache only fails when it stops; keep the changes pending and retry.
				x.log.Error(err, "Updating the decision API index")
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

// flush applies the pending changes of every namespace.
func (x *Store) flush(ctx context.Context) error {
	x.dirtyMu.Lock()
	dirty := x.dirty
	x.dirty = map[string]*pending{}
	x.dirtyMu.Unlock()
	namespaces := slices.Sorted(maps.Keys(dirty))
	for i, ns := range namespaces {
		if err := x.apply(ctx, ns, dirty[ns]); err != nil {
			for _, rest := range namespaces[i:] {
				x.requeue(rest, dirty[rest])
			}
			x.updateAge()
			return err
		}
	}
	x.updateAge()
	return nil
}

// requeue puts back the unapplied changes p of ns, under any newer ones.
func (x *Store) requeue(ns string, p *pending) {
	x.dirtyMu.Lock()
	defer x.dirtyMu.Unlock()
	q := x.dirty[ns]
	if q == nil {
		x.dirty[ns] = p
		return
	}
	q.since = earliest(q.since, p.since)
	q.structure = q.structure || p.structure
	q.revision = q.revision || p.revision
	for name, m := range p.members {
		if _, newer := q.members[name]; !newer {
			if q.members == nil {
				q.members = map[string]*orgrbacv1alpha1.Membership{}
			}
			q.members[name] = m
		}
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// updateAge publishes the age of the oldest unindexed change.
func (x *Store) updateAge() {
	x.dirtyMu.Lock()
	var oldest time.Time
	for _, p := range x.dirty {
		if oldest.IsZero() || p.since.Before(oldest) {
			oldest = p.since
		}
	}
	x.dirtyMu.Unlock()
	age := 0.0
	if !oldest.IsZero() {
		age = x.clock.Since(oldest).Seconds()
	}
	snapshotAge.Set(age)
}

// apply applies the pending changes p of namespace ns: it rebuilds the
// structure from the cache when p says it changed (and re-reads the published
// revision when an Environment changed), and updates the entries of the
// memberships p holds.
func (x *Store) apply(ctx context.Context, ns string, p *pending) error {
	start := x.clock.Now()
	var (
		st        *structure
		published int64
	)
	if p.structure || p.revision {
		// Cached objects are shared, not copied: buildStructure only reads them
		// and keeps no reference to their slices.
		var (
			envs     orgrbacv1alpha1.EnvironmentList
			roles    orgrbacv1alpha1.RoleList
			orgs     orgrbacv1alpha1.OrganizationList
			orgRoles orgrbacv1alpha1.OrganizationRoleList
			mappings orgrbacv1alpha1.GroupMappingList
		)
		lists := []client.ObjectList{&envs}
		if p.structure {
			lists = append(lists, &roles, &orgs, &orgRoles, &mappings)
		}
		for _, l := range lists {
			if err := x.cache.List(ctx, l, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
				return fmt.Errorf("listing %T in %s: %w", l, ns, err)
			}
		}
		// The revision is the publisher's: the highest Environment
		// status.revision this replica has seen in the namespace. It never goes
		// back, even when an Environment is recreated or its status edited.
		for i := range envs.Items {
			published = max(published, envs.Items[i].Status.Revision)
		}
		if p.structure {
			st = buildStructure(&model.Objects{Environments: envs.Items, Roles: roles.Items, Organizations: orgs.Items,
				OrganizationRoles: orgRoles.Items, GroupMappings: mappings.Items})
		}
	}
	e := x.env(ns)
	changed := e.update(st, published, p.members)
	if changed {
		indexUpdatesTotal.Inc()
	}
	if e.empty() {
		// The namespace's environment is gone (or the namespace): a namespace
		// that churns must not leave its state behind.
		x.mu.Lock()
		if x.envs[ns] == e {
			delete(x.envs, ns)
		}
		x.mu.Unlock()
	}
	indexRebuildDuration.Observe(x.clock.Since(start).Seconds())
	if changed {
		x.notify(ns)
	}
	return nil
}

// Subscribe registers f, which the writer calls with the namespace of every
// applied batch that changed that namespace's content (after the change is
// visible to EnvIndex.Read), including the batch that empties it. f runs on
// the writer's goroutine: it must return at once (record the namespace, wake
// a worker). Subscribers registered after a change do not see it: read the
// content once after subscribing.
func (x *Store) Subscribe(f func(ns string)) {
	x.subsMu.Lock()
	defer x.subsMu.Unlock()
	x.subs = append(x.subs, f)
}

// notify calls the subscribers with ns.
func (x *Store) notify(ns string) {
	x.subsMu.Lock()
	subs := x.subs
	x.subsMu.Unlock()
	for _, f := range subs {
		f(ns)
	}
}

// Namespaces returns the namespaces whose content is not empty, sorted.
func (x *Store) Namespaces() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, len(x.envs))
	for ns, e := range x.envs {
		if !e.empty() {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// env returns the EnvIndex of ns, creating it (only the writer calls it).
func (x *Store) env(ns string) *EnvIndex {
	x.mu.RLock()
	e := x.envs[ns]
	x.mu.RUnlock()
	if e == nil {
		e = newEnvIndex(ns)
		x.mu.Lock()
		x.envs[ns] = e
		x.mu.Unlock()
	}
	return e
}

// Get returns the EnvIndex of namespace ns; a namespace the store never saw
// gives an empty one.
func (x *Store) Get(ns string) *EnvIndex {
	x.mu.RLock()
	e := x.envs[ns]
	x.mu.RUnlock()
	if e == nil {
		return newEnvIndex(ns)
	}
	return e
}

// Ready reports whether the store has been built from synced caches: until
// then it answers nothing.
func (x *Store) Ready() bool { return x.ready.Load() }

// Load indexes the objects of namespace ns at once, as one batch of the
// writer does from the cache, with revision as the published revision, and
// marks the store ready. It is for callers that hold the objects themselves
// instead of running Start on a cache: the HTTP face's tests and benchmarks.
func (x *Store) Load(ns string, objs model.Objects, members []orgrbacv1alpha1.Membership, revision int64) {
	changed := make(map[string]*orgrbacv1alpha1.Membership, len(members))
	for i := range members {
		changed[members[i].Name] = &members[i]
	}
	if x.env(ns).update(buildStructure(&objs), revision, changed) {
		x.notify(ns)
	}
	x.ready.Store(true)
}

// count is the number of namespaces holding orgrbac objects.
func (x *Store) count() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for _, e := range x.envs {
		if !e.empty() {
			n++
		}
	}
	return n
}
