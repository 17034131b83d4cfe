package model

import (
	"context"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestCacheInvalidation(t *testing.T) {
	c := NewCache(nil)
	builds := 0
	build := func() (*resolve.Env, error) {
		builds++
		return resolve.Compile(resolve.Input{}), nil
	}
	first, err := c.get("a", build)
	if err != nil || first == nil {
		t.Fatalf("get: %v, %v", first, err)
	}
	if again, _ := c.get("a", build); again != first || builds != 1 {
		t.Errorf("a second get compiled again (builds=%d)", builds)
	}
	if other, _ := c.get("b", build); other == first || builds != 2 {
		t.Errorf("namespaces share a compilation (builds=%d)", builds)
	}
	c.Invalidate("a")
	if fresh, _ := c.get("a", build); fresh == first || builds != 3 {
		t.Errorf("an invalidated namespace was not compiled again (builds=%d)", builds)
	}

	// A change during a build leaves that build stale.
	racing := func() (*resolve.Env, error) {
		c.Invalidate("a")
		return build()
	}
	c.Invalidate("a")
	raced, _ := c.get("a", racing)
	if next, _ := c.get("a", build); next == raced {
		t.Error("a compilation that raced with a change was reused")
	}

	// Errors are not cached.
	failed := errors.New("cache not synced")
	if _, err := c.get("c", func() (*resolve.Env, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Errorf("get = %v, want %v", err, failed)
	}
	if env, err := c.get("c", build); err != nil || env == nil {
		t.Errorf("after an error: %v, %v", env, err)
	}

	// Forget drops an entry; Invalidate creates none.
	c.Forget("a")
	c.Invalidate("a")
	if n := c.Len(); n != 2 {
		t.Errorf("Len = %d, want 2 (b, c)", n)
	}
}

func TestCacheEnvReadsTheNamespace(t *testing.T) {
	s := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	role := &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "member"},
		Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"read"}}}
	other := &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "admin"}}
	org := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "acme"}}
	cl := fake.NewClientBuilder().WithScheme(s).WithObjects(role, other, org).Build()
	c := NewCache(cl)
	ctx := context.Background()

	env, err := c.Env(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if v := env.Organization("acme"); v == nil || !v.Defines("member") || v.Defines("admin") {
		t.Fatalf("namespace a compiled wrong: %v", env.OrganizationNames())
	}
	if again, _ := c.Env(ctx, "a"); again != env {
		t.Error("an unchanged namespace was compiled again")
	}

	// The invalidator lets every event through and invalidates only on input changes.
	p := c.Invalidator()
	updated := role.DeepCopy()
	updated.Generation = role.Generation + 1
	if !p.Update(event.UpdateEvent{ObjectOld: role, ObjectNew: role.DeepCopy()}) {
		t.Error("the invalidator filtered a status update")
	}
	if again, _ := c.Env(ctx, "a"); again != env {
		t.Error("a status update invalidated the namespace")
	}
	if err := cl.Delete(ctx, role); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []bool{
		p.Update(event.UpdateEvent{ObjectOld: role, ObjectNew: updated}),
		p.Create(event.CreateEvent{Object: role}),
		p.Delete(event.DeleteEvent{Object: role}),
	} {
		if !ok {
			t.Error("the invalidator filtered an event")
		}
	}
	fresh, err := c.Env(ctx, "a")
	if err != nil || fresh == env || fresh.Organization("acme").Defines("member") {
		t.Errorf("after the role's deletion: fresh=%v err=%v", fresh != env, err)
	}
}

func TestInputChanged(t *testing.T) {
	now := metav1.Now()
	base := &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Generation: 1}}
	for _, tc := range []struct {
		name string
		edit func(*orgrbacv1alpha1.Role)
		want bool
	}{
		{"status or metadata only", func(r *orgrbacv1alpha1.Role) { r.Labels = map[string]string{"a": "b"} }, false},
		{"spec", func(r *orgrbacv1alpha1.Role) { r.Generation++ }, true},
		{"deletion starts", func(r *orgrbacv1alpha1.Role) { r.DeletionTimestamp = &now }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base.DeepCopy()
			tc.edit(n)
			if got := InputChanged(client.Object(base), n); got != tc.want {
				t.Errorf("InputChanged = %v, want %v", got, tc.want)
			}
		})
	}
}
