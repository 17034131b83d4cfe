package workos

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
)

// The data of the change events whose objects the decision API does not serve
// in the same shape: WorkOS's role.*, organization_role.* and permission.*
// event data (Go SDK v9 RoleCreatedData, OrganizationRoleCreatedData,
// PermissionCreatedData). Memberships and organizations carry what the API
// serves (MembershipOf, OrganizationOf).

// RoleEventData is the data of a role.* event: an environment role.
type RoleEventData struct {
	Object           string   `json:"object"`
	Slug             string   `json:"slug"`
	ResourceTypeSlug string   `json:"resource_type_slug"`
	Permissions      []string `json:"permissions"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// RoleEventOf is the data of a role.* event about environment role r.
func RoleEventOf(r *store.Role) RoleEventData {
	return RoleEventData{Object: "role", Slug: r.Slug(), ResourceTypeSlug: RoleResourceType,
		Permissions: append(make([]string, 0, len(r.Permissions())), r.Permissions()...),
		CreatedAt:   FormatTime(r.Created()), UpdatedAt: FormatTime(r.Updated())}
}

// OrganizationRoleEventData is the data of an organization_role.* event.
// Description is null when the role has none.
type OrganizationRoleEventData struct {
	Object           string   `json:"object"`
	OrganizationID   string   `json:"organization_id"`
	Slug             string   `json:"slug"`
	Name             string   `json:"name"`
	Description      *string  `json:"description"`
	ResourceTypeSlug string   `json:"resource_type_slug"`
	Permissions      []string `json:"permissions"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
}

// OrganizationRoleEventOf is the data of an organization_role.* event about
// role r of the organization whose WorkOS id is orgID.
func OrganizationRoleEventOf(orgID string, r *store.Role) OrganizationRoleEventData {
	name := r.DisplayName()
	if name == "" {
		name = r.Slug()
	}
	return OrganizationRoleEventData{Object: "organization_role", OrganizationID: orgID, Slug: r.Slug(),
		Name: name, Description: nullable(r.Description()), ResourceTypeSlug: RoleResourceType,
		Permissions: append(make([]string, 0, len(r.Permissions())), r.Permissions()...),
		CreatedAt:   FormatTime(r.Created()), UpdatedAt: FormatTime(r.Updated())}
}

// Permission is WorkOS's permission object, as permission.* events carry it.
// orgrbac permissions are never system permissions.
type Permission struct {
	Object      string  `json:"object"`
	ID          string  `json:"id"`
	Slug        string  `json:"slug"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	System      bool    `json:"system"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

// PermissionOf is the WorkOS object of Permission p: its id is its object
// name, its name its displayName (its slug when unset), and its updated_at the
// newest of its creation and its conditions' transition times.
func PermissionOf(p *orgrbacv1alpha1.Permission) Permission {
	slug := p.EffectiveSlug()
	name := p.Spec.DisplayName
	if name == "" {
		name = slug
	}
	updated := p.CreationTimestamp.Time
	for _, c := range p.Status.Conditions {
		if c.LastTransitionTime.After(updated) {
			updated = c.LastTransitionTime.Time
		}
	}
	return Permission{Object: "permission", ID: p.Name, Slug: slug, Name: name,
		Description: nullable(p.Spec.Description), CreatedAt: formatMeta(p.CreationTimestamp),
		UpdatedAt: FormatTime(updated)}
}

func formatMeta(t metav1.Time) string { return FormatTime(t.Time) }

// nullable is s, or nil when it is empty (WorkOS's null description).
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
