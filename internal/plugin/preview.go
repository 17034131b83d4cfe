package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// admission is the admission webhooks' verdict on deleting the role, from a
// server-side dry run.
type admission struct {
	// Checked is false when the dry run could not be made (Note says why).
	Checked bool     `json:"checked"`
	Allowed bool     `json:"allowed"`
	Message string   `json:"message,omitempty"`
	Note    string   `json:"note,omitempty"`
	Warning []string `json:"warnings,omitempty"`
}

// fieldChange is one field the role-cleanup finalizer would rewrite.
type fieldChange struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// accessChange is how a membership's effective roles and permissions would change.
type accessChange struct {
	Membership   string   `json:"membership"`
	Organization string   `json:"organization"`
	User         string   `json:"user"`
	RolesBefore  []string `json:"rolesBefore"`
	RolesAfter   []string `json:"rolesAfter"`
	SourceBefore string   `json:"sourceBefore,omitempty"`
	SourceAfter  string   `json:"sourceAfter,omitempty"`
	Loses        []string `json:"loses"`
	Gains        []string `json:"gains"`
	// ReasonAfter is the Ready reason after the deletion when it is not Resolved.
	ReasonAfter string `json:"reasonAfter,omitempty"`
}

// deletionPreview is preview-delete's answer.
type deletionPreview struct {
	Namespace    string `json:"namespace"`
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Slug         string `json:"slug"`
	Organization string `json:"organization,omitempty"`
	// Replacement is the slug the references move to ("" when they are removed).
	Replacement string `json:"replacement"`
	// Notes explain the replacement and anything else the finalizer would do.
	Notes     []string       `json:"notes,omitempty"`
	Admission admission      `json:"admission"`
	Changes   []fieldChange  `json:"changes"`
	Access    []accessChange `json:"access"`
}

func (o *options) previewDeleteCommand() *cobra.Command {
	var replacement string
	cmd := &cobra.Command{
		Use:   "preview-delete ROLE",
		Short: "Show who would lose or change what if a role were deleted, without deleting it",
		Long: `preview-delete shows what deleting a Role (ROLE or role/NAME) or an OrganizationRole
(organizationrole/NAME) would do, without deleting it:

  - whether the admission webhooks would allow the delete (a server-side dry run,
    when you may delete the role);
  - the fields the role-cleanup finalizer would rewrite (defaults, priority lists,
    memberships' spec.roles, group mappings), to the replacement slug
    (--replacement, else the role's orgrbac.dev/replacement-role annotation) or
    by removing the slug;
  - every membership whose effective roles or permissions would change, resolved
    with the operator's own resolver before and after.

To delete with a replacement, annotate the role first:
  kubectl annotate role.orgrbac.dev NAME orgrbac.dev/replacement-role=SLUG`,
		Example: `  kubectl orgrbac preview-delete editor --replacement viewer -n videos`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			role, err := getRole(ctx, c, ns, args[0])
			if err != nil {
				return err
			}
			objs, err := load(ctx, c, ns, resolutionKinds)
			if err != nil {
				return err
			}
			p := previewDeletion(objs, role, replacement, cmd.Flags().Changed("replacement"))
			p.Admission = dryRunDelete(ctx, c, role)
			if p.Admission.Checked && !p.Admission.Allowed && replacement != "" &&
				role.GetAnnotations()[orgrbacv1alpha1.AnnotationReplacementRole] != replacement {
				p.Notes = append(p.Notes, fmt.Sprintf("the webhook reads the replacement from the annotation: "+
					"kubectl annotate %s %s %s=%s", strings.ToLower(p.Kind)+".orgrbac.dev", p.Name,
					orgrbacv1alpha1.AnnotationReplacementRole, replacement))
			}
			if done, err := o.structured(p); done || err != nil {
				return err
			}
			o.printPreview(p)
			return nil
		},
	}
	cmd.Flags().StringVar(&replacement, "replacement", "",
		"Slug of the role that takes the deleted role's place (default: the role's orgrbac.dev/replacement-role annotation)")
	o.addOutputFlag(cmd)
	return cmd
}

// getRole reads the role a preview-delete argument names.
func getRole(ctx context.Context, c client.Reader, ns, arg string) (client.Object, error) {
	kind, name, found := strings.Cut(arg, "/")
	if !found {
		kind, name = "role", arg
	}
	var obj client.Object
	switch strings.ToLower(kind) {
	case "role", "roles", "role.orgrbac.dev", "roles.orgrbac.dev", "orole":
		obj = &orgrbacv1alpha1.Role{}
	case "organizationrole", "organizationroles", "organizationrole.orgrbac.dev", "organizationroles.orgrbac.dev":
		obj = &orgrbacv1alpha1.OrganizationRole{}
	default:
		return nil, fmt.Errorf("%q is not a role: use NAME, role/NAME or organizationrole/NAME", arg)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// previewDeletion computes what deleting role would change: the same rewrites as
// the role-cleanup finalizer (internal/controller, moveReferences), applied to a
// copy of the environment, and every membership resolved before and after with
// the operator's resolver.
func previewDeletion(objs *objects, role client.Object, flagReplacement string, flagSet bool) deletionPreview {
	p := deletionPreview{Namespace: objs.namespace, Name: role.GetName(), Changes: []fieldChange{}, Access: []accessChange{}}
	switch r := role.(type) {
	case *orgrbacv1alpha1.Role:
		p.Kind, p.Slug = "Role", r.EffectiveSlug()
	case *orgrbacv1alpha1.OrganizationRole:
		p.Kind, p.Slug, p.Organization = "OrganizationRole", r.Spec.Slug, r.Spec.Organization
	}
	requested := role.GetAnnotations()[orgrbacv1alpha1.AnnotationReplacementRole]
	if flagSet {
		requested = flagReplacement
	}
	after := objs.without(role)
	switch {
	case requested == "" || requested == p.Slug:
	case after.defines(p.Organization, requested):
		p.Replacement = requested
	default:
		p.Notes = append(p.Notes, fmt.Sprintf("the replacement %q names no role here: references to %q are removed instead", requested, p.Slug))
	}
	if after.defines(p.Organization, p.Slug) {
		p.Notes = append(p.Notes, fmt.Sprintf("another role keeps the slug %q: the finalizer moves nothing", p.Slug))
	} else {
		p.Changes = after.moveReferences(p.Slug, p.Organization, p.Replacement)
	}
	p.Access = accessChanges(objs, after)
	return p
}

// without returns a deep copy of the objects without role.
func (o *objects) without(role client.Object) *objects {
	c := &objects{namespace: o.namespace}
	for i := range o.environments {
		c.environments = append(c.environments, *o.environments[i].DeepCopy())
	}
	for i := range o.roles {
		if o.roles[i].UID != role.GetUID() {
			c.roles = append(c.roles, *o.roles[i].DeepCopy())
		}
	}
	for i := range o.organizations {
		c.organizations = append(c.organizations, *o.organizations[i].DeepCopy())
	}
	for i := range o.organizationRoles {
		if o.organizationRoles[i].UID != role.GetUID() {
			c.organizationRoles = append(c.organizationRoles, *o.organizationRoles[i].DeepCopy())
		}
	}
	for i := range o.groupMappings {
		c.groupMappings = append(c.groupMappings, *o.groupMappings[i].DeepCopy())
	}
	for i := range o.memberships {
		c.memberships = append(c.memberships, *o.memberships[i].DeepCopy())
	}
	return c
}

// defines reports whether a role not being deleted has slug and is visible where
// a role of org ("" for an environment Role) is, as the finalizer's
// slugStillDefined.
func (o *objects) defines(org, slug string) bool {
	for i := range o.roles {
		if r := &o.roles[i]; !deleting(r) && r.EffectiveSlug() == slug {
			return true
		}
	}
	if org == "" {
		return false
	}
	for i := range o.organizationRoles {
		if r := &o.organizationRoles[i]; !deleting(r) && r.Spec.Organization == org && r.Spec.Slug == slug {
			return true
		}
	}
	return false
}

func list(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func quoted(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// moveReferences applies the finalizer's rewrites (resolve.ReplaceDefault and
// resolve.ReplaceSlug) to the objects, in its order, and returns the changes.
func (o *objects) moveReferences(slug, org, repl string) []fieldChange {
	changes := []fieldChange{}
	change := func(kind, name, field, from, to string) {
		changes = append(changes, fieldChange{Kind: kind, Name: name, Field: field, From: from, To: to})
	}
	if org == "" {
		// The implicit default (member, no Environment naming a default) moves to
		// the replacement on the oldest Environment.
		implicit := slug == orgrbacv1alpha1.DefaultRoleSlug && repl != ""
		var oldest *orgrbacv1alpha1.Environment
		for i := range o.environments {
			if o.environments[i].Spec.DefaultRole != "" {
				implicit = false
			}
		}
		if i := resolve.Oldest(o.environments, func(e *orgrbacv1alpha1.Environment) (resolve.Meta, bool) {
			return metaOf(e), true
		}); i >= 0 {
			oldest = &o.environments[i]
		}
		for i := range o.environments {
			e := &o.environments[i]
			if deleting(e) {
				continue
			}
			def, defChanged := resolve.ReplaceDefault(e.Spec.DefaultRole, slug, repl)
			if implicit && e == oldest {
				def, defChanged = repl, true
			}
			if defChanged {
				change("Environment", e.Name, "spec.defaultRole", quoted(e.Spec.DefaultRole), quoted(def))
				e.Spec.DefaultRole = def
			}
			if prio, changed := resolve.ReplaceSlug(e.Spec.RolePriority, slug, repl); changed {
				change("Environment", e.Name, "spec.rolePriority", list(e.Spec.RolePriority), list(prio))
				e.Spec.RolePriority = prio
			}
		}
	}
	for i := range o.organizations {
		g := &o.organizations[i]
		if deleting(g) || (org != "" && g.Name != org) {
			continue
		}
		if def, changed := resolve.ReplaceDefault(g.Spec.DefaultRole, slug, repl); changed {
			change("Organization", g.Name, "spec.defaultRole", quoted(g.Spec.DefaultRole), quoted(def))
			g.Spec.DefaultRole = def
		}
		if prio, changed := resolve.ReplaceSlug(g.Spec.RolePriority, slug, repl); changed {
			change("Organization", g.Name, "spec.rolePriority", list(g.Spec.RolePriority), list(prio))
			g.Spec.RolePriority = prio
		}
	}
	for i := range o.memberships {
		m := &o.memberships[i]
		if deleting(m) || (org != "" && m.Spec.Organization != org) {
			continue
		}
		if roles, changed := resolve.ReplaceSlug(m.Spec.Roles, slug, repl); changed {
			change("Membership", m.Name, "spec.roles", list(m.Spec.Roles), list(roles))
			m.Spec.Roles = roles
		}
	}
	for i := range o.groupMappings {
		g := &o.groupMappings[i]
		if deleting(g) || (org != "" && g.Spec.Organization != org) || g.Spec.Role != slug {
			continue
		}
		if repl == "" {
			change("GroupMapping", g.Name, "spec.role", slug, slug+" (left as is: grants nothing, RoleNotFound)")
			continue
		}
		change("GroupMapping", g.Name, "spec.role", slug, repl)
		g.Spec.Role = repl
	}
	return changes
}

// resolveAll resolves every membership of the objects, as the Membership
// controller does: duplicates lose, the others resolve against the compiled
// environment.
func resolveAll(o *objects) map[string]resolve.Result {
	env := o.compile()
	var ms []resolve.Membership
	for i := range o.memberships {
		if m := &o.memberships[i]; !deleting(m) {
			ms = append(ms, resolve.Membership{Meta: metaOf(m), Organization: m.Spec.Organization, User: m.Spec.User,
				Roles: m.Spec.Roles, DirectoryGroups: m.Spec.DirectoryGroups, SSOGroups: m.Spec.SSOGroups,
				State: resolve.State(m.Spec.State)})
		}
	}
	dups := resolve.DuplicateMemberships(ms)
	out := make(map[string]resolve.Result, len(ms))
	for _, m := range ms {
		if winner, dup := dups[m.Name]; dup {
			out[m.Name] = resolve.DuplicateResult(m, winner)
			continue
		}
		out[m.Name] = env.Resolve(m)
	}
	return out
}

// accessChanges compares every membership's resolution before and after.
func accessChanges(before, after *objects) []accessChange {
	was, will := resolveAll(before), resolveAll(after)
	out := []accessChange{}
	for i := range before.memberships {
		m := &before.memberships[i]
		b, okB := was[m.Name]
		a, okA := will[m.Name]
		if !okB || !okA {
			continue
		}
		if slices.Equal(b.Roles, a.Roles) && slices.Equal(b.Permissions, a.Permissions) && b.Source == a.Source && b.Ready == a.Ready {
			continue
		}
		ch := accessChange{Membership: m.Name, Organization: m.Spec.Organization, User: m.Spec.User,
			RolesBefore: nonNil(b.Roles), RolesAfter: nonNil(a.Roles), SourceBefore: string(b.Source), SourceAfter: string(a.Source),
			Loses: difference(b.Permissions, a.Permissions), Gains: difference(a.Permissions, b.Permissions)}
		if !a.Ready {
			ch.ReasonAfter = string(a.Reason)
		}
		out = append(out, ch)
	}
	slices.SortFunc(out, func(x, y accessChange) int {
		return strings.Compare(x.Organization+"/"+x.User+"/"+x.Membership, y.Organization+"/"+y.User+"/"+y.Membership)
	})
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// difference returns the sorted elements of a (sorted) missing from b (sorted).
func difference(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		if _, ok := slices.BinarySearch(b, s); !ok {
			out = append(out, s)
		}
	}
	return out
}

// dryRunDelete asks the API server (and so the admission webhooks) whether the
// role may be deleted, without deleting it.
func dryRunDelete(ctx context.Context, c client.Client, role client.Object) admission {
	obj := role.DeepCopyObject().(client.Object)
	err := c.Delete(ctx, obj, client.DryRunAll, client.Preconditions{UID: ptr(role.GetUID()), ResourceVersion: ptr(role.GetResourceVersion())})
	switch {
	case err == nil:
		return admission{Checked: true, Allowed: true}
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "admission webhook"):
		return admission{Checked: true, Message: webhookMessage(err)}
	case apierrors.IsForbidden(err):
		return admission{Note: "not checked: you may not delete this role"}
	default:
		return admission{Note: "not checked: " + err.Error()}
	}
}

// webhookMessage is the webhook's own words in an admission denial.
func webhookMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "denied the request: "); ok {
		return after
	}
	return msg
}

func ptr[T any](v T) *T { return &v }

func (o *options) printPreview(p deletionPreview) {
	what := fmt.Sprintf("%s %s (slug %s", p.Kind, p.Name, p.Slug)
	if p.Organization != "" {
		what += ", organization " + p.Organization
	}
	what += ")"
	if p.Replacement != "" {
		o.printf("Deleting %s in namespace %s, replaced by %s:\n", what, p.Namespace, p.Replacement)
	} else {
		o.printf("Deleting %s in namespace %s, with no replacement:\n", what, p.Namespace)
	}
	for _, n := range p.Notes {
		o.printf("  Note: %s\n", n)
	}
	switch a := p.Admission; {
	case !a.Checked:
		o.printf("  Admission: %s\n", a.Note)
	case a.Allowed:
		o.printf("  Admission: allowed (server-side dry run)\n")
	default:
		o.printf("  Admission: denied: %s\n", a.Message)
	}
	o.printf("\nThe role-cleanup finalizer would change:\n")
	if len(p.Changes) == 0 {
		o.printf("  nothing\n")
	} else {
		w := o.table()
		_, _ = fmt.Fprintln(w, "  OBJECT\tFIELD\tFROM\tTO")
		for _, c := range p.Changes {
			_, _ = fmt.Fprintf(w, "  %s/%s\t%s\t%s\t%s\n", c.Kind, c.Name, c.Field, c.From, c.To)
		}
		_ = w.Flush()
	}
	o.printf("\nMemberships whose access would change:\n")
	if len(p.Access) == 0 {
		o.printf("  none\n")
		return
	}
	w := o.table()
	_, _ = fmt.Fprintln(w, "  MEMBERSHIP\tUSER\tROLES\tLOSES\tGAINS")
	for _, a := range p.Access {
		roles := fmt.Sprintf("%s -> %s", dash(strings.Join(a.RolesBefore, ",")), dash(strings.Join(a.RolesAfter, ",")))
		if a.ReasonAfter != "" {
			roles += " (" + a.ReasonAfter + ")"
		}
		_, _ = fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", a.Membership, a.User, roles, dash(strings.Join(a.Loses, ", ")), dash(strings.Join(a.Gains, ", ")))
	}
	_ = w.Flush()
}
