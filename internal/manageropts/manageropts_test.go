package manageropts

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Security review H2: the manager's client never caches ConfigMaps, so no code
// path can start an informer holding every ConfigMap of the cluster.
func TestClientNeverCachesConfigMaps(t *testing.T) {
	o := Client()
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
}

// The cache drops what the controllers never read (internal/slim's tests say
// what that is); losing the transform would grow the heap at scale.
func TestCacheTransforms(t *testing.T) {
	if Cache().DefaultTransform == nil {
		t.Error("the cache lost its transform")
	}
}

func TestSchemeHoldsBothGroups(t *testing.T) {
	s := Scheme()
	for _, gvk := range []schema.GroupVersionKind{
		orgrbacv1alpha1.GroupVersion.WithKind("Membership"),
		corev1.SchemeGroupVersion.WithKind("ConfigMap"),
	} {
		if !s.Recognizes(gvk) {
			t.Errorf("the scheme does not know %s", gvk)
		}
	}
}
