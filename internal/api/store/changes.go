package store

import (
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
)

// Which informer events change what the store serves: the pure classifiers
// the event handlers apply before recording a change.

// Kinds of change of a structural object (Environment, Role, OrganizationRole,
// Organization, GroupMapping) update.
const (
	noChange        = iota // nothing the API shows
	revisionChange         // an Environment's status (its revision)
	structureChange        // the roles or organizations the API shows
)

// structureDiffers classifies an update of a structural object: only its spec,
// its creation, its deletion and its conditions' transition times (updated_at)
// show in the API; an Environment's status holds the revision.
func structureDiffers(oldObj, obj any) int {
	meta := func(a, b metav1.Object, ac, bc []metav1.Condition) bool {
		ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
		return !ta.Equal(&tb) || model.Deleting(a) != model.Deleting(b) ||
			a.GetName() != b.GetName() || !updatedAt(a, ac).Equal(updatedAt(b, bc))
	}
	switch n := obj.(type) {
	case *orgrbacv1alpha1.Environment:
		o, ok := oldObj.(*orgrbacv1alpha1.Environment)
		switch {
		case !ok || meta(o, n, nil, nil) || !reflect.DeepEqual(o.Spec, n.Spec):
			return structureChange
		case o.Status.Revision != n.Status.Revision:
			return revisionChange
		}
	case *orgrbacv1alpha1.Role:
		if o, ok := oldObj.(*orgrbacv1alpha1.Role); !ok || meta(o, n, o.Status.Conditions, n.Status.Conditions) ||
			!reflect.DeepEqual(o.Spec, n.Spec) {
			return structureChange
		}
	case *orgrbacv1alpha1.OrganizationRole:
		if o, ok := oldObj.(*orgrbacv1alpha1.OrganizationRole); !ok || meta(o, n, o.Status.Conditions, n.Status.Conditions) ||
			!reflect.DeepEqual(o.Spec, n.Spec) {
			return structureChange
		}
	case *orgrbacv1alpha1.Organization:
		if o, ok := oldObj.(*orgrbacv1alpha1.Organization); !ok || meta(o, n, o.Status.Conditions, n.Status.Conditions) ||
			!reflect.DeepEqual(o.Spec, n.Spec) {
			return structureChange
		}
	case *orgrbacv1alpha1.GroupMapping:
		// The API shows no mapping: only what the resolver reads of it (its
		// spec, creation and deletion) changes the roles writes resolve.
		if o, ok := oldObj.(*orgrbacv1alpha1.GroupMapping); !ok || meta(o, n, nil, nil) ||
			!reflect.DeepEqual(o.Spec, n.Spec) {
			return structureChange
		}
	default:
		return structureChange
	}
	return noChange
}

// memberDiffers reports whether an update of a Membership changes anything its
// entry holds: its spec's organization, user, email and state, its status'
// roles, source, assignments and permissions, its Ready condition, its
// updated_at, its creation or its deletion.
func memberDiffers(a, b *orgrbacv1alpha1.Membership) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) || model.Deleting(a) != model.Deleting(b) ||
		a.Spec.Organization != b.Spec.Organization || a.Spec.User != b.Spec.User ||
		a.Spec.Email != b.Spec.Email || a.Spec.State != b.Spec.State ||
		a.Status.Role != b.Status.Role || a.Status.Source != b.Status.Source ||
		!slices.Equal(a.Status.Roles, b.Status.Roles) || !slices.Equal(a.Status.Assignments, b.Status.Assignments) ||
		!slices.Equal(a.Status.Permissions, b.Status.Permissions) {
		return true
	}
	ar, br := readyOf(a.Status.Conditions), readyOf(b.Status.Conditions)
	return ar.Status != br.Status || ar.Reason != br.Reason ||
		!updatedAt(a, a.Status.Conditions).Equal(updatedAt(b, b.Status.Conditions))
}

// readyOf returns the Ready condition (the last one, as entries read it), zero
// when there is none.
func readyOf(conds []metav1.Condition) metav1.Condition {
	var out metav1.Condition
	for _, c := range conds {
		if c.Type == orgrbacv1alpha1.ConditionReady {
			out = c
		}
	}
	return out
}
