package main

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Security review H2: the manager's client never caches ConfigMaps, so no code
// path can start an informer holding every ConfigMap of the cluster.
func TestClientNeverCachesConfigMaps(t *testing.T) {
	o := clientOptions()
	if o.Cache == nil {
		t.Fatal("no cache options")
	}
	found := false
	for _, obj := range o.Cache.DisableFor {
		if _, ok := obj.(*corev1.ConfigMap); ok {
			found = true
		}
	}
	if !found {
		t.Errorf("ConfigMaps are cached: DisableFor = %v", o.Cache.DisableFor)
	}
	if cacheOptions().DefaultTransform == nil {
		t.Error("the cache lost its transform")
	}
}
