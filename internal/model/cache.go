package model

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// Read reads the objects of namespace ns from c with five Lists, whatever the
// number of organizations. Reads are read-only: the objects are the cache's
// own (not deep-copied) and must not be modified.
func Read(ctx context.Context, c client.Reader, ns string) (Objects, error) {
	var (
		objs     Objects
		envs     orgrbacv1alpha1.EnvironmentList
		roles    orgrbacv1alpha1.RoleList
		orgs     orgrbacv1alpha1.OrganizationList
		orgRoles orgrbacv1alpha1.OrganizationRoleList
		mappings orgrbacv1alpha1.GroupMappingList
	)
	for _, l := range []struct {
		what string
		list client.ObjectList
	}{{"environments", &envs}, {"roles", &roles}, {"organizations", &orgs}, {"organization roles", &orgRoles}, {"group mappings", &mappings}} {
		if err := c.List(ctx, l.list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
			return objs, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	objs.Environments, objs.Roles, objs.Organizations = envs.Items, roles.Items, orgs.Items
	objs.OrganizationRoles, objs.GroupMappings = orgRoles.Items, mappings.Items
	return objs, nil
}

// Cache keeps one compiled environment per namespace, read from a client
// (the manager's cache), so that every consumer of a namespace, and the
// thousands of memberships a role edit touches, share one compilation instead
// of each gathering and compiling the namespace again.
//
// Every consumer's event handlers invalidate a namespace before they enqueue
// what an input change affects ([Cache.Invalidator], the first predicate of
// each watch of an input kind), and a compilation is tagged with the
// generation read before its inputs were gathered. So a reconcile caused by a
// change always sees a compilation at least as new as that change, and a
// compilation that raced with a change is never reused after it.
type Cache struct {
	reader client.Reader

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	gen atomic.Uint64 // bumped by Invalidate

	mu     sync.Mutex // serialises compilations of the namespace
	env    *resolve.Env
	envGen uint64 // gen when env's inputs were gathered
}

// NewCache returns an empty cache reading namespaces from r.
func NewCache(r client.Reader) *Cache { return &Cache{reader: r, entries: map[string]*entry{}} }

func (c *Cache) entry(ns string) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ns]
	if !ok {
		e = &entry{}
		c.entries[ns] = e
	}
	return e
}

// Invalidate marks the namespace's compilation stale. A namespace with no
// entry has no compilation to invalidate: the next Env builds one from inputs
// that already hold the change (the informer stores an object before its
// handlers run), so none is created.
func (c *Cache) Invalidate(ns string) {
	c.mu.Lock()
	e := c.entries[ns]
	c.mu.Unlock()
	if e != nil {
		e.gen.Add(1)
	}
}

// Forget drops the namespace's entry, for a namespace whose last orgrbac
// object is gone. An Env in progress finishes on the dropped entry, which
// nothing reads any more; the next Env starts afresh.
func (c *Cache) Forget(ns string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, ns)
}

// Len is the number of namespaces with an entry.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Env returns the namespace's compiled environment, reading and compiling it
// when there is none or it is stale. Concurrent callers of one namespace wait
// for one compilation. Errors are not cached.
func (c *Cache) Env(ctx context.Context, ns string) (*resolve.Env, error) {
	return c.get(ns, func() (*resolve.Env, error) {
		objs, err := Read(ctx, c.reader, ns)
		if err != nil {
			return nil, err
		}
		return Compile(objs), nil
	})
}

// get returns the namespace's compiled environment, calling build when there
// is none or it is stale.
func (c *Cache) get(ns string, build func() (*resolve.Env, error)) (*resolve.Env, error) {
	e := c.entry(ns)
	e.mu.Lock()
	defer e.mu.Unlock()
	gen := e.gen.Load()
	if e.env != nil && e.envGen == gen {
		return e.env, nil
	}
	env, err := build()
	if err != nil {
		return nil, err
	}
	e.env, e.envGen = env, gen
	return env, nil
}

// Invalidator is the cache's one set of event handlers: a predicate that
// invalidates an object's namespace on every event that may change its input
// (a creation, a deletion, the start of a deletion, a change of
// metadata.generation, that is of the spec) and lets every event through. Put
// it first among the predicates of each watch of an input kind (Environments,
// Roles, Organizations, OrganizationRoles, GroupMappings) of a controller that
// reads the cache: predicates run in the watch's event handler, before it
// enqueues, so the reconcile the event causes finds the namespace invalidated.
func (c *Cache) Invalidator() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			c.Invalidate(e.Object.GetNamespace())
			return true
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			c.Invalidate(e.Object.GetNamespace())
			return true
		},
		UpdateFunc: func(e event.UpdateEvent) bool {
			if InputChanged(e.ObjectOld, e.ObjectNew) {
				c.Invalidate(e.ObjectNew.GetNamespace())
			}
			return true
		},
	}
}

// InputChanged reports whether an update of an object may change its
// namespace's input: the start of its deletion, or a change of its spec
// (metadata.generation). Name and creation time never change; status and
// other metadata are not read.
func InputChanged(oldObj, newObj client.Object) bool {
	return (oldObj.GetDeletionTimestamp() == nil) != (newObj.GetDeletionTimestamp() == nil) ||
		oldObj.GetGeneration() != newObj.GetGeneration()
}
