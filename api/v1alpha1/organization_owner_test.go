package v1alpha1_test

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestOrganizationOwnerReference(t *testing.T) {
	acme := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "videos", UID: "acme-uid"}}
	want := metav1.OwnerReference{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Organization", Name: "acme", UID: "acme-uid"}
	if got := acme.OwnerReference(); !reflect.DeepEqual(got, want) {
		t.Fatalf("OwnerReference() = %+v, want %+v (not a controller, no blockOwnerDeletion)", got, want)
	}

	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "x-uid"}
	// A reference to the organization under another name (renamed objects keep
	// their UID): the UID decides.
	sameUID := metav1.OwnerReference{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Organization", Name: "old", UID: "acme-uid"}
	// An earlier organization of the same name, deleted and created again.
	oldUID := metav1.OwnerReference{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Organization", Name: "acme", UID: "acme-before"}
	noUID := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "videos"}}

	for _, tc := range []struct {
		name    string
		org     *orgrbacv1alpha1.Organization
		refs    []metav1.OwnerReference
		owner   bool
		changed bool
		after   []metav1.OwnerReference
	}{
		{"no references", acme, nil, false, true, []metav1.OwnerReference{want}},
		{"another owner", acme, []metav1.OwnerReference{other}, false, true, []metav1.OwnerReference{other, want}},
		{"already owned", acme, []metav1.OwnerReference{want}, true, false, []metav1.OwnerReference{want}},
		{"owned among others", acme, []metav1.OwnerReference{other, want}, true, false, []metav1.OwnerReference{other, want}},
		{"owned under another name", acme, []metav1.OwnerReference{sameUID}, true, false, []metav1.OwnerReference{sameUID}},
		{"an earlier organization of the name", acme, []metav1.OwnerReference{oldUID}, false, true, []metav1.OwnerReference{oldUID, want}},
		{"an organization without a UID", noUID, nil, false, false, nil},
		{"an organization without a UID, a reference without one", noUID, []metav1.OwnerReference{{Kind: "Organization", Name: "acme"}},
			false, false, []metav1.OwnerReference{{Kind: "Organization", Name: "acme"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "acme-alice", Namespace: "videos",
				OwnerReferences: append([]metav1.OwnerReference(nil), tc.refs...)}}
			if got := tc.org.IsOwnerOf(m); got != tc.owner {
				t.Errorf("IsOwnerOf = %v, want %v", got, tc.owner)
			}
			if got := tc.org.AddOwnerReferenceTo(m); got != tc.changed {
				t.Errorf("AddOwnerReferenceTo = %v, want %v", got, tc.changed)
			}
			if !reflect.DeepEqual(m.OwnerReferences, tc.after) {
				t.Errorf("ownerReferences = %+v, want %+v", m.OwnerReferences, tc.after)
			}
			if tc.changed && !tc.org.IsOwnerOf(m) {
				t.Error("not owned after AddOwnerReferenceTo")
			}
			if tc.org.AddOwnerReferenceTo(m) {
				t.Error("a second AddOwnerReferenceTo changed the object")
			}
		})
	}
}
