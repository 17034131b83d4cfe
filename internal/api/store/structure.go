package store

import (
	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// buildStructure computes the roles and organizations of one namespace. It is
// pure: the roles' orders come from model.Compile, which it keeps (with the
// group mappings) for the writes.
func buildStructure(in *model.Objects) *structure {
	roleObjs := map[string]*orgrbacv1alpha1.Role{}
	orgRoleObjs := map[string]*orgrbacv1alpha1.OrganizationRole{}
	orgObjs := map[string]*orgrbacv1alpha1.Organization{}
	st := &structure{
		envRoleBySlug: map[string]*Role{},
		orgs:          map[string]*Organization{},
		orgIDs:        map[string]*Organization{},
		objects: len(in.Environments) + len(in.Roles) + len(in.Organizations) + len(in.OrganizationRoles) +
			len(in.GroupMappings),
	}
	for i := range in.Environments {
		// The revision is the publisher's: deleting Environments count too.
		st.published = max(st.published, in.Environments[i].Status.Revision)
	}
	for i := range in.Roles {
		if r := &in.Roles[i]; !model.Deleting(r) {
			roleObjs[r.Name] = r
		}
	}
	for i := range in.OrganizationRoles {
		if r := &in.OrganizationRoles[i]; !model.Deleting(r) {
			orgRoleObjs[r.Name] = r
		}
	}
	for i := range in.Organizations {
		if o := &in.Organizations[i]; !model.Deleting(o) {
			orgObjs[o.Name] = o
		}
	}
	env := model.Compile(*in)
	st.env = env

	// One entry per role object, shared between organizations; keyed by type
	// and object name.
	type entryKey struct {
		typ  resolve.RoleType
		name string
	}
	entries := map[entryKey]*Role{}
	entry := func(info resolve.RoleInfo) *Role {
		key := entryKey{info.Type, info.Name}
		if e, ok := entries[key]; ok {
			return e
		}
		e := &Role{name: info.Name, slug: info.Slug, typ: info.Type, permissions: SortedSet(info.Permissions)}
		switch info.Type {
		case resolve.RoleTypeOrganization:
			if o := orgRoleObjs[info.Name]; o != nil {
				e.displayName, e.description = o.Spec.DisplayName, o.Spec.Description
				e.created, e.updated = o.CreationTimestamp.UTC(), updatedAt(o, o.Status.Conditions)
			}
		default:
			if o := roleObjs[info.Name]; o != nil {
				e.displayName, e.description = o.Spec.DisplayName, o.Spec.Description
				e.created, e.updated = o.CreationTimestamp.UTC(), updatedAt(o, o.Status.Conditions)
			}
		}
		entries[key] = e
		return e
	}
	for _, info := range env.Roles() {
		e := entry(info)
		st.envRoles = append(st.envRoles, e)
		st.envRoleBySlug[e.slug] = e
	}

	// The rule of resolve.IndexOrganizations, as the compiled environment (and
	// so the Membership controller) applies it.
	ids := env.OrganizationIDs()
	for _, name := range env.OrganizationNames() {
		if _, dup := ids.Duplicate(name); dup {
			continue
		}
		view, obj := env.Organization(name), orgObjs[name]
		o := &Organization{name: name, id: name, displayName: obj.Spec.DisplayName,
			created: obj.CreationTimestamp.UTC(), updated: updatedAt(obj, obj.Status.Conditions),
			roleBySlug: map[string]*Role{}}
		if obj.Spec.ExternalID != "" {
			o.id = obj.Spec.ExternalID
		}
		// RoleRefs, not Roles: each organization sees every environment role,
		// and copying their permissions for 1,000 organizations cost 33 MB of
		// garbage per role edit; an entry's permissions are read once.
		for ref := range view.RoleRefs() {
			e := entries[entryKey{ref.Type, ref.Name}]
			if e == nil {
				info, _ := view.RoleInfo(ref.Slug)
				e = entry(info)
			}
			o.roles = append(o.roles, e)
			o.roleBySlug[e.slug] = e
		}
		st.orgs[name] = o
		// An organization answers to those of its keys the rule gives it.
		for _, key := range [2]string{name, obj.Spec.ExternalID} {
			if owner, ok := ids.Lookup(key); ok && owner == name {
				st.orgIDs[key] = o
			}
		}
	}
	return st
}

// noStructure is the structure of a namespace without roles or organizations,
// shared (structures are never modified).
var noStructure = buildStructure(&model.Objects{})
