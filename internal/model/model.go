package model

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// Objects are the objects of one namespace the resolver reads. They are only
// read, never modified or kept.
type Objects struct {
	Environments      []orgrbacv1alpha1.Environment
	Roles             []orgrbacv1alpha1.Role
	Organizations     []orgrbacv1alpha1.Organization
	OrganizationRoles []orgrbacv1alpha1.OrganizationRole
	GroupMappings     []orgrbacv1alpha1.GroupMapping
}

// Meta is an object's identity as the resolver orders it (rule R8).
func Meta(o metav1.Object) resolve.Meta {
	return resolve.Meta{Name: o.GetName(), Created: o.GetCreationTimestamp().Time}
}

// Deleting reports whether an object is being deleted: it takes no part in the
// resolution (a role being deleted grants nothing while its finalizer moves its
// holders elsewhere: fail closed).
func Deleting(o metav1.Object) bool { return o.GetDeletionTimestamp() != nil }

// Input is the only conversion of objects to the resolver's input. Objects
// being deleted are left out; an environment Role's slug is its effective
// slug (spec.slug, else its name).
func Input(objs Objects) resolve.Input {
	var in resolve.Input
	for i := range objs.Environments {
		if e := &objs.Environments[i]; !Deleting(e) {
			in.Environments = append(in.Environments, resolve.Environment{Meta: Meta(e),
				DefaultRole: e.Spec.DefaultRole, RolePriority: e.Spec.RolePriority, MultipleRoles: e.Spec.MultipleRoles})
		}
	}
	in.Roles = make([]resolve.Role, 0, len(objs.Roles))
	for i := range objs.Roles {
		if r := &objs.Roles[i]; !Deleting(r) {
			in.Roles = append(in.Roles, resolve.Role{Meta: Meta(r), Slug: r.EffectiveSlug(), Permissions: r.Spec.Permissions})
		}
	}
	for i := range objs.Organizations {
		if o := &objs.Organizations[i]; !Deleting(o) {
			in.Organizations = append(in.Organizations, resolve.Organization{Meta: Meta(o), ExternalID: o.Spec.ExternalID,
				DefaultRole: o.Spec.DefaultRole, RolePriority: o.Spec.RolePriority})
		}
	}
	for i := range objs.OrganizationRoles {
		if r := &objs.OrganizationRoles[i]; !Deleting(r) {
			in.OrganizationRoles = append(in.OrganizationRoles, resolve.OrganizationRole{Meta: Meta(r),
				Organization: r.Spec.Organization, Slug: r.Spec.Slug, Permissions: r.Spec.Permissions})
		}
	}
	for i := range objs.GroupMappings {
		if g := &objs.GroupMappings[i]; !Deleting(g) {
			in.GroupMappings = append(in.GroupMappings, resolve.GroupMapping{Meta: Meta(g),
				Organization: g.Spec.Organization, Source: resolve.Source(g.Spec.Source), Group: g.Spec.Group, Role: g.Spec.Role})
		}
	}
	return in
}

// Compile compiles the objects' environment: the only call of resolve.Compile
// outside its tests.
func Compile(objs Objects) *resolve.Env { return resolve.Compile(Input(objs)) }
