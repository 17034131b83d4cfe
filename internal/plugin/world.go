package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// objects are the orgrbac objects of one environment (namespace), as the user
// may read them.
type objects struct {
	namespace         string
	environments      []orgrbacv1alpha1.Environment
	permissions       []orgrbacv1alpha1.Permission
	roles             []orgrbacv1alpha1.Role
	organizations     []orgrbacv1alpha1.Organization
	organizationRoles []orgrbacv1alpha1.OrganizationRole
	groupMappings     []orgrbacv1alpha1.GroupMapping
	memberships       []orgrbacv1alpha1.Membership
}

// kinds names what load reads.
type kinds uint8

const (
	// decisionKinds are what a decision reads: the decision API's index reads
	// the same kinds (Environments, Roles, OrganizationRoles, Organizations,
	// Memberships).
	decisionKinds kinds = 1 << iota
	// resolutionKinds add what resolving a membership reads: GroupMappings.
	resolutionKinds
	// catalogKinds add the Permissions.
	catalogKinds
)

// load lists the orgrbac objects of namespace ns with the user's credentials.
func load(ctx context.Context, c client.Reader, ns string, what kinds) (*objects, error) {
	o := &objects{namespace: ns}
	type list struct {
		name string
		list client.ObjectList
		keep func()
	}
	var (
		envs   orgrbacv1alpha1.EnvironmentList
		roles  orgrbacv1alpha1.RoleList
		orgs   orgrbacv1alpha1.OrganizationList
		oroles orgrbacv1alpha1.OrganizationRoleList
		ms     orgrbacv1alpha1.MembershipList
		gms    orgrbacv1alpha1.GroupMappingList
		perms  orgrbacv1alpha1.PermissionList
	)
	lists := []list{
		{"environments", &envs, func() { o.environments = envs.Items }},
		{"roles", &roles, func() { o.roles = roles.Items }},
		{"organizations", &orgs, func() { o.organizations = orgs.Items }},
		{"organizationroles", &oroles, func() { o.organizationRoles = oroles.Items }},
		{"memberships", &ms, func() { o.memberships = ms.Items }},
	}
	if what&(resolutionKinds|catalogKinds) != 0 {
		lists = append(lists, list{"groupmappings", &gms, func() { o.groupMappings = gms.Items }})
	}
	if what&catalogKinds != 0 {
		lists = append(lists, list{"permissions", &perms, func() { o.permissions = perms.Items }})
	}
	for _, l := range lists {
		if err := c.List(ctx, l.list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("listing %s.orgrbac.dev in namespace %q: %w", l.name, ns, err)
		}
		l.keep()
	}
	return o, nil
}

func deleting(o metav1.Object) bool { return model.Deleting(o) }

func metaOf(o metav1.Object) resolve.Meta { return model.Meta(o) }

// compile compiles the objects' environment (model.Compile). Objects being
// deleted are left out: they grant nothing (as for the controllers and the
// decision API).
func (o *objects) compile() *resolve.Env {
	return model.Compile(model.Objects{Environments: o.environments, Roles: o.roles, Organizations: o.organizations,
		OrganizationRoles: o.organizationRoles, GroupMappings: o.groupMappings})
}

// view answers decisions about one environment from what its Membership
// statuses say and how its roles are defined now: the decision API's rule
// (resolve.Decide), applied to objects read from the API server.
type view struct {
	objs *objects
	env  *resolve.Env
	// ids names the organization of a caller's id (externalID or name).
	ids *resolve.OrganizationIndex
	// members maps an organization name and a user to the membership that
	// answers for the user.
	members map[[2]string]*orgrbacv1alpha1.Membership
}

func newView(objs *objects) *view {
	v := &view{objs: objs, env: objs.compile(), members: map[[2]string]*orgrbacv1alpha1.Membership{}}
	var refs []resolve.OrganizationRef
	for i := range objs.organizations {
		if g := &objs.organizations[i]; !deleting(g) {
			refs = append(refs, resolve.OrganizationRef{Meta: metaOf(g), ExternalID: g.Spec.ExternalID})
		}
	}
	v.ids = resolve.IndexOrganizations(refs)
	for i := range objs.memberships {
		m := &objs.memberships[i]
		if deleting(m) {
			continue
		}
		key := [2]string{m.Spec.Organization, m.Spec.User}
		if w := v.members[key]; w == nil || resolve.Prefer(candidate(m), candidate(w)) {
			v.members[key] = m
		}
	}
	return v
}

func candidate(m *orgrbacv1alpha1.Membership) resolve.Candidate {
	return resolve.Candidate{Meta: metaOf(m), Ready: ready(m.Status.Conditions)}
}

// condition returns the condition of type t, nil when there is none.
func condition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func ready(conds []metav1.Condition) bool {
	c := condition(conds, orgrbacv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue
}

// resolved is a membership as resolve.Decide reads it.
func resolved(m *orgrbacv1alpha1.Membership) *resolve.Resolved {
	perms := slices.Clone(m.Status.Permissions)
	slices.Sort(perms)
	return &resolve.Resolved{State: resolve.State(m.Spec.State), Ready: ready(m.Status.Conditions),
		Role: m.Status.Role, Roles: m.Status.Roles, Permissions: slices.Compact(perms)}
}

// organization finds the organization a caller's id (externalID or name) names,
// by the decision API's rule (resolve.IndexOrganizations); nil when none.
func (v *view) organization(key string) *resolve.OrgView {
	if name, ok := v.ids.Lookup(key); ok {
		return v.env.Organization(name)
	}
	return nil
}

// roleSet is the organization's roles for resolve.Decide (nil when the
// organization does not exist: a nil *OrgView must not become a non-nil
// interface).
func roleSet(o *resolve.OrgView) resolve.RoleSet {
	if o == nil {
		return nil
	}
	return o
}

// organizationObject returns the Organization object of a compiled organization.
func (v *view) organizationObject(name string) *orgrbacv1alpha1.Organization {
	for i := range v.objs.organizations {
		if g := &v.objs.organizations[i]; g.Name == name && !deleting(g) {
			return g
		}
	}
	return nil
}

// organizationID is the WorkOS id of an organization: its externalID, else its name.
func (v *view) organizationID(name string) string {
	if g := v.organizationObject(name); g != nil && g.Spec.ExternalID != "" {
		return g.Spec.ExternalID
	}
	return name
}

// check decides whether user may do every permission in org.
func (v *view) check(org, user string, perms []string) resolve.Decision {
	o := v.organization(org)
	if o == nil {
		return resolve.Decision{Reason: resolve.DecisionOrganizationNotFound}
	}
	m := v.members[[2]string{o.Name(), user}]
	if m == nil {
		return resolve.Decide(roleSet(o), nil, perms)
	}
	return resolve.Decide(roleSet(o), resolved(m), perms)
}

// member returns the membership answering for user in organization o.
func (v *view) member(o *resolve.OrgView, user string) *orgrbacv1alpha1.Membership {
	return v.members[[2]string{o.Name(), user}]
}

// holders returns the memberships of o granted p, sorted by user.
func (v *view) holders(o *resolve.OrgView, p string) []*orgrbacv1alpha1.Membership {
	var out []*orgrbacv1alpha1.Membership
	for key, m := range v.members {
		if key[0] != o.Name() {
			continue
		}
		if r := resolved(m); r.Grants() && r.Holds(o, p) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *orgrbacv1alpha1.Membership) int { return strings.Compare(a.Spec.User, b.Spec.User) })
	return out
}
