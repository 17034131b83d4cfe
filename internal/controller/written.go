package controller

import (
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// writtenVersions remembers, per object, the resourceVersion the API server
// gave this manager's last write of it, until the informer cache holds that
// version or a later one.
//
// A reconcile that writes an object triggers another one through the write's
// own watch event, and every earlier event of the object still in flight
// triggers one too. Such a reconcile reads a cached copy older than the write:
// it would compute the status again from the old one, find it different, and
// write the same status a second time (at a cold start, where each membership
// gets its ownerReference and then its status, that was about one write in
// three). A reconcile that finds its object stale skips instead: the event of
// the write itself is still to come, and it enqueues the object again.
//
// resourceVersions are compared as numbers, as the API server's etcd storage
// makes them. One that is not a number (another storage) is never called
// stale: the reconcile goes on, as it would without this.
type writtenVersions struct {
	mu sync.Mutex
	v  map[types.NamespacedName]uint64
}

func newWrittenVersions() *writtenVersions {
	return &writtenVersions{v: map[types.NamespacedName]uint64{}}
}

// wrote records obj's resourceVersion, as a write returned it.
func (w *writtenVersions) wrote(obj client.Object) {
	rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.v[client.ObjectKeyFromObject(obj)] = rv
}

// stale reports whether cached, a copy read from the cache, is older than
// this manager's last write of the object. Once the cache holds that write or a
// later version, the record is forgotten.
func (w *writtenVersions) stale(cached client.Object) bool {
	key := client.ObjectKeyFromObject(cached)
	w.mu.Lock()
	defer w.mu.Unlock()
	written, ok := w.v[key]
	if !ok {
		return false
	}
	rv, err := strconv.ParseUint(cached.GetResourceVersion(), 10, 64)
	if err == nil && rv < written {
		return true
	}
	delete(w.v, key)
	return false
}

// forget drops the record of an object that is gone.
func (w *writtenVersions) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.v, key)
}
