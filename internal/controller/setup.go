// Package controller holds the orgrbac reconcilers: one per kind, each gathering
// its inputs from the informer cache through field indexes, resolving them with the
// pure internal/resolve package and writing status only when it changes.
package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/model"
)

// countInterval is the shortest time between two counts (memberCount,
// matchedMemberships, environment counts) of one object.
const countInterval = 2 * time.Second

// Options configure the controllers.
type Options struct {
	// MaxConcurrentReconciles bounds how many objects of one kind are reconciled at once.
	MaxConcurrentReconciles int
	// Clock is the time source of conditions (the real clock when nil).
	Clock clock.PassiveClock
	// PublishMaxBytes is the largest data per published ConfigMap
	// (publish.DefaultMaxBytes, 768 KiB, when 0).
	PublishMaxBytes int
	// APICAConfigMap, when set, is the ConfigMap into which the CA bundle
	// APICAFile is published in every namespace holding an Environment.
	APICAConfigMap string
	// APICAFile is the PEM bundle that verifies the decision API's certificate.
	APICAFile string
}

// The manager's permissions, generated into config/rbac/role.yaml.
// +kubebuilder:rbac:groups=orgrbac.dev,resources=environments;permissions;roles;organizations;organizationroles;memberships;groupmappings,verbs=get;list;watch
// +kubebuilder:rbac:groups=orgrbac.dev,resources=environments/status;permissions/status;roles/status;organizations/status;organizationroles/status;memberships/status;groupmappings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// The role-cleanup finalizer rewrites the objects that name a deleted role; the
// webhooks and the finalizer read namespaces (uncached) to spot a terminating one.
// +kubebuilder:rbac:groups=orgrbac.dev,resources=environments;organizations;memberships;groupmappings;roles;organizationroles,verbs=update;patch
// +kubebuilder:rbac:groups=orgrbac.dev,resources=roles/finalizers;organizationroles/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get

// Setup registers the field indexes and the controllers with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if err := index.Setup(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	copts := controller.Options{MaxConcurrentReconciles: max(opts.MaxConcurrentReconciles, 1)}
	c := mgr.GetClient()
	memberships.use(mgr.GetCache()) // orgrbac_memberships counts this manager's cache
	// One compiled environment per namespace for every controller that
	// resolves; each invalidates it from its own watches (model.Cache.Invalidator),
	// and the publisher drops a namespace's with the rest of its state when its
	// last orgrbac object goes.
	models := model.NewCache(c)
	for name, setup := range map[string]interface {
		SetupWithManager(ctrl.Manager, controller.Options) error
	}{
		"membership":       &MembershipReconciler{Client: c, Clock: clk, Recorder: mgr.GetEventRecorder("orgrbac-membership"), models: models},
		"role":             &RoleReconciler{Client: c, Clock: clk},
		"organizationrole": &OrganizationRoleReconciler{Client: c, Clock: clk},
		"organization":     &OrganizationReconciler{Client: c, Clock: clk, models: models},
		"groupmapping":     &GroupMappingReconciler{Client: c, Clock: clk, models: models},
		"environment":      &EnvironmentReconciler{Client: c, Clock: clk, models: models},
		"permission":       &PermissionReconciler{Client: c, Clock: clk},
		"publish": &PublishReconciler{Client: c, Clock: clk, MaxBytes: opts.PublishMaxBytes,
			Recorder: mgr.GetEventRecorder("orgrbac-publish"), models: models},
		"rolecleanup": &RoleCleanupReconciler{Client: c, APIReader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("orgrbac-role-cleanup")},
		"organizationrolecleanup": &OrganizationRoleCleanupReconciler{Client: c, APIReader: mgr.GetAPIReader(),
			Recorder: mgr.GetEventRecorder("orgrbac-role-cleanup")},
	} {
		if err := setup.SetupWithManager(mgr, copts); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", name, err)
		}
	}
	if opts.APICAConfigMap != "" {
		ca := &CAPublisher{Client: c, APIReader: mgr.GetAPIReader(), Name: opts.APICAConfigMap, CAFile: opts.APICAFile}
		if err := ca.SetupWithManager(mgr, copts); err != nil {
			return fmt.Errorf("setting up the CA publisher: %w", err)
		}
	}
	return nil
}
