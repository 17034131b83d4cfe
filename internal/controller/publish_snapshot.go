package controller

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// buildSnapshot is the namespace's snapshot (revision 0): the winning roles,
// every organization but the duplicates, and the members of each: a user's
// elected Membership (resolve.Prefer, rule R10) when it grants (Active and
// Ready), with the roles of its status its organization defines now
// (resolve.CurrentRoles, rule R11).
func buildSnapshot(env *resolve.Env, orgs []orgrbacv1alpha1.Organization, members []orgrbacv1alpha1.Membership) *publish.Snapshot {
	s := &publish.Snapshot{}
	for _, r := range env.Roles() {
		s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeEnvironment, Permissions: r.Permissions})
	}
	externalIDs := make(map[string]string, len(orgs))
	refs := make([]resolve.OrganizationRef, len(orgs))
	for i := range orgs {
		externalIDs[orgs[i].Name] = orgs[i].Spec.ExternalID
		refs[i] = resolve.OrganizationRef{Meta: metaOf(&orgs[i]), ExternalID: orgs[i].Spec.ExternalID}
	}
	// A duplicate organization (resolve.IndexOrganizations) is left out with
	// its roles and members: it answers to no id, and publish.Validate refuses
	// colliding ids.
	ids := resolve.IndexOrganizations(refs)
	index := map[string]int{}
	// RoleRefs, not Roles: every organization sees every environment role, and
	// copying their permission sets for 1,000 organizations cost 53 MB per
	// publication at 100k memberships. Only organization roles are copied.
	for _, name := range env.OrganizationNames() {
		if _, dup := ids.Duplicate(name); dup {
			continue
		}
		view := env.Organization(name)
		for r := range view.RoleRefs() {
			if r.Type == resolve.RoleTypeOrganization {
				perms, _ := view.Role(r.Slug)
				s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeOrganization,
					Organization: name, Permissions: perms})
			}
		}
		index[name] = len(s.Organizations)
		s.Organizations = append(s.Organizations, publish.Organization{Name: name, ExternalID: externalIDs[name]})
	}

	// Rule R10: of the Memberships of one user in one organization, the one
	// resolve.Prefer elects answers, and only when it grants.
	type key struct{ org, user string }
	elected := make(map[key]*orgrbacv1alpha1.Membership, len(members))
	order := make([]*orgrbacv1alpha1.Membership, 0, len(members))
	for i := range members {
		m := &members[i]
		if deleting(m) {
			continue
		}
		order = append(order, m)
		k := key{m.Spec.Organization, m.Spec.User}
		if w := elected[k]; w == nil || resolve.Prefer(candidate(m), candidate(w)) {
			elected[k] = m
		}
	}
	slices.SortFunc(order, func(a, b *orgrbacv1alpha1.Membership) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	for _, m := range order {
		i, ok := index[m.Spec.Organization]
		if !ok || elected[key{m.Spec.Organization, m.Spec.User}] != m {
			continue
		}
		r := resolve.Resolved{State: resolve.State(m.Spec.State),
			Ready: meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)}
		if !r.Grants() {
			continue
		}
		// Rule R11: the roles of its status that its organization defines now.
		roles := resolve.CurrentRoles(env.Organization(m.Spec.Organization), m.Status.Roles)
		if len(roles) == 0 {
			continue
		}
		o := &s.Organizations[i]
		o.Members = append(o.Members, publish.Member{User: m.Spec.User, Membership: m.Name, Roles: roles})
	}
	return s
}

// candidate is a Membership as the election reads it (rule R10).
func candidate(m *orgrbacv1alpha1.Membership) resolve.Candidate {
	return resolve.Candidate{Meta: metaOf(m), Ready: meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)}
}

// annotatedRevision is o's revision annotation when it is a valid revision.
func annotatedRevision(o metav1.Object) (int64, bool) {
	rev, err := strconv.ParseInt(o.GetAnnotations()[publish.AnnotationRevision], 10, 64)
	if err != nil || rev < 0 || rev > publish.MaxRevision {
		return 0, false
	}
	return rev, true
}

// revision is the revision to publish content hash at: the current one when the
// published index already holds this content at the highest revision known,
// else one more than the highest revision known. Once this process has
// published ns, it knows the revision; before, it continues from the
// Environment's status and the annotations of the ConfigMaps (valid revisions
// only). When the highest revision leaves no room, the revisions restart at 1,
// and reset says why.
func (r *PublishReconciler) revision(ns, hash string, env *orgrbacv1alpha1.Environment,
	owned map[string]*metav1.PartialObjectMetadata) (rev int64, reset string) {
	r.mu.Lock()
	high, known := r.highWater[ns]
	r.mu.Unlock()
	from := "this publisher's last revision"
	if !known {
		if env != nil && env.Status.Revision > high {
			high, from = env.Status.Revision, "the Environment's status.revision"
		}
		for _, name := range slices.Sorted(maps.Keys(owned)) {
			if v, ok := annotatedRevision(owned[name]); ok && v > high {
				high, from = v, "the "+publish.AnnotationRevision+" annotation of ConfigMap "+name
			}
		}
	}
	if main, ok := owned[publish.ConfigMapName]; ok && high > 0 && main.Annotations[publish.AnnotationContentHash] == hash {
		if v, ok := annotatedRevision(main); ok && v == high {
			return high, ""
		}
	}
	if high < 0 || high >= publish.MaxRevision {
		return 1, fmt.Sprintf("the highest known revision, %d (%s), leaves no room for another: revisions restart at 1", high, from)
	}
	return high + 1, ""
}

func (r *PublishReconciler) setHighWater(ns string, rev int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.highWater[ns] = rev
}

// publicationTime is the publishedAt to write: the one main carries when it
// holds this revision and content and was written less than Refresh ago, else
// now.
func (r *PublishReconciler) publicationTime(main *metav1.PartialObjectMetadata, rev int64, hash string) time.Time {
	now := r.Clock.Now()
	if main != nil && main.Annotations[publish.AnnotationContentHash] == hash &&
		main.Annotations[publish.AnnotationRevision] == strconv.FormatInt(rev, 10) {
		at, err := time.Parse(time.RFC3339, main.Annotations[publish.AnnotationPublishedAt])
		if err == nil && !at.After(now.Add(time.Minute)) && now.Sub(at) < r.Refresh {
			return at
		}
	}
	return now.UTC().Truncate(time.Second)
}
