package controller

import (
	"sync"
	"sync/atomic"

	"github.com/orgrbac/orgrbac/internal/resolve"
)

// envCache keeps one compiled environment per namespace for the Membership
// reconciler, so that the thousands of memberships a role edit touches share one
// compilation instead of each gathering and compiling the namespace again.
//
// The Membership controller's own event handlers invalidate a namespace before
// they enqueue the memberships an input change affects (see membershipMapper), and
// a compilation is tagged with the generation read before its inputs were
// gathered. So a reconcile caused by a change always sees a compilation at least
// as new as that change, and a compilation that raced with a change is never
// reused after it.
type envCache struct {
	mu      sync.Mutex
	entries map[string]*envEntry
}

type envEntry struct {
	gen atomic.Uint64 // bumped by invalidate

	mu     sync.Mutex // serialises compilations of the namespace
	env    *resolve.Env
	envGen uint64 // gen when env's inputs were gathered
}

func newEnvCache() *envCache { return &envCache{entries: map[string]*envEntry{}} }

func (c *envCache) entry(ns string) *envEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ns]
	if !ok {
		e = &envEntry{}
		c.entries[ns] = e
	}
	return e
}

// invalidate marks the namespace's compilation stale. A namespace with no entry
// has no compilation to invalidate: the next get builds one from inputs that
// already hold the change (the informer stores an object before its handlers
// run), so none is created.
func (c *envCache) invalidate(ns string) {
	c.mu.Lock()
	e := c.entries[ns]
	c.mu.Unlock()
	if e != nil {
		e.gen.Add(1)
	}
}

// forget drops the namespace's entry, for a namespace whose last orgrbac object
// is gone. A get in progress finishes on the dropped entry, which nothing reads
// any more; the next get starts afresh.
func (c *envCache) forget(ns string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, ns)
}

// len is the number of namespaces with an entry.
func (c *envCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// get returns the namespace's compiled environment, calling build when there is
// none or it is stale. Concurrent callers of one namespace wait for one build.
func (c *envCache) get(ns string, build func() (*resolve.Env, error)) (*resolve.Env, error) {
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
