package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
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
// resourceVersions are compared with apimachinery's CompareResourceVersion
// (the API server's are ordered numbers). One it cannot compare is never
// called stale: the reconcile goes on, as it would without this.
//
// The skip is safe only because the controller's For watch has no predicate:
// the write's own event, status-only as it may be, must enqueue the object
// again. A controller whose For watch filters status updates must not use it.
type writtenVersions struct {
	mu sync.Mutex
	v  map[types.NamespacedName]string
}

func newWrittenVersions() *writtenVersions {
	return &writtenVersions{v: map[types.NamespacedName]string{}}
}

// wrote records obj's resourceVersion, as a write returned it.
func (w *writtenVersions) wrote(obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.v[client.ObjectKeyFromObject(obj)] = obj.GetResourceVersion()
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
	if c, err := resourceversion.CompareResourceVersion(cached.GetResourceVersion(), written); err == nil && c < 0 {
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
