// Package workos holds the WorkOS wire format of the objects orgrbac serves:
// the JSON the official SDKs deserialize, built from the decision API's read
// model. The decision API answers with them and the change events carry them
// as their data, so both show a client the same object.
package workos

import (
	"encoding/json"
	"time"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// TimeFormat is WorkOS's timestamp format (ISO 8601, UTC, milliseconds).
const TimeFormat = "2006-01-02T15:04:05.000Z"

func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// SlugRef is a role reference: {"slug": "admin"}.
type SlugRef struct {
	Slug string `json:"slug"`
}

// Membership is WorkOS's organization_membership object.
type Membership struct {
	Object           string            `json:"object"`
	ID               string            `json:"id"`
	UserID           string            `json:"user_id"`
	OrganizationID   string            `json:"organization_id"`
	OrganizationName string            `json:"organization_name"`
	Status           string            `json:"status"`
	Role             *SlugRef          `json:"role"`
	Roles            []SlugRef         `json:"roles"`
	DirectoryManaged bool              `json:"directory_managed"`
	CustomAttributes map[string]string `json:"custom_attributes"`
	CreatedAt        string            `json:"created_at"`
	UpdatedAt        string            `json:"updated_at"`
}

// Status maps a membership state to WorkOS's status.
func Status(s orgrbacv1alpha1.MembershipState) string {
	switch s {
	case orgrbacv1alpha1.MembershipInactive:
		return "inactive"
	case orgrbacv1alpha1.MembershipPending:
		return "pending"
	default:
		return "active"
	}
}

// MembershipOf is the WorkOS object of membership m of c.
func MembershipOf(c *store.Content, m *store.Member) Membership {
	id, name := c.OrgID(m)
	out := Membership{Object: "organization_membership", ID: m.Name(), UserID: m.User(),
		OrganizationID: id, OrganizationName: name, Status: Status(m.State()),
		Roles: make([]SlugRef, 0, len(m.Roles())), DirectoryManaged: m.Source() == orgrbacv1alpha1.SourceDirectory,
		CustomAttributes: map[string]string{}, CreatedAt: FormatTime(m.Created()),
		UpdatedAt: FormatTime(m.Updated())}
	if role := m.PrimaryRole(); role != "" {
		out.Role = &SlugRef{Slug: role}
	}
	for _, r := range m.Roles() {
		out.Roles = append(out.Roles, SlugRef{Slug: r})
	}
	return out
}

// Role is WorkOS's role object. Its JSON (MarshalJSON) also carries
// WorkOS's resource_type_slug, and a null description when it has none.
type Role struct {
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

// RoleResourceType is the resource type of every role: organization roles
// and environment roles are all scoped to organizations, as WorkOS's default.
const RoleResourceType = "organization"

// MarshalJSON writes the role as WorkOS does: description null when empty,
// and the resource type slug.
func (r Role) MarshalJSON() ([]byte, error) {
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
	}{r.Object, r.ID, r.Name, r.Slug, desc, r.Permissions, RoleResourceType, r.Type, r.CreatedAt, r.UpdatedAt})
}

func RoleOf(r *store.Role) Role {
	name := r.DisplayName()
	if name == "" {
		name = r.Slug()
	}
	typ := string(r.Type())
	if typ == "" {
		typ = string(resolve.RoleTypeEnvironment)
	}
	return Role{Object: "role", ID: r.Name(), Name: name, Slug: r.Slug(), Description: r.Description(),
		Permissions: append(make([]string, 0, len(r.Permissions())), r.Permissions()...), Type: typ,
		CreatedAt: FormatTime(r.Created()), UpdatedAt: FormatTime(r.Updated())}
}

// Organization is WorkOS's organization object, as the SDKs deserialize
// it (Go SDK models.go Organization, Node SDK deserializeOrganization, which
// maps domains and so needs the array). orgrbac organizations have no domains,
// no metadata and no Stripe customer (omitted, as WorkOS omits it when unset).
type Organization struct {
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

// ExternalID is the externalID of an organization, "" when it has none: its
// WorkOS id is its externalID when it has one, else its name. (An externalID
// equal to the organization's own name cannot be told apart from none.)
func ExternalID(o *store.Organization) string {
	if o.ID() != o.Name() {
		return o.ID()
	}
	return ""
}

func OrganizationOf(o *store.Organization) Organization {
	name := o.DisplayName()
	if name == "" {
		name = o.Name()
	}
	out := Organization{Object: "organization", ID: o.ID(), Name: name, Domains: []struct{}{},
		Metadata: map[string]string{}, CreatedAt: FormatTime(o.Created()), UpdatedAt: FormatTime(o.Updated())}
	if ext := ExternalID(o); ext != "" {
		out.ExternalID = &ext
	}
	return out
}
