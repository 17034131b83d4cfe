package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// permissionInputs is what a Permission's status is computed from, as the
// Permission controller gathers it from the cache.
type permissionInputs struct {
	// name is the permission's name and slug its effective slug.
	name, slug string
	// all are the namespace's Permissions, the permission itself included:
	// among those declaring its slug, the oldest one not being deleted wins (R8).
	all []orgrbacv1alpha1.Permission
}

// permissionStatus is the status a Permission at generation gen should have
// given in: its slug, and Ready, False with reason Duplicate when an older
// Permission declares the same slug. It is pure: old only supplies the
// condition's transition time, so inputs that did not change give a status
// equal to old.
func permissionStatus(old orgrbacv1alpha1.PermissionStatus, gen int64, in permissionInputs, now metav1.Time) orgrbacv1alpha1.PermissionStatus {
	var same []orgrbacv1alpha1.Permission
	for _, p := range in.all {
		if p.EffectiveSlug() == in.slug {
			same = append(same, p)
		}
	}
	ready := readyCondition("", "", gen)
	if winner := oldest(same, func(p *orgrbacv1alpha1.Permission) metav1.Object { return p }); winner != "" && winner != in.name {
		ready = readyCondition(orgrbacv1alpha1.ReasonDuplicate,
			fmt.Sprintf("Permission %q declares the same slug and is older", winner), gen)
	}
	return orgrbacv1alpha1.PermissionStatus{ObservedGeneration: gen, Slug: in.slug,
		Conditions: mergeConditions(old.Conditions, now, ready)}
}
