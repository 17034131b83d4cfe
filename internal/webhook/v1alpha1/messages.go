package v1alpha1

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// The texts of denials and warnings, built by pure functions from what the
// validators found.

// unknown returns the entries of slugs that known does not hold, sorted and
// without duplicates.
func unknown(slugs []string, known map[string]bool) []string {
	var out []string
	for _, s := range slugs {
		if s != "" && !known[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// quoteList renders items as `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	default:
		return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
	}
}

// plural renders n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// unknownRolesWarning warns that a field names slugs that are no role visible to
// the organization (org is empty for environment-level fields).
func unknownRolesWarning(field, org string, slugs []string) string {
	where := "no Role of this environment"
	if org != "" {
		where = fmt.Sprintf("neither a Role nor an OrganizationRole of organization %q", org)
	}
	return fmt.Sprintf("%s names %s, which is %s (yet): ignored until such a role exists",
		field, quoteList(slugs), where)
}

// unknownOrganizationWarning warns that the named organization does not exist.
func unknownOrganizationWarning(kind, org string) string {
	return fmt.Sprintf("organization %q does not exist (yet): this %s grants nothing until it does", org, kind)
}

// organizationIDDenial explains why an Organization is denied: its field
// ("name" or "externalID") is key, which organization other already holds as
// its otherField. Names and externalIDs are one key space (resolve.IndexOrganizations).
func organizationIDDenial(field, key, other, otherField string) string {
	fix := "choose another externalID"
	if field == resolve.FieldName {
		fix = "choose another name"
	}
	return fmt.Sprintf("%s %q is already the %s of organization %q: callers name an organization by its name or its externalID, so each must name one organization in the environment; %s",
		orgField(field), key, otherField, other, fix)
}

// orgField is the path of an organization's id field.
func orgField(field string) string {
	if field == resolve.FieldName {
		return "metadata.name"
	}
	return "spec.externalID"
}

// tooManyRolesWarning warns that a single-role environment uses only one of roles.
func tooManyRolesWarning(roles []string) string {
	return fmt.Sprintf("spec.roles names %d roles (%s) but the environment allows one role per membership (multipleRoles: false): only the highest-priority one applies",
		len(roles), strings.Join(roles, ", "))
}

// undeclaredPermissionsWarning warns about permissions no Permission declares.
func undeclaredPermissionsWarning(perms []string) string {
	return fmt.Sprintf("spec.permissions names %s, which no Permission of this environment declares (yet)", quoteList(perms))
}

// deleteTarget describes a role whose deletion is checked.
type deleteTarget struct {
	// kind is Role or OrganizationRole; resource its plural, for kubectl.
	kind, resource  string
	name, namespace string
	slug            string
	// org is the organization of an OrganizationRole, "" for a Role.
	org string
}

// replacementHint says which roles may replace t.
func (t deleteTarget) replacementHint() string {
	if t.org == "" {
		return "an existing Role of this environment"
	}
	return fmt.Sprintf("an existing Role, or OrganizationRole of organization %q", t.org)
}

// deleteDeniedMessage explains why deleting t is denied: users (e.g.
// `Environment "videos"`) use it as their default role, and it names no valid
// replacement (badReplacement is the slug an invalid annotation names).
func deleteDeniedMessage(t deleteTarget, users []string, badReplacement string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q (slug %q) is the default role of %s: deleting it would leave their members without a default role. ",
		t.kind, t.name, t.slug, strings.Join(users, ", "))
	if badReplacement != "" {
		fmt.Fprintf(&b, "Its annotation %s names %q, which is not %s. ",
			orgrbacv1alpha1.AnnotationReplacementRole, badReplacement, t.replacementHint())
	}
	fmt.Fprintf(&b, "Name a replacement (%s) first, then delete it again: "+
		"kubectl annotate %s.orgrbac.dev %s -n %s %s=<slug>; "+
		"the operator then moves every default, priority entry, membership and group mapping naming %q to the replacement",
		t.replacementHint(), t.resource, t.name, t.namespace, orgrbacv1alpha1.AnnotationReplacementRole, t.slug)
	return b.String()
}

// deletePreview is what deleting a role changes.
type deletePreview struct {
	// replacement is the slug that takes the role's place, "" when none.
	replacement string
	// defaultOf lists who uses the role as default (e.g. `Organization "acme"`).
	defaultOf []string
	// named counts the memberships whose spec.roles names the role.
	named int
	// byDefault counts the memberships that hold the role as their default role.
	byDefault int
	// mappings counts the group mappings mapping a group to the role.
	mappings int
	// noEnvironment is true when the role is the implicit default and no
	// Environment exists to record the replacement as the default.
	noEnvironment bool
}

// inUse reports whether anything names or holds the role.
func (p deletePreview) inUse() bool {
	return p.named+p.byDefault+p.mappings > 0 || len(p.defaultOf) > 0
}

// previewWarnings are the admission warnings that preview deleting t.
func previewWarnings(t deleteTarget, p deletePreview) []string {
	if !p.inUse() {
		return nil
	}
	var out []string
	to := func(yes, no string) string {
		if p.replacement != "" {
			return fmt.Sprintf(yes, p.replacement)
		}
		return no
	}
	if p.named > 0 {
		out = append(out, fmt.Sprintf("deleting %s %q: %s it in spec.roles and %s (recorded in their %s annotation)",
			t.kind, t.slug, plural(p.named, "membership names", "memberships name"),
			to("will get %q instead", "will lose it, falling back to their other roles or the default"),
			orgrbacv1alpha1.AnnotationRemovedRoles))
	}
	if p.byDefault > 0 {
		out = append(out, fmt.Sprintf("deleting %s %q: %s it as default role and %s",
			t.kind, t.slug, plural(p.byDefault, "membership holds", "memberships hold"),
			to("will get %q, the new default", "will get the next default role, or none (Ready=False, DefaultRoleMissing, no permissions)")))
	}
	if len(p.defaultOf) > 0 {
		out = append(out, fmt.Sprintf("deleting %s %q: the default role of %s %s",
			t.kind, t.slug, strings.Join(p.defaultOf, ", "), to("becomes %q", "is removed")))
	}
	if p.mappings > 0 {
		out = append(out, fmt.Sprintf("deleting %s %q: %s groups to it and %s",
			t.kind, t.slug, plural(p.mappings, "group mapping maps", "group mappings map"),
			to("will be repointed to %q", "will grant nothing (Ready=False, RoleNotFound) until repointed")))
	}
	if p.noEnvironment && p.replacement != "" {
		out = append(out, fmt.Sprintf("no Environment exists to record %q as the default role: create one with spec.defaultRole: %s, or members relying on the default get none",
			p.replacement, p.replacement))
	}
	return out
}
