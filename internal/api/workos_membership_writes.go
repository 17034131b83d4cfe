package api

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// Membership writes through the WorkOS routes: each is a write of a Membership
// object in the caller's environment, validated against the served model
// before anything is written, and answered with the membership as the
// Membership controller will resolve it (resolve.Env.Resolve on the compiled
// model), so that a caller sees its new roles at once.

// maxMembershipWriteBody bounds the body of a create or an update: 64 role
// slugs of 64 characters, a user and an organization id, with room to spare.
const maxMembershipWriteBody = 16 << 10

// Error codes of the membership writes. WorkOS documents that deactivating or
// reactivating a pending membership "returns an error" without naming it:
// these codes say what happened.
const (
	codeDeactivatePending = "cannot_deactivate_pending_organization_membership"
	codeReactivatePending = "cannot_reactivate_pending_organization_membership"
)

// membershipWriteRequest is the body of a create or an update.
type membershipWriteRequest struct {
	Namespace      string    `json:"namespace"`
	UserID         string    `json:"user_id"`
	OrganizationID string    `json:"organization_id"`
	RoleSlug       string    `json:"role_slug"`
	RoleSlugs      *[]string `json:"role_slugs"`
}

// membershipWriteObject is a write's answer: WorkOS's membership object and
// which source gave its roles (an orgrbac extension: a directory or SSO group
// mapping outranks the roles a write sets).
type membershipWriteObject struct {
	workos.Membership
	// RoleSource is "directory", "sso", "manual" or "default"; null when the
	// membership resolves to no role.
	RoleSource *string `json:"role_source"`
}

// writeFailure is an answer a write's validation or its retried update chose
// instead of writing.
type writeFailure struct {
	code int
	body errorObject
}

func (f *writeFailure) Error() string { return f.body.Message }

func failWith(code int, errCode, message string, fields ...fieldError) *writeFailure {
	return &writeFailure{code: code, body: errorObject{Code: errCode, Message: message, Errors: fields}}
}

func invalidField(field, message string) *writeFailure {
	return failWith(http.StatusUnprocessableEntity, codeInvalid, message, fieldError{Code: message, Field: field})
}

func membershipNotFound(id string) *writeFailure {
	return failWith(http.StatusNotFound, codeNotFound, fmt.Sprintf("Organization membership not found: '%s'.", id))
}

// requestedRoles returns the roles a create or an update asks for (nil: none
// given), without repeats, or the 422 of a request that names them wrongly.
func (req *membershipWriteRequest) requestedRoles() ([]string, *writeFailure) {
	switch {
	case req.RoleSlug != "" && req.RoleSlugs != nil:
		return nil, invalidField("role_slugs", "role_slug and role_slugs are mutually exclusive")
	case req.RoleSlug != "":
		return []string{req.RoleSlug}, nil
	case req.RoleSlugs == nil:
		return nil, nil
	case len(*req.RoleSlugs) == 0:
		return nil, invalidField("role_slugs", "role_slugs must hold at least one role slug")
	}
	var out []string
	for _, r := range *req.RoleSlugs {
		if r == "" {
			return nil, invalidField("role_slugs", "role slugs must not be empty strings")
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// checkRoles refuses roles the organization does not see, and several roles
// in a single-role environment.
func checkRoles(env *resolve.Env, org *store.Organization, roles []string) *writeFailure {
	field := "role_slugs"
	if len(roles) == 1 {
		field = "role_slug"
	}
	for _, r := range roles {
		if org.RoleBySlug(r) == nil {
			return invalidField(field, fmt.Sprintf("role '%s' is not a role of organization '%s'", r, org.ID()))
		}
	}
	if len(roles) > 1 && !env.MultipleRoles() {
		return invalidField("role_slugs", "the environment allows one role per membership: role_slugs may hold only one role")
	}
	return nil
}

// isUserID reports whether s is a valid spec.user: 1-256 printable ASCII
// characters without spaces, as the Membership CRD requires.
func isUserID(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := range len(s) {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

// newMembershipName returns a fresh object name, "om-" and 20 random
// lower-case base32 characters (100 bits), WorkOS-like and a valid name.
func newMembershipName() string {
	var b [13]byte
	_, _ = rand.Read(b[:])
	return "om-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:20]
}

// writeTarget is what a write reads from the served model under its lock: the
// compiled environment and the organization (both immutable), and the
// membership named by the route (zero when none) with the name of its user's
// membership in its organization (its winner among duplicates).
type writeTarget struct {
	env    *resolve.Env
	org    *store.Organization
	name   string
	state  orgrbacv1alpha1.MembershipState
	winner string
}

// servedMembership finds the membership a route's id names as the read
// routes serve it (store.Content.Membership): 404 otherwise.
func servedMembership(e *store.EnvIndex, id string) (writeTarget, *writeFailure) {
	var t writeTarget
	found := false
	e.Read(func(c *store.Content) {
		m := c.Membership(id)
		if m == nil {
			return
		}
		found = true
		t = writeTarget{env: c.Env(), org: c.OrganizationOf(m), name: m.Name(), state: m.State()}
		if w := c.Member(t.org, m.User()); w != nil {
			t.winner = w.Name()
		}
	})
	if !found {
		return t, membershipNotFound(id)
	}
	return t, nil
}

// resolvedObject computes the answer of a write: obj as the Membership
// controller will resolve it with the compiled model.
func (s *Server) resolvedObject(t writeTarget, obj *orgrbacv1alpha1.Membership) membershipWriteObject {
	m := resolve.Membership{Meta: resolve.Meta{Name: obj.Name, Created: obj.CreationTimestamp.Time},
		Organization: obj.Spec.Organization, User: obj.Spec.User, Roles: obj.Spec.Roles,
		DirectoryGroups: obj.Spec.DirectoryGroups, SSOGroups: obj.Spec.SSOGroups, State: resolve.State(obj.Spec.State)}
	var res resolve.Result
	if t.winner != "" && t.winner != obj.Name {
		res = resolve.DuplicateResult(m, t.winner)
	} else {
		res = t.env.Resolve(m)
	}
	name := t.org.DisplayName()
	if name == "" {
		name = t.org.Name()
	}
	now := s.opts.Clock.Now()
	created := obj.CreationTimestamp.Time
	if created.IsZero() {
		created = now
	}
	out := membershipWriteObject{Membership: workos.Membership{Object: "organization_membership", ID: obj.Name,
		UserID: obj.Spec.User, OrganizationID: t.org.ID(), OrganizationName: name,
		Status: workos.Status(obj.Spec.State), Roles: make([]workos.SlugRef, 0, len(res.Roles)),
		DirectoryManaged: res.Source == resolve.SourceDirectory, CustomAttributes: map[string]string{},
		CreatedAt: workos.FormatTime(created), UpdatedAt: workos.FormatTime(now)}}
	for _, r := range res.Roles {
		out.Roles = append(out.Roles, workos.SlugRef{Slug: r})
	}
	if res.Role != "" {
		out.Role = &workos.SlugRef{Slug: res.Role}
	}
	if res.Source != "" {
		src := strings.ToLower(string(res.Source))
		out.RoleSource = &src
	}
	return out
}

// writeMembershipFailure answers for an error of a write: a failure the
// handler chose, else the API server's refusal.
func (s *Server) writeMembershipFailure(w http.ResponseWriter, err error, id string) {
	var f *writeFailure
	if errors.As(err, &f) {
		writeJSON(w, f.code, f.body)
		return
	}
	s.writeKubeError(w, err, "Organization membership", id)
}

func (s *Server) createMembership(w http.ResponseWriter, r *http.Request, u caller) {
	var req membershipWriteRequest
	e := s.bodyEnvironment(w, r, u, maxMembershipWriteBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	cl, ok := s.writeClient(w)
	if !ok {
		return
	}
	roles, fail := req.requestedRoles()
	switch {
	case fail != nil:
	case req.UserID == "":
		fail = invalidField("user_id", "user_id is required")
	case !isUserID(req.UserID):
		fail = invalidField("user_id", "user_id must be 1 to 256 printable ASCII characters without spaces")
	case req.OrganizationID == "":
		fail = invalidField("organization_id", "organization_id is required")
	}
	if fail != nil {
		writeJSON(w, fail.code, fail.body)
		return
	}
	var (
		t        writeTarget
		existing string
	)
	setRevision(w, e.Read(func(c *store.Content) {
		t.env = c.Env()
		t.org = c.Organization(req.OrganizationID)
		if t.org == nil {
			return
		}
		if m := c.Member(t.org, req.UserID); m != nil {
			existing, t.state, t.name, t.winner = m.Name(), m.State(), m.Name(), m.Name()
		}
	}))
	switch {
	case t.org == nil:
		fail = failWith(http.StatusNotFound, codeNotFound, fmt.Sprintf("Organization not found: '%s'.", req.OrganizationID))
	case existing != "" && t.state != orgrbacv1alpha1.MembershipInactive:
		fail = failWith(http.StatusConflict, codeConflict, fmt.Sprintf(
			"The user '%s' already has an organization membership in organization '%s': '%s'.", req.UserID, t.org.ID(), existing))
	default:
		fail = checkRoles(t.env, t.org, roles)
	}
	if fail != nil {
		writeJSON(w, fail.code, fail.body)
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	if existing != "" {
		// As WorkOS's: a create for an inactive membership activates it with the
		// roles asked for.
		var obj orgrbacv1alpha1.Membership
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := cl.Get(ctx, client.ObjectKey{Namespace: e.Namespace(), Name: existing}, &obj); err != nil {
				return err
			}
			if obj.Spec.State != orgrbacv1alpha1.MembershipInactive {
				return failWith(http.StatusConflict, codeConflict, fmt.Sprintf(
					"The user '%s' already has an organization membership in organization '%s': '%s'.",
					req.UserID, t.org.ID(), existing))
			}
			obj.Spec.State, obj.Spec.Roles = orgrbacv1alpha1.MembershipActive, roles
			markWritten(&obj, u)
			return cl.Update(ctx, &obj, s.fieldOwner())
		})
		if err != nil {
			s.writeMembershipFailure(w, err, existing)
			return
		}
		writeJSON(w, http.StatusCreated, s.resolvedObject(t, &obj))
		return
	}
	obj := &orgrbacv1alpha1.Membership{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace(), Name: newMembershipName()},
		Spec: orgrbacv1alpha1.MembershipSpec{Organization: t.org.Name(), User: req.UserID, Roles: roles,
			State: orgrbacv1alpha1.MembershipActive},
	}
	markWritten(obj, u)
	if err := cl.Create(ctx, obj, s.fieldOwner()); err != nil {
		s.writeKubeError(w, err, "Organization membership", obj.Name)
		return
	}
	writeJSON(w, http.StatusCreated, s.resolvedObject(t, obj))
}

func (s *Server) updateMembership(w http.ResponseWriter, r *http.Request, u caller) {
	var req membershipWriteRequest
	e := s.bodyEnvironment(w, r, u, maxMembershipWriteBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	cl, ok := s.writeClient(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	roles, fail := req.requestedRoles()
	var t writeTarget
	if fail == nil {
		t, fail = servedMembership(e, id)
	}
	if fail == nil {
		fail = checkRoles(t.env, t.org, roles)
	}
	if fail != nil {
		writeJSON(w, fail.code, fail.body)
		return
	}
	// Without a role the update changes nothing (WorkOS's "defaults to member"
	// is create's): the membership is answered as it is.
	s.changeMembership(w, r, cl, e.Namespace(), t, id, u, func(obj *orgrbacv1alpha1.Membership) (bool, error) {
		if roles == nil || slices.Equal(obj.Spec.Roles, roles) {
			return false, nil
		}
		obj.Spec.Roles = roles
		return true, nil
	})
}

// changeMembership reads the membership named id through the write client,
// lets change edit it (reporting whether it changed anything, or refusing),
// and updates it with its resourceVersion, retrying on conflicts; it answers
// with the membership as it will resolve.
func (s *Server) changeMembership(w http.ResponseWriter, r *http.Request, cl client.Client, ns string, t writeTarget,
	id string, u caller, change func(obj *orgrbacv1alpha1.Membership) (bool, error)) {
	ctx, cancel := writeContext(r)
	defer cancel()
	var obj orgrbacv1alpha1.Membership
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: t.name}, &obj); err != nil {
			return err
		}
		changed, err := change(&obj)
		if err != nil || !changed {
			return err
		}
		markWritten(&obj, u)
		return cl.Update(ctx, &obj, s.fieldOwner())
	})
	if err != nil {
		s.writeMembershipFailure(w, err, id)
		return
	}
	writeJSON(w, http.StatusOK, s.resolvedObject(t, &obj))
}

// bodilessMembershipWrite starts a write without a body to the membership the
// path's id names (delete, deactivate, reactivate): the environment, the write
// client and the served membership, or false once it has answered.
func (s *Server) bodilessMembershipWrite(w http.ResponseWriter, r *http.Request, u caller) (
	e *store.EnvIndex, cl client.Client, t writeTarget, id string, ok bool) {
	if e = s.environment(w, r, u); e == nil {
		return nil, nil, t, "", false
	}
	if cl, ok = s.writeClient(w); !ok {
		return nil, nil, t, "", false
	}
	id = r.PathValue("id")
	t, fail := servedMembership(e, id)
	if fail != nil {
		writeJSON(w, fail.code, fail.body)
		return nil, nil, t, "", false
	}
	return e, cl, t, id, true
}

func (s *Server) deleteMembership(w http.ResponseWriter, r *http.Request, u caller) {
	e, cl, t, id, ok := s.bodilessMembershipWrite(w, r, u)
	if !ok {
		return
	}
	ctx, cancel := writeContext(r)
	defer cancel()
	// The current object, on which deleteWritten records the caller before it
	// deletes exactly that version.
	obj := &orgrbacv1alpha1.Membership{}
	err := cl.Get(ctx, client.ObjectKey{Namespace: e.Namespace(), Name: t.name}, obj)
	if err == nil {
		err = s.deleteWritten(ctx, cl, obj, u)
	}
	if err != nil {
		s.writeKubeError(w, err, "Organization membership", id)
		return
	}
	s.log.V(1).Info("Deleted a membership for a caller", "namespace", e.Namespace(), "membership", t.name, "caller", u.name)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) deactivateMembership(w http.ResponseWriter, r *http.Request, u caller) {
	s.setMembershipState(w, r, u, orgrbacv1alpha1.MembershipInactive)
}

func (s *Server) reactivateMembership(w http.ResponseWriter, r *http.Request, u caller) {
	s.setMembershipState(w, r, u, orgrbacv1alpha1.MembershipActive)
}

// setMembershipState serves deactivate (to Inactive) and reactivate (to
// Active): a no-op when the membership is in that state already, an error for
// a pending membership (WorkOS's: delete it, or let the user accept the
// invitation), the roles kept.
func (s *Server) setMembershipState(w http.ResponseWriter, r *http.Request, u caller, to orgrbacv1alpha1.MembershipState) {
	e, cl, t, id, ok := s.bodilessMembershipWrite(w, r, u)
	if !ok {
		return
	}
	s.changeMembership(w, r, cl, e.Namespace(), t, id, u, func(obj *orgrbacv1alpha1.Membership) (bool, error) {
		state := obj.Spec.State
		if resolve.State(state).IsActive() {
			state = orgrbacv1alpha1.MembershipActive // "" is Active too
		}
		switch state {
		case to:
			return false, nil
		case orgrbacv1alpha1.MembershipPending:
			if to == orgrbacv1alpha1.MembershipInactive {
				return false, failWith(http.StatusBadRequest, codeDeactivatePending,
					fmt.Sprintf("Organization membership '%s' is pending: delete it instead of deactivating it.", id))
			}
			return false, failWith(http.StatusBadRequest, codeReactivatePending,
				fmt.Sprintf("Organization membership '%s' is pending: the user must accept the invitation.", id))
		}
		obj.Spec.State = to
		return true, nil
	})
}
