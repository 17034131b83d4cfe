package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// Organization-role writes through the WorkOS routes: each is a write of an
// OrganizationRole object in the caller's environment, made through the API
// server (so admission judges it as it judges kubectl's).
//
// The path's {id} is the organization's WorkOS id (externalID or name),
// resolved by the index; {slug} names one of that organization's
// OrganizationRoles, found through the write client (the index lags behind
// writes). An environment role's slug names no OrganizationRole: the write
// routes answer 404 for it, as WorkOS does, though the read routes serve it.

// Bodies of the organization-role writes: a create or update is a few hundred
// bytes; setting 1,024 permissions of 128 characters is about 135 KiB.
const (
	maxOrgRoleBody            = 16 << 10
	maxOrgRolePermissionsBody = 256 << 10
)

// The limits of OrganizationRoleSpec (organizationrole_types.go), checked
// before writing so that callers get WorkOS's 422 with the field at fault.
const (
	maxOrgRoleSlug        = 64
	maxOrgRoleName        = 256
	maxOrgRoleDescription = 2048
	maxOrgRolePermissions = 1024
	maxPermissionSlug     = 128
)

// Error codes of the organization-role writes (WorkOS's).
const (
	codeOrgRoleSlugConflict      = "organization_role_slug_conflict"
	codeRoleHasAssignments       = "role_has_assignments"
	codeRoleHasGroupRoleMappings = "role_has_group_role_mappings"
)

// orgRoleSlugPrefix is the prefix WorkOS requires of organization-role slugs
// (orgrbac also accepts org_, but not through the WorkOS routes).
const orgRoleSlugPrefix = "org-"

// refusal is an answer a write gives instead of writing.
type refusal struct {
	code int
	body errorObject
}

func (e *refusal) Error() string { return e.body.Message }

func refuse(code int, errCode, message string, fields ...fieldError) *refusal {
	return &refusal{code: code, body: errorObject{Code: errCode, Message: message, Errors: fields}}
}

// invalid is a 422 with its field errors.
func invalid(fields []fieldError) *refusal {
	return refuse(http.StatusUnprocessableEntity, codeInvalid, "Validation failed.", fields...)
}

// writeRefusal answers err: a refusal as it says, a role not found as 404,
// anything else as the API server's refusal (writeKubeError).
func (s *Server) writeRefusal(w http.ResponseWriter, err error, slug string) {
	var ref *refusal
	if errors.As(err, &ref) {
		writeJSON(w, ref.code, ref.body)
		return
	}
	s.writeKubeError(w, err, "Role", slug)
}

// nullableString is a JSON string that may be absent (set false), null (value
// nil) or a string.
type nullableString struct {
	set   bool
	value *string
}

func (n *nullableString) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.value = nil
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.value = &v
	return nil
}

func isSlugChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// validOrgRoleSlug reports whether s is a slug WorkOS accepts for an
// organization role: org- and then a-z, 0-9, '-' and '_', at most 64 in all.
func validOrgRoleSlug(s string) bool {
	if len(s) <= len(orgRoleSlugPrefix) || len(s) > maxOrgRoleSlug || !strings.HasPrefix(s, orgRoleSlugPrefix) {
		return false
	}
	for i := range len(s) {
		if !isSlugChar(s[i]) {
			return false
		}
	}
	return true
}

// validPermissionSlug reports whether p is a permission slug a role may hold:
// 1-128 characters of a-z, 0-9, '_', '.', ':', '*' and '-'.
func validPermissionSlug(p string) bool {
	if len(p) == 0 || len(p) > maxPermissionSlug {
		return false
	}
	for i := range len(p) {
		if c := p[i]; !isSlugChar(c) && c != '.' && c != ':' && c != '*' {
			return false
		}
	}
	return true
}

const slugSuffixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomSuffix returns n random characters of a-z and 0-9.
func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = slugSuffixAlphabet[int(b[i])%len(slugSuffixAlphabet)]
	}
	return string(b)
}

// generatedOrgRoleSlug is the slug of a role created without one: as WorkOS
// does, org-, the name in slug characters, and a random suffix.
func generatedOrgRoleSlug(name string) string {
	const suffix = 8
	var b strings.Builder
	b.WriteString(orgRoleSlugPrefix)
	dash := true // no dash right after the prefix
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	base := b.String()
	base = strings.TrimRight(base[:min(len(base), maxOrgRoleSlug-suffix-1)], "-")
	if base == strings.TrimSuffix(orgRoleSlugPrefix, "-") {
		return orgRoleSlugPrefix + randomSuffix(suffix)
	}
	return base + "-" + randomSuffix(suffix)
}

// orgRoleGenerateName is the generateName of a new OrganizationRole: the
// organization's name and the slug, as a DNS label prefix short enough that
// the API server keeps it whole before its random suffix.
func orgRoleGenerateName(org, slug string) string {
	const maxPrefix = 57 // the API server keeps 58 characters of a generateName
	base := strings.NewReplacer(".", "-", "_", "-").Replace(org + "-" + slug)
	base = strings.TrimRight(base[:min(len(base), maxPrefix)], "-")
	if base == "" {
		return "orgrole-"
	}
	return base + "-"
}

// orgRoleTarget is the environment and organization an organization-role
// write acts in.
type orgRoleTarget struct {
	namespace string
	// org is the Organization's object name; id the WorkOS id the caller gave.
	org, id string
}

// orgRoleWrite starts an organization-role write: it selects and authorizes
// the environment (as the reads do), requires the write client, reads the
// body (when v is not nil) and resolves the organization the path's {id}
// names. It writes the answer and returns false when the request must stop.
func (s *Server) orgRoleWrite(w http.ResponseWriter, r *http.Request, u caller, limit int64, v any) (
	client.Client, orgRoleTarget, bool) {
	e := s.environment(w, r, u)
	if e == nil {
		return nil, orgRoleTarget{}, false
	}
	wc, ok := s.writeClient(w)
	if !ok {
		return nil, orgRoleTarget{}, false
	}
	if v != nil && !decode(w, r, limit, v) {
		return nil, orgRoleTarget{}, false
	}
	t := orgRoleTarget{id: r.PathValue("id")}
	setRevision(w, e.Read(func(c *store.Content) {
		t.namespace = c.Namespace()
		if o := c.Organization(t.id); o != nil {
			t.org = o.Name()
		}
	}))
	if t.org == "" {
		writeJSON(w, http.StatusNotFound, errorObject{Code: codeNotFound,
			Message: fmt.Sprintf("Organization not found: '%s'.", t.id)})
		return nil, orgRoleTarget{}, false
	}
	return wc, t, true
}

// orgRoles lists the OrganizationRoles of t's organization through the
// write client, the ones being deleted left out.
func orgRoles(ctx context.Context, wc client.Client, t orgRoleTarget) ([]orgrbacv1alpha1.OrganizationRole, error) {
	var list orgrbacv1alpha1.OrganizationRoleList
	if err := wc.List(ctx, &list, client.InNamespace(t.namespace)); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list.Items, func(o orgrbacv1alpha1.OrganizationRole) bool {
		return o.Spec.Organization != t.org || model.Deleting(&o)
	}), nil
}

// findOrgRole returns the OrganizationRole of t's organization with that slug
// (the oldest, which wins over its duplicates), or a 404 refusal.
func findOrgRole(ctx context.Context, wc client.Client, t orgRoleTarget, slug string) (*orgrbacv1alpha1.OrganizationRole, error) {
	roles, err := orgRoles(ctx, wc, t)
	if err != nil {
		return nil, err
	}
	i := resolve.Oldest(roles, func(o *orgrbacv1alpha1.OrganizationRole) (resolve.Meta, bool) {
		return model.Meta(o), o.Spec.Slug == slug
	})
	if i < 0 {
		return nil, refuse(http.StatusNotFound, codeNotFound, fmt.Sprintf("Role not found: '%s'.", slug))
	}
	return &roles[i], nil
}

// updateOrgRole changes the OrganizationRole of t's organization that slug
// names: change edits the object as read through the write client and
// reports whether it changed anything; the object is written only then,
// retried on conflicts with a fresh read. It returns the role as it is after
// the write.
func (s *Server) updateOrgRole(r *http.Request, wc client.Client, t orgRoleTarget, u caller, slug string,
	change func(o *orgrbacv1alpha1.OrganizationRole) (bool, error)) (*orgrbacv1alpha1.OrganizationRole, error) {
	ctx, cancel := writeContext(r)
	defer cancel()
	found, err := findOrgRole(ctx, wc, t, slug)
	if err != nil {
		return nil, err
	}
	key := client.ObjectKeyFromObject(found)
	var out *orgrbacv1alpha1.OrganizationRole
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		o := &orgrbacv1alpha1.OrganizationRole{}
		if err := wc.Get(ctx, key, o); err != nil {
			return err
		}
		if o.UID != found.UID || model.Deleting(o) {
			return refuse(http.StatusNotFound, codeNotFound, fmt.Sprintf("Role not found: '%s'.", slug))
		}
		changed, err := change(o)
		if err != nil {
			return err
		}
		if changed {
			markWritten(o, u)
			if err := wc.Update(ctx, o, s.fieldOwner()); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	return out, err
}

// createOrganizationRoleRequest is the body of POST
// /authorization/organizations/{id}/roles.
type createOrganizationRoleRequest struct {
	Slug             *string `json:"slug"`
	Name             *string `json:"name"`
	Description      *string `json:"description"`
	ResourceTypeSlug *string `json:"resource_type_slug"`
}

// validate checks the request and settles the slug (generated when absent).
func (req *createOrganizationRoleRequest) validate() (slug string, err error) {
	var bad []fieldError
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	switch {
	case strings.TrimSpace(name) == "":
		bad = append(bad, fieldError{Code: "name is required", Field: "name"})
	case len(name) > maxOrgRoleName:
		bad = append(bad, fieldError{Code: fmt.Sprintf("name must be at most %d characters", maxOrgRoleName), Field: "name"})
	}
	if req.Slug != nil {
		slug = *req.Slug
		if !validOrgRoleSlug(slug) {
			bad = append(bad, fieldError{Code: fmt.Sprintf("slug must begin with %q and contain only lowercase letters, "+
				"numbers, hyphens and underscores, at most %d characters", orgRoleSlugPrefix, maxOrgRoleSlug), Field: "slug"})
		}
	}
	if req.Description != nil && len(*req.Description) > maxOrgRoleDescription {
		bad = append(bad, fieldError{Code: fmt.Sprintf("description must be at most %d characters", maxOrgRoleDescription),
			Field: "description"})
	}
	if req.ResourceTypeSlug != nil && *req.ResourceTypeSlug != "organization" {
		bad = append(bad, fieldError{Code: "resource_type_slug must be organization: resource-scoped roles are not supported",
			Field: "resource_type_slug"})
	}
	if len(bad) > 0 {
		return "", invalid(bad)
	}
	if req.Slug == nil {
		slug = generatedOrgRoleSlug(name)
	}
	return slug, nil
}

func (s *Server) createOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	var req createOrganizationRoleRequest
	wc, t, ok := s.orgRoleWrite(w, r, u, maxOrgRoleBody, &req)
	if !ok {
		return
	}
	slug, err := req.validate()
	if err != nil {
		s.writeRefusal(w, err, "")
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	roles, err := orgRoles(ctx, wc, t)
	if err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	if slices.ContainsFunc(roles, func(o orgrbacv1alpha1.OrganizationRole) bool { return o.Spec.Slug == slug }) {
		s.writeRefusal(w, refuse(http.StatusConflict, codeOrgRoleSlugConflict,
			fmt.Sprintf("Role with slug '%s' already exists in this organization.", slug)), slug)
		return
	}
	o := &orgrbacv1alpha1.OrganizationRole{Spec: orgrbacv1alpha1.OrganizationRoleSpec{
		Organization: t.org, Slug: slug, DisplayName: *req.Name}}
	o.Namespace, o.GenerateName = t.namespace, orgRoleGenerateName(t.org, slug)
	if req.Description != nil {
		o.Spec.Description = *req.Description
	}
	markWritten(o, u)
	if err := wc.Create(ctx, o, s.fieldOwner()); err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	writeJSON(w, http.StatusCreated, workos.RoleOf(store.RoleOf(o)))
}

// updateOrganizationRoleRequest is the body of PATCH
// /authorization/organizations/{id}/roles/{slug}: absent fields stay, a null
// description clears it.
type updateOrganizationRoleRequest struct {
	Name        nullableString `json:"name"`
	Description nullableString `json:"description"`
}

func (req *updateOrganizationRoleRequest) validate() error {
	var bad []fieldError
	if n := req.Name; n.set && (n.value == nil || strings.TrimSpace(*n.value) == "" || len(*n.value) > maxOrgRoleName) {
		bad = append(bad, fieldError{Code: fmt.Sprintf("name must be a non-empty string of at most %d characters", maxOrgRoleName),
			Field: "name"})
	}
	if d := req.Description; d.set && d.value != nil && len(*d.value) > maxOrgRoleDescription {
		bad = append(bad, fieldError{Code: fmt.Sprintf("description must be at most %d characters", maxOrgRoleDescription),
			Field: "description"})
	}
	if len(bad) > 0 {
		return invalid(bad)
	}
	return nil
}

func (s *Server) updateOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	var req updateOrganizationRoleRequest
	wc, t, ok := s.orgRoleWrite(w, r, u, maxOrgRoleBody, &req)
	if !ok {
		return
	}
	slug := r.PathValue("slug")
	if err := req.validate(); err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	o, err := s.updateOrgRole(r, wc, t, u, slug, func(o *orgrbacv1alpha1.OrganizationRole) (bool, error) {
		before := o.Spec
		if req.Name.set {
			o.Spec.DisplayName = *req.Name.value
		}
		if req.Description.set {
			o.Spec.Description = ""
			if req.Description.value != nil {
				o.Spec.Description = *req.Description.value
			}
		}
		return o.Spec.DisplayName != before.DisplayName || o.Spec.Description != before.Description, nil
	})
	if err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	writeJSON(w, http.StatusOK, workos.RoleOf(store.RoleOf(o)))
}

// roleInUse returns the 409 of a role that memberships or group mappings of
// t's organization still use, as the API server holds them now; nil when
// none does. A membership uses the role when its spec names it or its status
// resolved it (as the organization's default role, say).
func roleInUse(ctx context.Context, wc client.Client, t orgRoleTarget, slug string) error {
	var members orgrbacv1alpha1.MembershipList
	if err := wc.List(ctx, &members, client.InNamespace(t.namespace)); err != nil {
		return err
	}
	n := 0
	for i := range members.Items {
		m := &members.Items[i]
		if m.Spec.Organization == t.org && !model.Deleting(m) &&
			(slices.Contains(m.Spec.Roles, slug) || slices.Contains(m.Status.Roles, slug)) {
			n++
		}
	}
	if n > 0 {
		return refuse(http.StatusConflict, codeRoleHasAssignments, fmt.Sprintf(
			"Role '%s' is assigned to %d organization membership(s); assign them other roles before deleting it.", slug, n))
	}
	var mappings orgrbacv1alpha1.GroupMappingList
	if err := wc.List(ctx, &mappings, client.InNamespace(t.namespace)); err != nil {
		return err
	}
	n = 0
	for i := range mappings.Items {
		g := &mappings.Items[i]
		if g.Spec.Organization == t.org && g.Spec.Role == slug && !model.Deleting(g) {
			n++
		}
	}
	if n > 0 {
		return refuse(http.StatusConflict, codeRoleHasGroupRoleMappings, fmt.Sprintf(
			"Role '%s' is the role of %d group role mapping(s); remove them before deleting it.", slug, n))
	}
	return nil
}

func (s *Server) deleteOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	wc, t, ok := s.orgRoleWrite(w, r, u, 0, nil)
	if !ok {
		return
	}
	slug := r.PathValue("slug")
	ctx, cancel := writeContext(r)
	defer cancel()
	o, err := findOrgRole(ctx, wc, t, slug)
	if err == nil {
		err = roleInUse(ctx, wc, t, slug)
	}
	if err == nil {
		// Only the object that was checked (deleteWritten's preconditions: not
		// one recreated since), recorded for the caller first.
		err = s.deleteWritten(ctx, wc, o, u)
	}
	if err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// addOrganizationRolePermissionRequest is the body of POST
// /authorization/organizations/{id}/roles/{slug}/permissions.
type addOrganizationRolePermissionRequest struct {
	Slug string `json:"slug"`
}

func (s *Server) addOrganizationRolePermission(w http.ResponseWriter, r *http.Request, u caller) {
	var req addOrganizationRolePermissionRequest
	wc, t, ok := s.orgRoleWrite(w, r, u, maxOrgRoleBody, &req)
	if !ok {
		return
	}
	slug := r.PathValue("slug")
	if !validPermissionSlug(req.Slug) {
		s.writeRefusal(w, invalid([]fieldError{{Code: permissionSlugRule, Field: "slug"}}), slug)
		return
	}
	o, err := s.updateOrgRole(r, wc, t, u, slug, func(o *orgrbacv1alpha1.OrganizationRole) (bool, error) {
		perms := store.SortedSet(o.Spec.Permissions)
		if _, found := slices.BinarySearch(perms, req.Slug); found {
			return false, nil // already there: nothing to write
		}
		if len(perms) >= maxOrgRolePermissions {
			return false, invalid([]fieldError{{Code: fmt.Sprintf("a role holds at most %d permissions",
				maxOrgRolePermissions), Field: "slug"}})
		}
		o.Spec.Permissions = store.SortedSet(append(perms, req.Slug))
		return true, nil
	})
	if err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	writeJSON(w, http.StatusOK, workos.RoleOf(store.RoleOf(o)))
}

// permissionSlugRule is the field error of an invalid permission slug.
var permissionSlugRule = fmt.Sprintf("permission slugs are 1-%d characters of a-z, 0-9, '_', '.', ':', '*' and '-'",
	maxPermissionSlug)

// setOrganizationRolePermissionsRequest is the body of PUT
// /authorization/organizations/{id}/roles/{slug}/permissions.
type setOrganizationRolePermissionsRequest struct {
	Permissions *[]string `json:"permissions"`
}

func (s *Server) setOrganizationRolePermissions(w http.ResponseWriter, r *http.Request, u caller) {
	var req setOrganizationRolePermissionsRequest
	wc, t, ok := s.orgRoleWrite(w, r, u, maxOrgRolePermissionsBody, &req)
	if !ok {
		return
	}
	slug := r.PathValue("slug")
	var bad []fieldError
	switch {
	case req.Permissions == nil:
		bad = append(bad, fieldError{Code: "permissions is required (an empty array removes them all)", Field: "permissions"})
	case slices.ContainsFunc(*req.Permissions, func(p string) bool { return !validPermissionSlug(p) }):
		bad = append(bad, fieldError{Code: permissionSlugRule, Field: "permissions"})
	}
	var perms []string
	if len(bad) == 0 {
		if perms = store.SortedSet(*req.Permissions); len(perms) > maxOrgRolePermissions {
			bad = append(bad, fieldError{Code: fmt.Sprintf("a role holds at most %d permissions", maxOrgRolePermissions),
				Field: "permissions"})
		}
	}
	if len(bad) > 0 {
		s.writeRefusal(w, invalid(bad), slug)
		return
	}
	o, err := s.updateOrgRole(r, wc, t, u, slug, func(o *orgrbacv1alpha1.OrganizationRole) (bool, error) {
		if slices.Equal(store.SortedSet(o.Spec.Permissions), perms) {
			return false, nil
		}
		o.Spec.Permissions = perms
		if len(perms) == 0 {
			o.Spec.Permissions = nil
		}
		return true, nil
	})
	if err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	writeJSON(w, http.StatusOK, workos.RoleOf(store.RoleOf(o)))
}

func (s *Server) removeOrganizationRolePermission(w http.ResponseWriter, r *http.Request, u caller) {
	wc, t, ok := s.orgRoleWrite(w, r, u, 0, nil)
	if !ok {
		return
	}
	slug, perm := r.PathValue("slug"), r.PathValue("permission")
	o, err := s.updateOrgRole(r, wc, t, u, slug, func(o *orgrbacv1alpha1.OrganizationRole) (bool, error) {
		if !slices.Contains(o.Spec.Permissions, perm) {
			return false, refuse(http.StatusNotFound, codeNotFound,
				fmt.Sprintf("Permission '%s' is not assigned to role '%s'.", perm, slug))
		}
		o.Spec.Permissions = slices.DeleteFunc(store.SortedSet(o.Spec.Permissions), func(p string) bool { return p == perm })
		if len(o.Spec.Permissions) == 0 {
			o.Spec.Permissions = nil
		}
		return true, nil
	})
	if err != nil {
		s.writeRefusal(w, err, slug)
		return
	}
	writeJSON(w, http.StatusOK, workos.RoleOf(store.RoleOf(o)))
}
