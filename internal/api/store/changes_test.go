package store

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestMemberDiffers(t *testing.T) {
	base := storetest.Member("m", "acme", "u", 1, "", true, []string{"admin"}, "videos:view")
	for name, tc := range map[string]struct {
		change func(m *orgrbacv1alpha1.Membership) // applied to a copy of base
		want   bool                                // whether the index must hear of it
	}{
		"nothing":             {func(*orgrbacv1alpha1.Membership) {}, false},
		"resource version":    {func(m *orgrbacv1alpha1.Membership) { m.ResourceVersion = "2" }, false},
		"observed generation": {func(m *orgrbacv1alpha1.Membership) { m.Status.ObservedGeneration = 4 }, false},
		"desired roles":       {func(m *orgrbacv1alpha1.Membership) { m.Spec.Roles = []string{"editor"} }, false},
		"older condition": {func(m *orgrbacv1alpha1.Membership) {
			m.Status.Conditions = append(m.Status.Conditions, metav1.Condition{Type: "Other", LastTransitionTime: metav1.NewTime(storetest.T0)})
		}, false},
		"state":        {func(m *orgrbacv1alpha1.Membership) { m.Spec.State = orgrbacv1alpha1.MembershipInactive }, true},
		"email":        {func(m *orgrbacv1alpha1.Membership) { m.Spec.Email = "e@example.com" }, true},
		"organization": {func(m *orgrbacv1alpha1.Membership) { m.Spec.Organization = "globex" }, true},
		"permissions":  {func(m *orgrbacv1alpha1.Membership) { m.Status.Permissions = nil }, true},
		"roles":        {func(m *orgrbacv1alpha1.Membership) { m.Status.Roles = []string{"admin", "member"} }, true},
		"source":       {func(m *orgrbacv1alpha1.Membership) { m.Status.Source = orgrbacv1alpha1.SourceSSO }, true},
		"assignments":  {func(m *orgrbacv1alpha1.Membership) { m.Status.Assignments[0].Group = "g" }, true},
		"ready":        {func(m *orgrbacv1alpha1.Membership) { m.Status.Conditions[0].Status = metav1.ConditionFalse }, true},
		"reason":       {func(m *orgrbacv1alpha1.Membership) { m.Status.Conditions[0].Reason = "Other" }, true},
		"updated at": {func(m *orgrbacv1alpha1.Membership) {
			m.Status.Conditions[0].LastTransitionTime = metav1.NewTime(storetest.T0.Add(time.Hour))
		}, true},
		"deletion": {func(m *orgrbacv1alpha1.Membership) { m.DeletionTimestamp = new(metav1.NewTime(storetest.T0)) }, true},
		"creation": {func(m *orgrbacv1alpha1.Membership) { m.CreationTimestamp = metav1.NewTime(storetest.T0) }, true},
	} {
		t.Run(name, func(t *testing.T) {
			m := *base.DeepCopy()
			tc.change(&m)
			if got := memberDiffers(&base, &m); got != tc.want {
				t.Errorf("memberDiffers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStructureDiffers(t *testing.T) {
	in := storetest.Sample()
	env, role, org, orgRole := &in.Environments[0], &in.Roles[0], &in.Organizations[0], &in.OrganizationRoles[0]
	for name, tc := range map[string]struct {
		old, obj any // the update
		want     int // its kind
	}{
		"environment counts": {env, with(env, func(e *orgrbacv1alpha1.Environment) { e.Status.Memberships = 9 }), noChange},
		"environment revision": {env, with(env, func(e *orgrbacv1alpha1.Environment) { e.Status.Revision = 9 }),
			revisionChange},
		"environment spec": {env, with(env, func(e *orgrbacv1alpha1.Environment) { e.Spec.MultipleRoles = true }),
			structureChange},
		"role observed generation": {role, with(role, func(r *orgrbacv1alpha1.Role) { r.Status.ObservedGeneration = 9 }), noChange},
		"role permissions": {role, with(role, func(r *orgrbacv1alpha1.Role) { r.Spec.Permissions = nil }),
			structureChange},
		"role deletion": {role, with(role, func(r *orgrbacv1alpha1.Role) { r.DeletionTimestamp = new(metav1.NewTime(storetest.T0)) }),
			structureChange},
		"organization observed generation": {org, with(org, func(o *orgrbacv1alpha1.Organization) { o.Status.ObservedGeneration = 9 }),
			noChange},
		"organization condition": {org, with(org, func(o *orgrbacv1alpha1.Organization) {
			o.Status.Conditions = storetest.ReadyCond(true, "Ready", storetest.T0.Add(time.Hour))
		}), structureChange},
		"organization role spec": {orgRole, with(orgRole, func(r *orgrbacv1alpha1.OrganizationRole) {
			r.Spec.DisplayName = "Producer"
		}), structureChange},
		"organization role labels": {orgRole, with(orgRole, func(r *orgrbacv1alpha1.OrganizationRole) {
			r.Labels = map[string]string{"a": "b"}
		}), noChange},
	} {
		t.Run(name, func(t *testing.T) {
			if got := structureDiffers(tc.old, tc.obj); got != tc.want {
				t.Errorf("structureDiffers = %d, want %d", got, tc.want)
			}
		})
	}
}

// with returns a deep copy of o changed by f.
func with[T interface{ DeepCopy() T }](o T, f func(T)) T {
	c := o.DeepCopy()
	f(c)
	return c
}

// GroupMappings are part of the structure the writes resolve with: a
// mapping's spec changes it, its status does not.
func TestShapeGroupMappingsInTheStructure(t *testing.T) {
	gm := &orgrbacv1alpha1.GroupMapping{ObjectMeta: storetest.ObjMeta("map", 1), Spec: orgrbacv1alpha1.GroupMappingSpec{
		Organization: "acme", Source: orgrbacv1alpha1.GroupSourceSSO, Group: "g", Role: "admin"}}
	changed := gm.DeepCopy()
	changed.Spec.Role = "editor"
	status := gm.DeepCopy()
	status.Status.Conditions = storetest.ReadyCond(true, "Resolved", storetest.T0)
	if got := structureDiffers(gm, changed); got != structureChange {
		t.Errorf("a mapping's new role: %d", got)
	}
	if got := structureDiffers(gm, status); got != noChange {
		t.Errorf("a mapping's new status: %d", got)
	}
	if !slices.ContainsFunc(watched(), func(o client.Object) bool {
		_, ok := o.(*orgrbacv1alpha1.GroupMapping)
		return ok
	}) {
		t.Error("the index does not watch GroupMappings")
	}
	in := storetest.Sample()
	in.GroupMappings = []orgrbacv1alpha1.GroupMapping{*gm}
	st := buildStructure(&in.Objects)
	res := st.env.Resolve(resolve.Membership{Organization: "acme", User: "u", SSOGroups: []string{"g"}})
	if res.Role != "admin" || res.Source != "SSO" {
		t.Errorf("resolved with the mapping: %+v", res)
	}
	if st.objects != 8 {
		t.Errorf("%d objects counted, want 8", st.objects)
	}
}
