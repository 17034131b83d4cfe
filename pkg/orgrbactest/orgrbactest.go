// Package orgrbactest helps the test suites of workloads that use orgrbac: it
// installs orgrbac's CRDs (embedded in the binary) into an envtest Environment or
// an existing cluster, runs the orgrbac controllers in-process, and gives a fake
// decision source for unit tests that need no cluster at all.
package orgrbactest

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	orgrbac "github.com/orgrbac/orgrbac"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

// CRDs returns orgrbac's CustomResourceDefinitions, for
// envtest.Environment{CRDs: ...} or envtest.InstallCRDs.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	names, err := fs.Glob(orgrbac.CRDFiles, "config/crd/bases/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(names))
	for _, n := range names {
		data, err := fs.ReadFile(orgrbac.CRDFiles, n)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", path.Base(n), err)
		}
		out = append(out, crd)
	}
	return out, nil
}

// Install installs orgrbac's CRDs into the cluster of cfg (an envtest
// Environment already started, or an existing cluster) and waits until they are
// served.
func Install(cfg *rest.Config) error {
	crds, err := CRDs()
	if err != nil {
		return err
	}
	_, err = envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: crds, MaxTime: time.Minute})
	return err
}

// Scheme returns a scheme with the Kubernetes and orgrbac types.
func Scheme() *runtime.Scheme { return testenv.Scheme() }

// StartControllers runs the orgrbac controllers (resolution, status, publishing)
// in-process against the cluster of cfg, as the orgrbac manager does without its
// webhooks and decision API. The returned function stops them and waits.
func StartControllers(cfg *rest.Config) (stop func(), err error) {
	mgr, err := ctrl.NewManager(cfg, testenv.ManagerOptions(Scheme()))
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := controller.Setup(ctx, mgr, controller.Options{MaxConcurrentReconciles: 2}); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			ctrl.Log.WithName("orgrbactest").Error(err, "The orgrbac controllers stopped")
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// FakeDecider is an in-memory authz.Decider for unit tests of workloads: it
// allows exactly what was granted with Grant. It is safe for concurrent use.
type FakeDecider struct {
	mu     sync.RWMutex
	grants map[[3]string]bool
	err    error
}

var _ authz.Decider = (*FakeDecider)(nil)

// NewFakeDecider returns a FakeDecider that allows nothing.
func NewFakeDecider() *FakeDecider { return &FakeDecider{grants: map[[3]string]bool{}} }

// Grant allows the user of org the permissions.
func (f *FakeDecider) Grant(org, user string, permissions ...string) *FakeDecider {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range permissions {
		f.grants[[3]string{org, user, p}] = true
	}
	return f
}

// Revoke takes the permissions of the user of org away.
func (f *FakeDecider) Revoke(org, user string, permissions ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range permissions {
		delete(f.grants, [3]string{org, user, p})
	}
}

// FailWith makes every Check fail with err (nil restores normal answers), to test
// a workload's behaviour when no decision can be made.
func (f *FakeDecider) FailWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// Allowed reports whether the permission was granted.
func (f *FakeDecider) Allowed(org, user, permission string) bool {
	ok, err := f.Check(context.Background(), org, user, permission)
	return ok && err == nil
}

// Check implements authz.Decider.
func (f *FakeDecider) Check(_ context.Context, org, user, permission string) (bool, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.err != nil {
		return false, f.err
	}
	return f.grants[[3]string{org, user, permission}], nil
}
