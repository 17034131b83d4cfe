package main

import (
	"fmt"
	"math/rand/v2"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Shape of the synthetic environment. The numbers follow issue 7: 200 roles of 10
// permissions each, one organization per 100 memberships, a few organization roles
// and group mappings per organization.
const (
	numRoles        = 200
	permsPerRole    = 10
	membersPerOrg   = 100
	fanOutTarget    = 10000 // memberships given the fan-out role (all of them below 10k)
	fanOutRole      = "staff"
	benchNamespace  = "bench"
	environmentName = "bench"
)

// Permission pool: resource × action, e.g. "res07:read".
var (
	permResources = 40
	permActions   = []string{"read", "list", "create", "update", "delete", "export", "import", "share", "approve", "audit"}
)

// Groups of every organization. The "all" groups are mapped to the fan-out role
// only in fan-out organizations; the "unmapped" ones are never mapped.
const (
	groupDirEng      = "dir-eng"
	groupDirOps      = "dir-ops"
	groupDirAll      = "dir-all"
	groupDirUnmapped = "dir-contractors"
	groupSSOSales    = "sso-sales"
	groupSSOAll      = "sso-all"
	groupSSOUnmapped = "sso-guests"
)

// expectation is what the operator must resolve a membership to.
type expectation struct {
	// Source is the expected status.source.
	Source orgrbacv1alpha1.RoleSource
	// FanOut is true when the membership holds the fan-out role and is active,
	// so that a change of that role's permissions changes its status.
	FanOut bool
}

// world is a generated environment: every object to create, in creation order, and
// the expected resolution of every membership.
type world struct {
	Namespace         string
	Environment       *orgrbacv1alpha1.Environment
	Permissions       []*orgrbacv1alpha1.Permission
	Roles             []*orgrbacv1alpha1.Role
	Organizations     []*orgrbacv1alpha1.Organization
	OrganizationRoles []*orgrbacv1alpha1.OrganizationRole
	GroupMappings     []*orgrbacv1alpha1.GroupMapping
	Memberships       []*orgrbacv1alpha1.Membership
	// Expected is keyed by membership name.
	Expected map[string]expectation
}

// sourceCounts returns how many memberships expect each source.
func (w *world) sourceCounts() map[orgrbacv1alpha1.RoleSource]int {
	out := map[orgrbacv1alpha1.RoleSource]int{}
	for _, e := range w.Expected {
		out[e.Source]++
	}
	return out
}

// fanOutNames returns the sorted names of the memberships the fan-out changes.
func (w *world) fanOutNames() []string {
	var names []string
	for name, e := range w.Expected {
		if e.FanOut {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// membershipNames returns every membership name, sorted.
func (w *world) membershipNames() []string {
	names := make([]string, 0, len(w.Memberships))
	for _, m := range w.Memberships {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// numOrganizations is the organization count for n memberships.
func numOrganizations(n int) int { return max(1, n/membersPerOrg) }

// numFanOutOrganizations is how many organizations (the first ones) give the
// fan-out role to their members: enough for about fanOutTarget memberships.
func numFanOutOrganizations(n int) int {
	orgs := numOrganizations(n)
	if n <= fanOutTarget {
		return orgs
	}
	return max(1, orgs*fanOutTarget/n)
}

func permissionSlug(i int) string {
	return fmt.Sprintf("res%02d:%s", i/len(permActions), permActions[i%len(permActions)])
}

// generate builds the environment for n memberships from seed. The same (n, seed)
// always gives the same world.
func generate(n int, seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 0x6f7267726261630a))
	ns := benchNamespace
	w := &world{Namespace: ns, Expected: make(map[string]expectation, n)}
	om := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

	numPerms := permResources * len(permActions)
	for i := range numPerms {
		slug := permissionSlug(i)
		w.Permissions = append(w.Permissions, &orgrbacv1alpha1.Permission{
			ObjectMeta: om(fmt.Sprintf("perm-%03d", i)),
			Spec:       orgrbacv1alpha1.PermissionSpec{Slug: slug, DisplayName: slug},
		})
	}
	samplePerms := func() []string {
		idx := rng.Perm(numPerms)[:permsPerRole]
		out := make([]string, 0, permsPerRole)
		for _, i := range idx {
			out = append(out, permissionSlug(i))
		}
		slices.Sort(out)
		return out
	}

	// Roles: member (the environment default), the fan-out role, and role-002..199.
	roleSlugs := []string{orgrbacv1alpha1.DefaultRoleSlug, fanOutRole}
	for i := 2; i < numRoles; i++ {
		roleSlugs = append(roleSlugs, fmt.Sprintf("role-%03d", i))
	}
	for _, slug := range roleSlugs {
		w.Roles = append(w.Roles, &orgrbacv1alpha1.Role{
			ObjectMeta: om(slug),
			Spec:       orgrbacv1alpha1.RoleSpec{Slug: slug, DisplayName: slug, Permissions: samplePerms()},
		})
	}
	otherRoles := roleSlugs[2:] // neither the default nor the fan-out role
	pickRole := func() string { return otherRoles[rng.IntN(len(otherRoles))] }

	w.Environment = &orgrbacv1alpha1.Environment{
		ObjectMeta: om(environmentName),
		Spec: orgrbacv1alpha1.EnvironmentSpec{
			DefaultRole:   orgrbacv1alpha1.DefaultRoleSlug,
			RolePriority:  []string{"role-002", "role-003", "role-004"},
			MultipleRoles: true,
		},
	}

	orgs := numOrganizations(n)
	fanOutOrgs := numFanOutOrganizations(n)
	next := 0 // membership index
	for o := range orgs {
		orgName := fmt.Sprintf("org-%05d", o)
		fan := o < fanOutOrgs
		org := &orgrbacv1alpha1.Organization{
			ObjectMeta: om(orgName),
			Spec: orgrbacv1alpha1.OrganizationSpec{
				DisplayName: fmt.Sprintf("Organization %d", o),
				ExternalID:  fmt.Sprintf("org_bench%05d", o),
			},
		}
		if fan {
			org.Spec.DefaultRole = fanOutRole
		}
		if rng.IntN(2) == 0 {
			org.Spec.RolePriority = []string{"org-admin"}
		}
		w.Organizations = append(w.Organizations, org)

		orgRoles := []string{"org-admin", "org-billing"}
		if rng.IntN(2) == 0 {
			orgRoles = append(orgRoles, "org-auditor")
		}
		for _, slug := range orgRoles {
			w.OrganizationRoles = append(w.OrganizationRoles, &orgrbacv1alpha1.OrganizationRole{
				ObjectMeta: om(orgName + "-" + slug),
				Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: orgName, Slug: slug,
					DisplayName: slug, Permissions: samplePerms()},
			})
		}

		mapping := func(src orgrbacv1alpha1.GroupSource, group, role string) {
			w.GroupMappings = append(w.GroupMappings, &orgrbacv1alpha1.GroupMapping{
				ObjectMeta: om(orgName + "-" + group),
				Spec:       orgrbacv1alpha1.GroupMappingSpec{Organization: orgName, Source: src, Group: group, Role: role},
			})
		}
		mapping(orgrbacv1alpha1.GroupSourceDirectory, groupDirEng, pickRole())
		mapping(orgrbacv1alpha1.GroupSourceDirectory, groupDirOps, "org-admin")
		mapping(orgrbacv1alpha1.GroupSourceSSO, groupSSOSales, pickRole())
		if fan {
			mapping(orgrbacv1alpha1.GroupSourceDirectory, groupDirAll, fanOutRole)
			mapping(orgrbacv1alpha1.GroupSourceSSO, groupSSOAll, fanOutRole)
		}

		count := n / orgs
		if o < n%orgs {
			count++
		}
		for range count {
			m, exp := generateMembership(rng, om(fmt.Sprintf("m-%06d", next)), orgName, next, fan, pickRole)
			w.Memberships = append(w.Memberships, m)
			w.Expected[m.Name] = exp
			next++
		}
	}
	return w
}

// generateMembership draws one membership of org: 40% directory, 25% SSO, 20%
// manual, 15% default, each with distractors from the sources it must beat or
// from unmapped groups; 2% inactive and 1% pending.
func generateMembership(rng *rand.Rand, meta metav1.ObjectMeta, org string, i int, fan bool,
	pickRole func() string) (*orgrbacv1alpha1.Membership, expectation) {
	m := &orgrbacv1alpha1.Membership{
		ObjectMeta: meta,
		Spec: orgrbacv1alpha1.MembershipSpec{
			Organization: org,
			User:         fmt.Sprintf("user_%06d", i),
			Email:        fmt.Sprintf("user%06d@example.com", i),
			State:        orgrbacv1alpha1.MembershipActive,
		},
	}
	s := &m.Spec
	var exp expectation
	switch p := rng.Float64(); {
	case p < 0.40:
		exp.Source = orgrbacv1alpha1.SourceDirectory
		s.DirectoryGroups = []string{groupDirAll, []string{groupDirEng, groupDirOps}[rng.IntN(2)]}
		if rng.IntN(10) < 3 { // directory beats SSO
			s.SSOGroups = []string{groupSSOAll, groupSSOSales}
		}
		if rng.IntN(10) == 0 { // and a hand assignment
			s.Roles = []string{pickRole()}
		}
	case p < 0.65:
		exp.Source = orgrbacv1alpha1.SourceSSO
		s.SSOGroups = []string{groupSSOAll, groupSSOSales}
		if rng.IntN(10) < 3 { // SSO beats a hand assignment
			s.Roles = []string{pickRole()}
		}
		if rng.IntN(10) < 2 { // an unmapped directory group counts for nothing
			s.DirectoryGroups = []string{groupDirUnmapped}
		}
	case p < 0.85:
		exp.Source = orgrbacv1alpha1.SourceManual
		s.Roles = []string{pickRole()}
		if rng.IntN(10) < 2 {
			s.Roles = append(s.Roles, "org-billing")
		}
		if fan {
			s.Roles = append(s.Roles, fanOutRole)
		}
	default:
		exp.Source = orgrbacv1alpha1.SourceDefault
		if rng.IntN(10) == 0 {
			s.DirectoryGroups = []string{groupDirUnmapped}
			s.SSOGroups = []string{groupSSOUnmapped}
		}
	}
	switch rng.IntN(100) {
	case 0, 1:
		s.State = orgrbacv1alpha1.MembershipInactive
	case 2:
		s.State = orgrbacv1alpha1.MembershipPending
	}
	exp.FanOut = fan && s.State == orgrbacv1alpha1.MembershipActive
	return m, exp
}
