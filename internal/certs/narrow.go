package certs

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// narrowedManager is the manager given to cert-controller. cert-controller builds
// its own cache from GetConfig, with one informer for the Secrets of the Secret's
// namespace and one for every Validating- and MutatingWebhookConfiguration of the
// cluster: that would need list and watch on all of them, and would hold every
// Secret of the namespace in memory. The config returned here adds a metadata.name
// field selector to those lists and watches, so the cache holds exactly the three
// objects, and RBAC can grant list and watch by resourceNames (the API server
// authorizes a list or watch against resourceNames when it selects one name).
type narrowedManager struct {
	manager.Manager
	config *rest.Config
}

// GetConfig returns the manager's config with the name-selecting transport.
func (n narrowedManager) GetConfig() *rest.Config { return n.config }

// narrow returns mgr with a config whose lists and watches of the Secrets in
// secret's namespace select secret's name, and whose lists and watches of
// validating and mutating webhook configurations select validating and mutating.
func narrow(mgr manager.Manager, secret types.NamespacedName, validating, mutating string) manager.Manager {
	cfg := rest.CopyConfig(mgr.GetConfig())
	selected := map[string]string{
		"/api/v1/namespaces/" + secret.Namespace + "/secrets":                   secret.Name,
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": validating,
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations":   mutating,
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return nameSelecting{next: rt, names: selected} })
	return narrowedManager{Manager: mgr, config: cfg}
}

// nameSelecting adds fieldSelector=metadata.name=<name> to GET requests for the
// collections in names (lists and watches; a GET of one object has a longer path).
type nameSelecting struct {
	next  http.RoundTripper
	names map[string]string // collection path → the one name to select
}

// RoundTrip implements http.RoundTripper.
func (n nameSelecting) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return n.next.RoundTrip(req)
	}
	name := ""
	for collection, n := range n.names {
		// A suffix, for API servers behind a path prefix; a GET of one object
		// ends with its name, not with the collection.
		if strings.HasSuffix(req.URL.Path, collection) {
			name = n
		}
	}
	if name == "" {
		return n.next.RoundTrip(req)
	}
	q := req.URL.Query()
	sel := "metadata.name=" + name
	if prev := q.Get("fieldSelector"); prev != "" {
		sel = prev + "," + sel
	}
	q.Set("fieldSelector", sel)
	r := req.Clone(req.Context())
	r.URL.RawQuery = q.Encode()
	return n.next.RoundTrip(r)
}
