// Package manageropts holds the parts of the manager's configuration that the
// orgrbac binary (cmd) and every manager the tests run (internal/testenv,
// pkg/orgrbactest) must share, so that a suite runs the controllers on the cache
// and client the product runs them on: the scheme, the cache's transform and the
// client's uncached kinds.
package manageropts

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/slim"
)

// Scheme returns a new scheme with client-go's and orgrbac's types.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(orgrbacv1alpha1.AddToScheme(s))
	return s
}

// Cache returns the manager cache's options: drop managedFields (never read)
// and share the strings that repeat across memberships, since most of the heap
// at scale is cached objects (internal/slim).
func Cache() cache.Options {
	return cache.Options{DefaultTransform: slim.Transform}
}

// Client returns the manager client's options. ConfigMaps are never cached: a
// Get or List through the client would start an informer holding every
// ConfigMap of the cluster, data included (security review H2). The publisher
// has its own metadata-only cache of the labelled ones and reads ConfigMaps
// through the API reader.
func Client() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.ConfigMap{}}}}
}
