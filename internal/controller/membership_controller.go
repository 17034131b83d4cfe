package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/textlist"
)

// MembershipReconciler resolves a Membership's effective roles and permissions
// into its status.
type MembershipReconciler struct {
	Client   client.Client
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
	// models holds the namespaces' compiled environments (shared with the
	// other controllers).
	models *model.Cache
	// written holds the resourceVersions of this controller's own writes until
	// the cache has them (writtenVersions).
	written *writtenVersions
}

// Event reasons of Memberships.
const (
	eventRolesChanged = "RolesChanged"
)

// Reconcile gathers the membership's environment from the cache, resolves it,
// builds its status (membershipStatus) and writes it when it changed, then
// records events for what changed.
func (r *MembershipReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var m orgrbacv1alpha1.Membership
	if err := r.Client.Get(ctx, req.NamespacedName, &m); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deleting(&m) {
		r.written.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	// A copy older than this controller's last write: the write's own event
	// reconciles it again (writtenVersions).
	if r.written.stale(&m) {
		return ctrl.Result{}, nil
	}
	rv := m.ResourceVersion
	if err := ensureOrganizationOwner(ctx, r.Client, &m, m.Spec.Organization); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if m.ResourceVersion != rv {
		r.written.wrote(&m)
	}
	// The builder replaces the status and changes nothing of the old one, so
	// this copy is what the membership said before.
	before := m.Status

	wrote, err := reconcileStatus(ctx, r.Client, r.Clock, &m,
		func(m *orgrbacv1alpha1.Membership) *orgrbacv1alpha1.MembershipStatus { return &m.Status },
		r.resolve, func(old orgrbacv1alpha1.MembershipStatus, gen int64, res resolve.Result, now metav1.Time) orgrbacv1alpha1.MembershipStatus {
			return membershipStatus(&old, gen, res, now)
		})
	if err != nil {
		return ctrl.Result{}, err
	}
	if wrote {
		r.written.wrote(&m)
		r.events(&before, &m)
	}
	return ctrl.Result{}, nil
}

// resolve is the membership's gather step: it reads the memberships of the
// same user and the namespace's compiled environment, and resolves the
// membership with them.
func (r *MembershipReconciler) resolve(ctx context.Context, m *orgrbacv1alpha1.Membership) (resolve.Result, error) {
	self := toResolveMembership(m)

	var peers orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &peers, client.InNamespace(m.Namespace), readOnly,
		client.MatchingFields{index.MembershipByOrgUser: index.OrgUserKey(m.Spec.Organization, m.Spec.User)}); err != nil {
		return resolve.Result{}, fmt.Errorf("listing memberships of the same user: %w", err)
	}
	if len(peers.Items) > 1 {
		ms := make([]resolve.Membership, 0, len(peers.Items))
		for i := range peers.Items {
			if !deleting(&peers.Items[i]) {
				ms = append(ms, toResolveMembership(&peers.Items[i]))
			}
		}
		if winner, dup := resolve.DuplicateMemberships(ms)[m.Name]; dup {
			return resolve.DuplicateResult(self, winner), nil
		}
	}

	env, err := namespaceEnv(ctx, r.models, r.Client, m.Namespace)
	if err != nil {
		return resolve.Result{}, err
	}
	return env.Resolve(self), nil
}

// events records a Normal event when the effective roles changed (not on the first
// resolution) and a Warning event when a problem appeared or changed.
func (r *MembershipReconciler) events(before *orgrbacv1alpha1.MembershipStatus, after *orgrbacv1alpha1.Membership) {
	if before.ObservedGeneration > 0 && !slices.Equal(before.Roles, after.Status.Roles) {
		// Bounded as condition messages are: an event's note has at most 1 kB.
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, eventRolesChanged, "Resolve", "%s", boundMessage(fmt.Sprintf(
			"effective roles changed from [%s] to [%s] (source %s)",
			textlist.Join(before.Roles), textlist.Join(after.Status.Roles), sourceOrNone(after.Status.Source))))
	}
	for _, typ := range []string{orgrbacv1alpha1.ConditionReady, orgrbacv1alpha1.ConditionReferencesResolved} {
		if c := changedCondition(before.Conditions, after.Status.Conditions, typ); c != nil {
			r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, c.Reason, "Resolve", "%s", c.Message)
		}
	}
}

func sourceOrNone(s orgrbacv1alpha1.RoleSource) string {
	if s == "" {
		return "none"
	}
	return string(s)
}

// SetupWithManager registers the controller: a Membership is resolved again
// whenever any of its inputs changes, and on every event of the Membership
// itself, status-only updates and periodic resyncs included, so that a status
// written by anyone else (the API and the publisher serve it) is put back within
// a reconcile. A reconcile that finds the status equal to its resolution writes
// nothing, so the controller's own status writes cost one cheap no-op pass.
func (r *MembershipReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	r.written = newWrittenVersions()
	m := &membershipMapper{c: mgr.GetClient()}
	inv := invalidates(r.models)
	return ctrl.NewControllerManagedBy(mgr).
		Named("membership").
		// No predicate here: every event of the Membership, its own status
		// writes included, must enqueue it (writtenVersions relies on that).
		For(&orgrbacv1alpha1.Membership{}).
		// A membership created or deleted can make another one a duplicate, or not.
		Watches(&orgrbacv1alpha1.Membership{}, createDelete(m.membershipToPeers)).
		Watches(&orgrbacv1alpha1.Environment{}, onSpecChange(m.environmentToMemberships), inv).
		Watches(&orgrbacv1alpha1.Organization{}, onSpecChange(m.organizationToMemberships), inv).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(m.roleToMemberships, m.roleChangeToMemberships), inv).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, byEvent(m.organizationRoleToMemberships, m.organizationRoleChangeToMemberships), inv).
		Watches(&orgrbacv1alpha1.GroupMapping{}, onSpecChange(m.groupMappingToMemberships), inv).
		WithOptions(opts).
		Complete(r)
}

var _ reconcile.Reconciler = (*MembershipReconciler)(nil)
