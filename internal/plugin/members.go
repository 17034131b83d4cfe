package plugin

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// organizationMembers counts the memberships of one organization. Granting,
// Inactive, Pending and NotReady split Total: each membership is in exactly one.
type organizationMembers struct {
	Name       string `json:"name"`
	ExternalID string `json:"externalID,omitempty"`
	// Missing is true when no Organization (not being deleted) has the name:
	// its memberships are Ready=False, OrganizationNotFound.
	Missing bool `json:"missing,omitempty"`
	// Total is every membership of the organization, whatever its state
	// (formerly Organization.status.memberCount).
	Total int `json:"total"`
	// Granting are Active and Ready: they get their roles' permissions.
	Granting int `json:"granting"`
	// Inactive and Pending are in that spec.state (any other state than
	// Active and Pending counts as Inactive): they keep their roles but get no
	// permissions.
	Inactive int `json:"inactive"`
	Pending  int `json:"pending"`
	// NotReady are Active but not Ready (Ready=False, or not resolved yet):
	// kubectl orgrbac status lists them with the reason.
	NotReady int `json:"notReady"`
}

// roleMembers counts the memberships holding one role among their effective
// roles (status.roles).
type roleMembers struct {
	// Kind is Role (an environment role) or OrganizationRole.
	Kind string `json:"kind"`
	// Name is the role object's name; empty when no role visible to the
	// memberships has the slug any more (their status predates its deletion).
	Name string `json:"name,omitempty"`
	// Organization is an OrganizationRole's organization.
	Organization string `json:"organization,omitempty"`
	Slug         string `json:"slug"`
	// Members hold the role (formerly Role.status.memberCount and
	// OrganizationRole.status.memberCount), whatever their state.
	Members int `json:"members"`
	// Granting are those of them that are Active and Ready.
	Granting int `json:"granting"`
}

// groupMappingMembers counts the memberships a GroupMapping matches.
type groupMappingMembers struct {
	Name         string `json:"name"`
	Organization string `json:"organization"`
	Source       string `json:"source"`
	Group        string `json:"group"`
	Role         string `json:"role"`
	// Matched are the organization's memberships in the group for the
	// mapping's source (spec.directoryGroups or spec.ssoGroups), whatever their
	// state (formerly GroupMapping.status.matchedMemberships).
	Matched int `json:"matched"`
	// Assigned are those of them holding the mapping's role through it
	// (status.assignments: that role, source and group); fewer than Matched
	// when a higher-priority source or role wins.
	Assigned int `json:"assigned"`
}

// environmentMembers is members's answer for one environment.
type environmentMembers struct {
	Namespace string `json:"namespace"`
	// Organization is the organization --organization restricted the counts to.
	Organization  string                `json:"organization,omitempty"`
	Organizations []organizationMembers `json:"organizations"`
	Roles         []roleMembers         `json:"roles"`
	GroupMappings []groupMappingMembers `json:"groupMappings"`
	// Resolving counts the memberships counted above whose status was not
	// computed for their latest generation yet: the counts may still change.
	Resolving int `json:"resolving"`
}

// membersReport is members's answer.
type membersReport struct {
	Environments []environmentMembers `json:"environments"`
}

func (o *options) membersCommand() *cobra.Command {
	var all bool
	var organization string
	cmd := &cobra.Command{
		Use:   "members",
		Short: "Count the memberships by organization, by role held and by group mapping",
		Long: `members counts the Memberships of an environment (the namespace in effect, or every
namespace holding orgrbac objects with -A):

  - by organization: all of them, and how many are Active and Ready (they get
    their permissions), Inactive, Pending, or Active but not Ready;
  - by role: for each environment Role and each OrganizationRole, how many
    memberships hold it among their effective roles (status.roles), and how many
    of those are Active and Ready;
  - by group mapping: how many of the organization's memberships are in the
    mapping's Directory or SSO group, and how many hold its role through it.

These counts replace the status fields Role.status.memberCount,
Organization.status.memberCount, OrganizationRole.status.memberCount and
GroupMapping.status.matchedMemberships, which the operator no longer writes. They
are computed from the memberships' status at the time of the call, not kept
anywhere: a membership the operator has not resolved yet counts with the roles
its status had (the output says how many there are). Memberships being deleted
are left out. Duplicate roles (kubectl orgrbac status lists them) hold nobody.`,
		Example: `  kubectl orgrbac members -n videos
  kubectl orgrbac members -n videos --organization acme -o yaml
  kubectl orgrbac members -A -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			namespaces, err := covered(ctx, c, ns, all)
			if err != nil {
				return err
			}
			rep := membersReport{Environments: []environmentMembers{}}
			for _, ns := range namespaces {
				objs, err := load(ctx, c, ns, resolutionKinds)
				if err != nil {
					return err
				}
				counts, found := countMembers(objs, organization)
				if !found {
					// With -A, the namespaces without the organization are left out.
					if !all {
						return fmt.Errorf("no organization %q in namespace %q", organization, ns)
					}
					continue
				}
				rep.Environments = append(rep.Environments, counts)
			}
			if all && organization != "" && len(rep.Environments) == 0 {
				return fmt.Errorf("no organization %q in any namespace", organization)
			}
			if done, err := o.structured(rep); done || err != nil {
				return err
			}
			o.printMembers(rep)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Every namespace that holds orgrbac objects")
	cmd.Flags().StringVar(&organization, "organization", "",
		"Count only the memberships, roles and group mappings of this organization (its name or externalID)")
	o.addOutputFlag(cmd)
	return cmd
}

// countMembers counts the memberships of objs by organization, by role held and
// by group mapping; with organization (a name or externalID) set, only that
// organization's. found is false when organization is set and names neither
// an Organization nor the organization of a membership.
func countMembers(objs *objects, organization string) (counts environmentMembers, found bool) {
	env := objs.compile()
	counts = environmentMembers{Namespace: objs.namespace, Organizations: []organizationMembers{},
		Roles: []roleMembers{}, GroupMappings: []groupMappingMembers{}}
	org := ""
	if organization != "" {
		if org, found = organizationName(objs, organization); !found {
			return counts, false
		}
		counts.Organization = org
	}
	in := func(name string) bool { return org == "" || name == org }

	// Organizations: every Organization, and the organizations memberships name
	// that have none.
	orgs := map[string]*organizationMembers{}
	for i := range objs.organizations {
		if g := &objs.organizations[i]; !deleting(g) && in(g.Name) {
			orgs[g.Name] = &organizationMembers{Name: g.Name, ExternalID: g.Spec.ExternalID}
		}
	}

	// Roles: the winning environment Roles and the OrganizationRoles visible to
	// their organization, as compiled; a slug held that names neither gets a
	// row without a name.
	type roleKey struct{ org, slug string }
	roles := map[roleKey]*roleMembers{}
	for _, r := range env.Roles() {
		roles[roleKey{"", r.Slug}] = &roleMembers{Kind: "Role", Name: r.Name, Slug: r.Slug}
	}
	for _, name := range env.OrganizationNames() {
		if !in(name) {
			continue
		}
		for r := range env.Organization(name).RoleRefs() {
			if r.Type == resolve.RoleTypeOrganization {
				roles[roleKey{name, r.Slug}] = &roleMembers{Kind: "OrganizationRole", Name: r.Name, Organization: name, Slug: r.Slug}
			}
		}
	}
	held := func(m *orgrbacv1alpha1.Membership, slug string) *roleMembers {
		if r := roles[roleKey{m.Spec.Organization, slug}]; r != nil {
			return r
		}
		if r := roles[roleKey{"", slug}]; r != nil {
			return r
		}
		// No role has the slug: an organization role's slug by its prefix, else
		// an environment role's.
		key, row := roleKey{"", slug}, roleMembers{Kind: "Role", Slug: slug}
		if strings.HasPrefix(slug, "org-") || strings.HasPrefix(slug, "org_") {
			key, row = roleKey{m.Spec.Organization, slug}, roleMembers{Kind: "OrganizationRole", Organization: m.Spec.Organization, Slug: slug}
		}
		roles[key] = &row
		return &row
	}

	// Group mappings, by the group they match.
	type groupKey struct {
		org    string
		source orgrbacv1alpha1.GroupSource
		group  string
	}
	mappings := map[groupKey][]*groupMappingMembers{}
	for i := range objs.groupMappings {
		g := &objs.groupMappings[i]
		if deleting(g) || !in(g.Spec.Organization) {
			continue
		}
		k := groupKey{g.Spec.Organization, g.Spec.Source, g.Spec.Group}
		mappings[k] = append(mappings[k], &groupMappingMembers{Name: g.Name, Organization: g.Spec.Organization,
			Source: string(g.Spec.Source), Group: g.Spec.Group, Role: g.Spec.Role})
	}
	matchGroups := func(m *orgrbacv1alpha1.Membership, source orgrbacv1alpha1.GroupSource, groups []string) {
		for _, group := range slices.Compact(slices.Sorted(slices.Values(groups))) {
			for _, gm := range mappings[groupKey{m.Spec.Organization, source, group}] {
				gm.Matched++
				if slices.ContainsFunc(m.Status.Assignments, func(a orgrbacv1alpha1.RoleAssignment) bool {
					return a.Role == gm.Role && string(a.Source) == gm.Source && a.Group == gm.Group
				}) {
					gm.Assigned++
				}
			}
		}
	}

	for i := range objs.memberships {
		m := &objs.memberships[i]
		if deleting(m) || !in(m.Spec.Organization) {
			continue
		}
		r := resolved(m)
		g := orgs[m.Spec.Organization]
		if g == nil {
			g = &organizationMembers{Name: m.Spec.Organization, Missing: true}
			orgs[m.Spec.Organization] = g
		}
		g.Total++
		switch {
		case r.Grants():
			g.Granting++
		case m.Spec.State == orgrbacv1alpha1.MembershipPending:
			g.Pending++
		case !r.State.IsActive():
			g.Inactive++
		default:
			g.NotReady++
		}
		if c := condition(m.Status.Conditions, orgrbacv1alpha1.ConditionReady); c == nil || m.Status.ObservedGeneration < m.Generation {
			counts.Resolving++
		}
		for _, slug := range slices.Compact(slices.Sorted(slices.Values(m.Status.Roles))) {
			row := held(m, slug)
			row.Members++
			if r.Grants() {
				row.Granting++
			}
		}
		matchGroups(m, orgrbacv1alpha1.GroupSourceDirectory, m.Spec.DirectoryGroups)
		matchGroups(m, orgrbacv1alpha1.GroupSourceSSO, m.Spec.SSOGroups)
	}

	for _, g := range orgs {
		counts.Organizations = append(counts.Organizations, *g)
	}
	slices.SortFunc(counts.Organizations, func(a, b organizationMembers) int { return strings.Compare(a.Name, b.Name) })
	for _, r := range roles {
		counts.Roles = append(counts.Roles, *r)
	}
	// Environment Roles first, then OrganizationRoles by organization; by name,
	// then slug (the slugs no role has first).
	orgRole := func(r roleMembers) bool { return r.Kind != "Role" } // false sorts first
	slices.SortFunc(counts.Roles, func(a, b roleMembers) int {
		return cmp.Or(compareBool(orgRole(a), orgRole(b)), strings.Compare(a.Organization, b.Organization),
			strings.Compare(a.Name, b.Name), strings.Compare(a.Slug, b.Slug))
	})
	for _, gms := range mappings {
		for _, gm := range gms {
			counts.GroupMappings = append(counts.GroupMappings, *gm)
		}
	}
	slices.SortFunc(counts.GroupMappings, func(a, b groupMappingMembers) int { return strings.Compare(a.Name, b.Name) })
	return counts, true
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// organizationName is the name of the organization key names: the organization
// it is the name or externalID of, by the decision API's rule
// (resolve.IndexOrganizations), else an Organization or the organization of a
// membership with that name (a duplicate organization, which answers to no
// id, or a missing one).
func organizationName(objs *objects, key string) (string, bool) {
	var refs []resolve.OrganizationRef
	for i := range objs.organizations {
		if g := &objs.organizations[i]; !deleting(g) {
			refs = append(refs, resolve.OrganizationRef{Meta: metaOf(g), ExternalID: g.Spec.ExternalID})
		}
	}
	if name, ok := resolve.IndexOrganizations(refs).Lookup(key); ok {
		return name, true
	}
	for i := range objs.organizations {
		if g := &objs.organizations[i]; !deleting(g) && g.Name == key {
			return key, true
		}
	}
	for i := range objs.memberships {
		if m := &objs.memberships[i]; !deleting(m) && m.Spec.Organization == key {
			return key, true
		}
	}
	return "", false
}

func (o *options) printMembers(rep membersReport) {
	if len(rep.Environments) == 0 {
		o.printf("No orgrbac objects found.\n")
		return
	}
	for i, e := range rep.Environments {
		if i > 0 {
			o.printf("\n")
		}
		if e.Organization != "" {
			o.printf("Namespace %s, organization %s\n", e.Namespace, e.Organization)
		} else {
			o.printf("Namespace %s\n", e.Namespace)
		}

		o.section("Memberships by organization", "ORGANIZATION\tEXTERNAL ID\tTOTAL\tGRANTING\tINACTIVE\tPENDING\tNOT READY",
			len(e.Organizations), func(w io.Writer) {
				for _, g := range e.Organizations {
					id := dash(g.ExternalID)
					if g.Missing {
						id = "(no Organization)"
					}
					_, _ = fmt.Fprintf(w, "    %s\t%s\t%d\t%d\t%d\t%d\t%d\n", g.Name, id, g.Total, g.Granting, g.Inactive, g.Pending, g.NotReady)
				}
			})
		o.section("Memberships by role held (status.roles)", "ROLE\tORGANIZATION\tSLUG\tMEMBERS\tGRANTING",
			len(e.Roles), func(w io.Writer) {
				for _, r := range e.Roles {
					name := r.Kind + "/" + r.Name
					if r.Name == "" {
						name = r.Kind + " (none has this slug)"
					}
					_, _ = fmt.Fprintf(w, "    %s\t%s\t%s\t%d\t%d\n", name, dash(r.Organization), r.Slug, r.Members, r.Granting)
				}
			})
		o.section("Memberships by group mapping", "GROUP MAPPING\tORGANIZATION\tSOURCE\tGROUP\tROLE\tMATCHED\tASSIGNED",
			len(e.GroupMappings), func(w io.Writer) {
				for _, g := range e.GroupMappings {
					_, _ = fmt.Fprintf(w, "    %s\t%s\t%s\t%s\t%s\t%d\t%d\n", g.Name, g.Organization, g.Source, g.Group, g.Role, g.Matched, g.Assigned)
				}
			})
		if e.Resolving > 0 {
			o.printf("  %d of these memberships are not resolved for their latest generation yet: the counts may change.\n", e.Resolving)
		}
	}
}

// section prints a titled table of n rows, indented under a namespace, or
// "none"; rows writes the rows.
func (o *options) section(title, header string, n int, rows func(w io.Writer)) {
	o.printf("  %s:\n", title)
	if n == 0 {
		o.printf("    none\n")
		return
	}
	w := o.table()
	_, _ = fmt.Fprintln(w, "    "+header)
	rows(w)
	_ = w.Flush()
}
