package api

import (
	"net/http"
	"slices"
	"strings"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The WorkOS membership reads: one organization membership by id, and the
// paginated list. They answer from the index, like the other reads.

// listQuery is a parsed organization memberships list request.
type listQuery struct {
	paging
	userID, organizationID string
	statuses               []orgrbacv1alpha1.MembershipState // nil: every status (the route asks for active ones)
}

// parseListQuery validates the query parameters of the memberships list. get
// returns every value of a parameter.
func parseListQuery(get func(string) []string) (listQuery, error) {
	var bad []fieldError
	one := lastValue(get)
	q := listQuery{paging: parsePage(one, &bad), userID: one("user_id"), organizationID: one("organization_id")}
	var statuses []string
	for _, v := range append(get("statuses"), get("statuses[]")...) {
		statuses = append(statuses, strings.Split(v, ",")...)
	}
	for _, s := range statuses {
		switch strings.TrimSpace(s) {
		case "":
		case "active":
			q.statuses = append(q.statuses, orgrbacv1alpha1.MembershipActive)
		case "inactive":
			q.statuses = append(q.statuses, orgrbacv1alpha1.MembershipInactive)
		case "pending":
			q.statuses = append(q.statuses, orgrbacv1alpha1.MembershipPending)
		default:
			bad = append(bad, fieldError{Code: "statuses must be active, inactive or pending", Field: "statuses"})
		}
	}
	if len(bad) > 0 {
		return q, &errInvalid{fields: bad}
	}
	return q, nil
}

// listMembershipsOf filters and paginates the memberships of an environment
// (c). Memberships are ordered by creation time (then name), newest first
// unless q says asc; a cursor is a membership id, and the page holds the
// memberships strictly after (after) or strictly before (before) it in that
// order.
func listMembershipsOf(c *store.Content, q listQuery) (listObject[workos.Membership], error) {
	var orgName string
	if q.organizationID != "" {
		o := c.Organization(q.organizationID)
		if o == nil {
			return listObject[workos.Membership]{Object: "list", Data: []workos.Membership{},
				ListMetadata: &listMetadata{}}, nil
		}
		orgName = o.Name()
	}
	items := make([]*store.Member, 0, len(c.Memberships()))
	for _, m := range c.Memberships() {
		// Memberships of no organization a caller could name are left out
		// (store.Content.Membership).
		if c.OrganizationOf(m) == nil || (orgName != "" && m.Organization() != orgName) ||
			(q.userID != "" && m.User() != q.userID) ||
			(q.statuses != nil && !slices.Contains(q.statuses, m.State())) {
			continue
		}
		items = append(items, m)
	}
	if q.desc {
		slices.Reverse(items) // c.Memberships() is oldest first
	}
	data, before, after, err := window(q.paging, items, inOrder(q.paging, store.CompareMembers),
		func(cursor string) (*store.Member, bool) { m := c.Membership(cursor); return m, m != nil },
		func(m *store.Member) string { return m.Name() }, "organization membership")
	if err != nil {
		return listObject[workos.Membership]{}, err
	}
	out := listObject[workos.Membership]{Object: "list", Data: make([]workos.Membership, 0, len(data)),
		ListMetadata: &listMetadata{Before: before, After: after}}
	for _, m := range data {
		out.Data = append(out.Data, workos.MembershipOf(c, m))
	}
	return out, nil
}

func (s *Server) listMemberships(w http.ResponseWriter, r *http.Request, u caller) {
	e := s.environment(w, r, u)
	if e == nil {
		return
	}
	q, err := parseListQuery(func(name string) []string { return r.URL.Query()[name] })
	if writeInvalidQuery(w, err) {
		return
	}
	if q.statuses == nil {
		// As WorkOS's: without statuses, the list holds the active memberships.
		q.statuses = []orgrbacv1alpha1.MembershipState{orgrbacv1alpha1.MembershipActive}
	}
	answer(w, e, func(c *store.Content) (int, any) {
		list, err := listMembershipsOf(c, q)
		return listAnswer(q.paging, list, err)
	})
}

func (s *Server) getMembership(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *store.Content) (int, any) {
		m := c.Membership(r.PathValue("id"))
		if m == nil {
			return notFound("Organization membership", r.PathValue("id"))
		}
		return http.StatusOK, workos.MembershipOf(c, m)
	})
}
