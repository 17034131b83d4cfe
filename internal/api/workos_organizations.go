package api

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/orgrbac/orgrbac/internal/api/store"
)

// The WorkOS organization reads: one organization by id or by external id,
// and the paginated list. They answer from the index, like the other reads.

// organizationObject is WorkOS's organization object, as the SDKs deserialize
// it (Go SDK models.go Organization, Node SDK deserializeOrganization, which
// maps domains and so needs the array). orgrbac organizations have no domains,
// no metadata and no Stripe customer (omitted, as WorkOS omits it when unset).
type organizationObject struct {
	Object                           string            `json:"object"`
	ID                               string            `json:"id"`
	Name                             string            `json:"name"`
	AllowProfilesOutsideOrganization bool              `json:"allow_profiles_outside_organization"`
	Domains                          []struct{}        `json:"domains"`
	Metadata                         map[string]string `json:"metadata"`
	ExternalID                       *string           `json:"external_id"`
	CreatedAt                        string            `json:"created_at"`
	UpdatedAt                        string            `json:"updated_at"`
}

// orgExternalID is the externalID of an organization, "" when it has none: its
// WorkOS id is its externalID when it has one, else its name. (An externalID
// equal to the organization's own name cannot be told apart from none.)
func orgExternalID(o *store.Organization) string {
	if o.ID() != o.Name() {
		return o.ID()
	}
	return ""
}

func organizationObjectOf(o *store.Organization) organizationObject {
	name := o.DisplayName()
	if name == "" {
		name = o.Name()
	}
	out := organizationObject{Object: "organization", ID: o.ID(), Name: name, Domains: []struct{}{},
		Metadata: map[string]string{}, CreatedAt: formatTime(o.Created()), UpdatedAt: formatTime(o.Updated())}
	if ext := orgExternalID(o); ext != "" {
		out.ExternalID = &ext
	}
	return out
}

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
func listOrganizationsOf(c *store.Content, q orgListQuery) (listObject[organizationObject], error) {
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
		return listObject[organizationObject]{}, err
	}
	out := listObject[organizationObject]{Object: "list", Data: make([]organizationObject, 0, len(data)),
		ListMetadata: &listMetadata{Before: before, After: after}}
	for _, o := range data {
		out.Data = append(out.Data, organizationObjectOf(o))
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
		return http.StatusOK, organizationObjectOf(org)
	})
}

func (s *Server) getOrganizationByExternalID(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *store.Content) (int, any) {
		ext := r.PathValue("external_id")
		// Only the externalID names the organization here, never its name.
		org := c.Organization(ext)
		if org == nil || orgExternalID(org) != ext {
			return notFound("Organization", ext)
		}
		return http.StatusOK, organizationObjectOf(org)
	})
}
