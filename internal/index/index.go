// Package index defines the cache field indexes the controllers query, each as a
// constant key and a pure, tested extract function, and registers them.
package index

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Field index keys. Values are exact-match strings; the cache scopes each lookup to
// the namespace of the query.
const (
	// MembershipByOrganization indexes Memberships by spec.organization.
	MembershipByOrganization = "membership.organization"
	// MembershipByOrgUser indexes Memberships by OrgUserKey(organization, user), to find duplicates.
	MembershipByOrgUser = "membership.orgUser"
	// MembershipByRoleRef indexes Memberships by every role slug they name in
	// spec.roles or hold in status.roles.
	MembershipByRoleRef = "membership.roleRef"
	// MembershipByGroup indexes Memberships by GroupKey for each directory and SSO group.
	MembershipByGroup = "membership.group"
	// MembershipByResolution indexes Memberships by their resolved source, or
	// NotResolved: those that may start or stop using a default role.
	MembershipByResolution = "membership.resolution"

	// OrganizationRoleByOrganization indexes OrganizationRoles by spec.organization.
	OrganizationRoleByOrganization = "organizationRole.organization"
	// GroupMappingByOrganization indexes GroupMappings by spec.organization.
	GroupMappingByOrganization = "groupMapping.organization"
	// GroupMappingByRole indexes GroupMappings by spec.role.
	GroupMappingByRole = "groupMapping.role"
	// RoleBySlug indexes Roles by their effective slug.
	RoleBySlug = "role.slug"
	// OrganizationByRoleRef indexes Organizations by the slugs their defaultRole
	// and rolePriority name.
	OrganizationByRoleRef = "organization.roleRef"
	// OrganizationByID indexes Organizations by the ids callers may name them
	// by: metadata.name and spec.externalID (one key space, see
	// resolve.IndexOrganizations), to find collisions.
	OrganizationByID = "organization.id"
)

// NotResolved is the MembershipByResolution value of memberships that have no
// effective role source (not Ready).
const NotResolved = "NotResolved"

// OrgUserKey is the MembershipByOrgUser value of an (organization, user) pair.
func OrgUserKey(organization, user string) string { return organization + "\x00" + user }

// GroupKey is the MembershipByGroup value of a group of one organization and source.
func GroupKey(organization string, source orgrbacv1alpha1.GroupSource, group string) string {
	return strings.Join([]string{organization, string(source), group}, "\x00")
}

// MembershipOrganization extracts MembershipByOrganization.
func MembershipOrganization(m *orgrbacv1alpha1.Membership) []string {
	return []string{m.Spec.Organization}
}

// MembershipOrgUser extracts MembershipByOrgUser.
func MembershipOrgUser(m *orgrbacv1alpha1.Membership) []string {
	return []string{OrgUserKey(m.Spec.Organization, m.Spec.User)}
}

// MembershipRoleRefs extracts MembershipByRoleRef.
func MembershipRoleRefs(m *orgrbacv1alpha1.Membership) []string {
	return union(m.Spec.Roles, m.Status.Roles)
}

// MembershipGroups extracts MembershipByGroup.
func MembershipGroups(m *orgrbacv1alpha1.Membership) []string {
	out := make([]string, 0, len(m.Spec.DirectoryGroups)+len(m.Spec.SSOGroups))
	for _, g := range m.Spec.DirectoryGroups {
		out = append(out, GroupKey(m.Spec.Organization, orgrbacv1alpha1.GroupSourceDirectory, g))
	}
	for _, g := range m.Spec.SSOGroups {
		out = append(out, GroupKey(m.Spec.Organization, orgrbacv1alpha1.GroupSourceSSO, g))
	}
	return dedupe(out)
}

// MembershipResolution extracts MembershipByResolution.
func MembershipResolution(m *orgrbacv1alpha1.Membership) []string {
	if m.Status.Source == "" {
		return []string{NotResolved}
	}
	return []string{string(m.Status.Source)}
}

// MembershipValues are the extract functions of the Membership indexes, by
// index key: what a lookup by one index filters on the values of another with.
var MembershipValues = map[string]func(*orgrbacv1alpha1.Membership) []string{
	MembershipByOrganization: MembershipOrganization,
	MembershipByOrgUser:      MembershipOrgUser,
	MembershipByRoleRef:      MembershipRoleRefs,
	MembershipByGroup:        MembershipGroups,
	MembershipByResolution:   MembershipResolution,
}

// OrganizationRoleOrganization extracts OrganizationRoleByOrganization.
func OrganizationRoleOrganization(r *orgrbacv1alpha1.OrganizationRole) []string {
	return []string{r.Spec.Organization}
}

// GroupMappingOrganization extracts GroupMappingByOrganization.
func GroupMappingOrganization(g *orgrbacv1alpha1.GroupMapping) []string {
	return []string{g.Spec.Organization}
}

// GroupMappingRole extracts GroupMappingByRole.
func GroupMappingRole(g *orgrbacv1alpha1.GroupMapping) []string { return []string{g.Spec.Role} }

// RoleSlug extracts RoleBySlug.
func RoleSlug(r *orgrbacv1alpha1.Role) []string { return []string{r.EffectiveSlug()} }

// OrganizationRoleRefs extracts OrganizationByRoleRef.
func OrganizationRoleRefs(o *orgrbacv1alpha1.Organization) []string {
	var def []string
	if o.Spec.DefaultRole != "" {
		def = []string{o.Spec.DefaultRole}
	}
	return union(def, o.Spec.RolePriority)
}

// OrganizationIDs extracts OrganizationByID.
func OrganizationIDs(o *orgrbacv1alpha1.Organization) []string {
	if o.Spec.ExternalID == "" || o.Spec.ExternalID == o.Name {
		return []string{o.Name}
	}
	return []string{o.Name, o.Spec.ExternalID}
}

// typed adapts a typed extract function to client.IndexerFunc.
func typed[T client.Object](f func(T) []string) client.IndexerFunc {
	return func(o client.Object) []string {
		t, ok := o.(T)
		if !ok {
			return nil
		}
		return f(t)
	}
}

// Setup registers every index with the manager's field indexer: the Membership
// indexes of MembershipValues and the others.
//
// When indexer is a controller-runtime cache (mgr.GetFieldIndexer() is), the
// Membership indexes are added to the Membership informer directly, keyed by
// namespace only (membershipIndexers); otherwise, and for every other kind,
// through IndexField.
func Setup(ctx context.Context, indexer client.FieldIndexer) error {
	if err := setupMemberships(ctx, indexer); err != nil {
		return err
	}
	for _, ix := range []struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}{
		{&orgrbacv1alpha1.OrganizationRole{}, OrganizationRoleByOrganization, typed(OrganizationRoleOrganization)},
		{&orgrbacv1alpha1.GroupMapping{}, GroupMappingByOrganization, typed(GroupMappingOrganization)},
		{&orgrbacv1alpha1.GroupMapping{}, GroupMappingByRole, typed(GroupMappingRole)},
		{&orgrbacv1alpha1.Role{}, RoleBySlug, typed(RoleSlug)},
		{&orgrbacv1alpha1.Organization{}, OrganizationByRoleRef, typed(OrganizationRoleRefs)},
		{&orgrbacv1alpha1.Organization{}, OrganizationByID, typed(OrganizationIDs)},
	} {
		if err := indexer.IndexField(ctx, ix.obj, ix.field, ix.fn); err != nil {
			return fmt.Errorf("registering index %s: %w", ix.field, err)
		}
	}
	return nil
}

// setupMemberships registers the indexes of MembershipValues.
//
// controller-runtime's IndexField keeps every value of a namespaced object
// twice: under its namespace, and under a key for lookups across all
// namespaces. Every Membership lookup names its namespace
// (client.InNamespace), so the second copy was never read, yet it was half of
// the indexes' memory: about 1.1 KB per membership of test/bench's shape with
// both copies, 0.54 KB without (BenchmarkMembershipIndexes), as a membership
// has a unique orgUser value and several group and role values. These indexes
// keep the namespaced key alone.
//
// A consequence: a Membership List by one of these fields without
// client.InNamespace (or with InNamespace("")) finds nothing, and no error
// says so. Name the namespace.
func setupMemberships(ctx context.Context, indexer client.FieldIndexer) error {
	fields := slices.Sorted(maps.Keys(MembershipValues))
	informers, ok := indexer.(cache.Informers)
	if !ok { // a fake client or another indexer: whatever keys it keeps, it reads
		for _, field := range fields {
			if err := indexer.IndexField(ctx, &orgrbacv1alpha1.Membership{}, field, typed(MembershipValues[field])); err != nil {
				return fmt.Errorf("registering index %s: %w", field, err)
			}
		}
		return nil
	}
	inf, err := informers.GetInformer(ctx, &orgrbacv1alpha1.Membership{}, cache.BlockUntilSynced(false))
	if err != nil {
		return fmt.Errorf("getting the membership informer to index: %w", err)
	}
	if err := inf.AddIndexers(membershipIndexers()); err != nil {
		return fmt.Errorf("registering the membership indexes %q: %w", fields, err)
	}
	return nil
}

// The formats of controller-runtime's cache reader
// (sigs.k8s.io/controller-runtime/pkg/cache/internal/cache_reader.go,
// FieldIndexName and KeyToNamespacedKey): a List with
// client.MatchingFields{field: value} and client.InNamespace(ns) reads the
// informer's index fieldIndexPrefix+field at key ns+namespaceSeparator+value.
// They mirror unexported code, so TestFormatsMatchControllerRuntime checks them
// against controller-runtime itself.
const (
	fieldIndexPrefix   = "field:"
	namespaceSeparator = "/"
)

// fieldIndexName is the name of field's index in the informer.
func fieldIndexName(field string) string { return fieldIndexPrefix + field }

// namespacedKey is the key of value in namespace ns.
func namespacedKey(ns, value string) string { return ns + namespaceSeparator + value }

// membershipIndexers are the indexes of MembershipValues as informer indexers
// with namespaced keys alone.
func membershipIndexers() toolscache.Indexers {
	out := make(toolscache.Indexers, len(MembershipValues))
	for field, extract := range MembershipValues {
		out[fieldIndexName(field)] = namespacedIndexFunc(extract)
	}
	return out
}

// namespacedIndexFunc adapts extract to an informer IndexFunc returning, for
// each value, its key in the membership's namespace. Memberships are always
// namespaced; an object that is not a Membership, or has no namespace, is an
// error (which client-go's indexer turns into a panic: the Membership informer
// holds nothing else).
func namespacedIndexFunc(extract func(*orgrbacv1alpha1.Membership) []string) toolscache.IndexFunc {
	return func(obj any) ([]string, error) {
		m, ok := obj.(*orgrbacv1alpha1.Membership)
		if !ok || m == nil {
			return nil, fmt.Errorf("indexing memberships: got a %T", obj)
		}
		if m.Namespace == "" {
			return nil, fmt.Errorf("indexing membership %q: it has no namespace", m.Name)
		}
		values := extract(m)
		if len(values) == 0 {
			return nil, nil
		}
		keys := make([]string, len(values))
		for i, v := range values {
			keys[i] = namespacedKey(m.Namespace, v)
		}
		return keys, nil
	}
}

func union(a, b []string) []string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	return dedupe(out)
}

// dedupe sorts and removes duplicates in place.
func dedupe(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}
