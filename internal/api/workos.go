package api

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// WorkOS wire format: the JSON objects of the WorkOS API that the official SDKs
// deserialize.

// timeFormat is WorkOS's timestamp format (ISO 8601, UTC, milliseconds).
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// slugRef is a role reference: {"slug": "admin"}.
type slugRef struct {
	Slug string `json:"slug"`
}

// membershipObject is WorkOS's organization_membership object.
type membershipObject struct {
	Object           string            `json:"object"`
	ID               string            `json:"id"`
	UserID           string            `json:"user_id"`
	OrganizationID   string            `json:"organization_id"`
	OrganizationName string            `json:"organization_name"`
	Status           string            `json:"status"`
	Role             *slugRef          `json:"role"`
	Roles            []slugRef         `json:"roles"`
	DirectoryManaged bool              `json:"directory_managed"`
	CustomAttributes map[string]string `json:"custom_attributes"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
}

// roleObject is WorkOS's role object. Its JSON (MarshalJSON) also carries
// WorkOS's resource_type_slug, and a null description when it has none.
type roleObject struct {
	Object      string   `json:"object"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Slug        string   `json:"slug"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	Type        string   `json:"type"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// roleResourceType is the resource type of every role: organization roles
// and environment roles are all scoped to organizations, as WorkOS's default.
const roleResourceType = "organization"

// MarshalJSON writes the role as WorkOS does: description null when empty,
// and the resource type slug.
func (r roleObject) MarshalJSON() ([]byte, error) {
	var desc *string
	if r.Description != "" {
		desc = &r.Description
	}
	return json.Marshal(struct {
		Object           string   `json:"object"`
		ID               string   `json:"id"`
		Name             string   `json:"name"`
		Slug             string   `json:"slug"`
		Description      *string  `json:"description"`
		Permissions      []string `json:"permissions"`
		ResourceTypeSlug string   `json:"resource_type_slug"`
		Type             string   `json:"type"`
		CreatedAt        string   `json:"created_at"`
		UpdatedAt        string   `json:"updated_at"`
	}{r.Object, r.ID, r.Name, r.Slug, desc, r.Permissions, roleResourceType, r.Type, r.CreatedAt, r.UpdatedAt})
}

// listMetadata holds the cursors of the previous and next pages (null when
// there is none).
type listMetadata struct {
	Before *string `json:"before"`
	After  *string `json:"after"`
}

// listObject is WorkOS's paginated list.
type listObject[T any] struct {
	Object       string        `json:"object"`
	Data         []T           `json:"data"`
	ListMetadata *listMetadata `json:"list_metadata,omitempty"`
}

// checkResult is the answer of the WorkOS authorization check.
type checkResult struct {
	Authorized bool `json:"authorized"`
}

// errorObject is WorkOS's error body.
type errorObject struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
}

// fieldError is one failed requirement of a 422.
type fieldError struct {
	Code  string `json:"code"`
	Field string `json:"field"`
}

// workosStatus maps a membership state to WorkOS's status.
func workosStatus(s orgrbacv1alpha1.MembershipState) string {
	switch s {
	case orgrbacv1alpha1.MembershipInactive:
		return "inactive"
	case orgrbacv1alpha1.MembershipPending:
		return "pending"
	default:
		return "active"
	}
}

func (c *content) membershipObject(m *memberEntry) membershipObject {
	id, name := c.orgID(m)
	out := membershipObject{Object: "organization_membership", ID: m.name, UserID: m.user,
		OrganizationID: id, OrganizationName: name, Status: workosStatus(m.state),
		Roles: make([]slugRef, 0, len(m.roles)), DirectoryManaged: m.source == orgrbacv1alpha1.SourceDirectory,
		CustomAttributes: map[string]string{}, CreatedAt: formatTime(time.Unix(0, m.created)),
		UpdatedAt: formatTime(time.Unix(0, m.updated))}
	if role := m.primaryRole(); role != "" {
		out.Role = &slugRef{Slug: role}
	}
	for _, r := range m.roles {
		out.Roles = append(out.Roles, slugRef{Slug: r})
	}
	return out
}

func roleObjectOf(r *roleEntry) roleObject {
	name := r.displayName
	if name == "" {
		name = r.slug
	}
	typ := string(r.typ)
	if typ == "" {
		typ = string(resolve.RoleTypeEnvironment)
	}
	return roleObject{Object: "role", ID: r.name, Name: name, Slug: r.slug, Description: r.description,
		Permissions: append(make([]string, 0, len(r.permissions)), r.permissions...), Type: typ,
		CreatedAt: formatTime(r.created), UpdatedAt: formatTime(r.updated)}
}

func roleList(roles []*roleEntry) listObject[roleObject] {
	out := listObject[roleObject]{Object: "list", Data: make([]roleObject, 0, len(roles))}
	for _, r := range roles {
		out.Data = append(out.Data, roleObjectOf(r))
	}
	return out
}

// listQuery is a parsed organization memberships list request.
type listQuery struct {
	paging
	userID, organizationID string
	statuses               []orgrbacv1alpha1.MembershipState // nil: every status (the route asks for active ones)
}

// errInvalid is a 422 with its field errors.
type errInvalid struct {
	fields []fieldError
}

func (e *errInvalid) Error() string {
	parts := make([]string, len(e.fields))
	for i, f := range e.fields {
		parts[i] = f.Field + ": " + f.Code
	}
	return "invalid request parameters: " + strings.Join(parts, ", ")
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

// listMemberships filters and paginates the memberships of an environment. Memberships
// are ordered by creation time (then name), newest first unless q says asc; a
// cursor is a membership id, and the page holds the memberships strictly after
// (after) or strictly before (before) it in that order.
func (c *content) listMemberships(q listQuery) (listObject[membershipObject], error) {
	var orgName string
	if q.organizationID != "" {
		o := c.organization(q.organizationID)
		if o == nil {
			return listObject[membershipObject]{Object: "list", Data: []membershipObject{},
				ListMetadata: &listMetadata{}}, nil
		}
		orgName = o.name
	}
	items := make([]*memberEntry, 0, len(c.sorted))
	for _, m := range c.sorted {
		// Memberships of no organization a caller could name are left out
		// (content.membership).
		if c.orgs[m.organization] == nil || (orgName != "" && m.organization != orgName) ||
			(q.userID != "" && m.user != q.userID) ||
			(q.statuses != nil && !slices.Contains(q.statuses, m.state)) {
			continue
		}
		items = append(items, m)
	}
	if q.desc {
		slices.Reverse(items) // c.sorted is oldest first
	}
	data, before, after, err := window(q.paging, items, inOrder(q.paging, compareMembers),
		func(cursor string) (*memberEntry, bool) { m := c.membership(cursor); return m, m != nil },
		func(m *memberEntry) string { return m.name }, "organization membership")
	if err != nil {
		return listObject[membershipObject]{}, err
	}
	out := listObject[membershipObject]{Object: "list", Data: make([]membershipObject, 0, len(data)),
		ListMetadata: &listMetadata{Before: before, After: after}}
	for _, m := range data {
		out.Data = append(out.Data, c.membershipObject(m))
	}
	return out, nil
}
