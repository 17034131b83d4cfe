package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// The controllers' fallback for the mutating webhook: an object admitted without
// its Organization's ownerReference (created before the Organization, or while the
// webhook was unreachable) gets it from ensureOrganizationOwner; an object that has
// it is never written.
func TestEnsureOrganizationOwner(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	acme := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "videos", UID: "acme-uid"}}
	gone := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "videos", UID: "gone-uid",
		DeletionTimestamp: new(metav1.Now()), Finalizers: []string{"test/keep"}}}
	ref := acme.OwnerReference()
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "x-uid"}

	for _, tc := range []struct {
		name    string
		org     string
		refs    []metav1.OwnerReference
		patches int
		after   []metav1.OwnerReference
	}{
		{"admitted without the reference", "acme", nil, 1, []metav1.OwnerReference{ref}},
		{"admitted with another owner", "acme", []metav1.OwnerReference{other}, 1, []metav1.OwnerReference{other, ref}},
		{"the webhook set it", "acme", []metav1.OwnerReference{ref}, 0, []metav1.OwnerReference{ref}},
		{"no organization yet", "later", nil, 0, nil},
		{"a deleting organization", "gone", nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "videos",
				OwnerReferences: append([]metav1.OwnerReference(nil), tc.refs...)}}
			patches := 0
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(acme.DeepCopy(), gone.DeepCopy(), m.DeepCopy()).
				WithInterceptorFuncs(interceptor.Funcs{
					Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
						patches++
						return c.Patch(ctx, obj, p, opts...)
					},
					Update: func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
						t.Error("an update: the reference is patched")
						return nil
					},
				}).Build()
			ctx := context.Background()
			var cached orgrbacv1alpha1.Membership
			if err := c.Get(ctx, client.ObjectKeyFromObject(m), &cached); err != nil {
				t.Fatal(err)
			}
			if err := ensureOrganizationOwner(ctx, c, &cached, tc.org); err != nil {
				t.Fatal(err)
			}
			if patches != tc.patches {
				t.Errorf("%d patches, want %d", patches, tc.patches)
			}
			var stored orgrbacv1alpha1.Membership
			if err := c.Get(ctx, client.ObjectKeyFromObject(m), &stored); err != nil {
				t.Fatal(err)
			}
			if len(stored.OwnerReferences) != len(tc.after) {
				t.Fatalf("ownerReferences %+v, want %+v", stored.OwnerReferences, tc.after)
			}
			for i := range tc.after {
				if stored.OwnerReferences[i] != tc.after[i] {
					t.Errorf("ownerReferences %+v, want %+v", stored.OwnerReferences, tc.after)
				}
			}
		})
	}
}
