package api

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The WorkOS organization reads: one organization by id or by external id,
// and the paginated list. They answer from the index, like the other reads.

// orgListQuery is a parsed GET /organizations request.
type orgListQuery struct {
	paging
	// domains filters by domain: orgrbac organizations have none, so a
	// request naming any lists nothing.
	domains []string
	// search keeps the organizations whose name contains it, ignoring case.
	search string
}

// parseOrganizationListQuery validates the query parameters of the
// organization list; get returns every value of a parameter.
func parseOrganizationListQuery(get func(string) []string) (orgListQuery, error) {
	var bad []fieldError
	one := lastValue(get)
	q := orgListQuery{paging: parsePage(one, &bad), search: one("search")}
	for _, v := range append(get("domains"), get("domains[]")...) {
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				q.domains = append(q.domains, d)
			}
		}
	}
	if len(bad) > 0 {
		return q, &errInvalid{fields: bad}
	}
	return q, nil
}

// compareOrgs orders organizations oldest first, then by name.
func compareOrgs(a, b *store.Organization) int {
	return cmp.Or(a.Created().Compare(b.Created()), strings.Compare(a.Name(), b.Name()))
}

// listOrganizationsOf filters and paginates the organizations of an environment
// (c), without the duplicates of resolve.IndexOrganizations, which answer to
// no id. Organizations are ordered by creation time (then name), newest first
// unless q says asc; a cursor is an organization id, and the page holds the
// organizations strictly after (after) or strictly before (before) it in that
// order, as listMembershipsOf pages.
func listOrganizationsOf(c *store.Content, q orgListQuery) (listObject[workos.Organization], error) {
	var items []*store.Organization
	search := strings.ToLower(q.search)
	for o := range c.Organizations() {
		if len(q.domains) > 0 {
			break
		}
		if search != "" {
			name := o.DisplayName()
			if name == "" {
				name = o.Name()
			}
			if !strings.Contains(strings.ToLower(name), search) {
				continue
			}
		}
		items = append(items, o)
	}
	order := inOrder(q.paging, compareOrgs)
	slices.SortFunc(items, order)
	data, before, after, err := window(q.paging, items, order,
		func(cursor string) (*store.Organization, bool) { o := c.Organization(cursor); return o, o != nil },
		func(o *store.Organization) string { return o.ID() }, "organization")
	if err != nil {
		return listObject[workos.Organization]{}, err
	}
	out := listObject[workos.Organization]{Object: "list", Data: make([]workos.Organization, 0, len(data)),
		ListMetadata: &listMetadata{Before: before, After: after}}
	for _, o := range data {
		out.Data = append(out.Data, workos.OrganizationOf(o))
	}
	return out, nil
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, u caller) {
	e := s.environment(w, r, u)
	if e == nil {
		return
	}
	q, err := parseOrganizationListQuery(func(name string) []string { return r.URL.Query()[name] })
	if writeInvalidQuery(w, err) {
		return
	}
	answer(w, e, func(c *store.Content) (int, any) {
		list, err := listOrganizationsOf(c, q)
		return listAnswer(q.paging, list, err)
	})
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "id", func(_ *store.Content, org *store.Organization) (int, any) {
		return http.StatusOK, workos.OrganizationOf(org)
	})
}

func (s *Server) getOrganizationByExternalID(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *store.Content) (int, any) {
		ext := r.PathValue("external_id")
		// Only the externalID names the organization here, never its name.
		org := c.Organization(ext)
		if org == nil || workos.ExternalID(org) != ext {
			return notFound("Organization", ext)
		}
		return http.StatusOK, workos.OrganizationOf(org)
	})
}
