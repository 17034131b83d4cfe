//go:build envtest

package orgrbactest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/pkg/authz"
	"github.com/orgrbac/orgrbac/pkg/orgrbactest"
)

// TestWorkloadSuite is how a workload's integration suite uses orgrbactest: an
// envtest control plane with orgrbac's CRDs and controllers, the workload's own
// manifests, and the published snapshot read by the authz library.
func TestWorkloadSuite(t *testing.T) {
	env := &envtest.Environment{}
	crds, err := orgrbactest.CRDs()
	if err != nil {
		t.Fatal(err)
	}
	env.CRDs = crds
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest (KUBEBUILDER_ASSETS must name etcd and kube-apiserver; `make test` sets it): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	stop, err := orgrbactest.StartControllers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	ctx := context.Background()
	k8s, err := client.New(cfg, client.Options{Scheme: orgrbactest.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "videos"
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "member", Namespace: ns},
			Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"videos:view"}}},
		&orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "admin", Namespace: ns},
			Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"videos:view", "videos:delete"}}},
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns}},
		&orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "acme-alice", Namespace: ns},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "user_alice", Roles: []string{"admin"}}},
		&orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "acme-bob", Namespace: ns},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "user_bob"}},
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s: %v", obj.GetName(), err)
		}
	}

	// What the kubelet would mount: the published ConfigMap's files.
	dir := t.TempDir()
	source := authz.NewFileSource(dir, authz.FileSourceOptions{})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cm corev1.ConfigMap
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orgrbac-permissions"}, &cm)
		if err == nil {
			for k, v := range cm.Data {
				if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if source.Reload() == nil && source.Allowed("acme", "user_alice", "videos:delete") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the snapshot never granted alice videos:delete (last error: %v, %v)", err, source.Err())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, tc := range []struct {
		user, permission string
		want             bool
	}{
		{"user_alice", "videos:delete", true},
		{"user_bob", "videos:view", true},
		{"user_bob", "videos:delete", false},
		{"user_carol", "videos:view", false},
	} {
		if got := source.Allowed("acme", tc.user, tc.permission); got != tc.want {
			t.Errorf("Allowed(acme, %s, %s) = %v, want %v", tc.user, tc.permission, got, tc.want)
		}
	}
}
