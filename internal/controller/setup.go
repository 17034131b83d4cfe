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

// countInterval is the shortest time between two counts of one object (the
// Environment's counts of roles, organizations and memberships) or two
// publications of one namespace.
const countInterval = 2 * time.Second

// publishSettleMax is the longest a publication waits for its namespace's
// memberships to settle (deferCount): a revocation reaches the published
// ConfigMaps at most this much later during a bulk import (the decision API
// does not wait).
const publishSettleMax = 30 * time.Second

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
	// Tally, when set, is fed by Setup, for other components to wait on it.
	Tally *Tally
	// ReleaseMemory, when set, is called after a burst of at least
	// releaseChanges membership changes, once they have stopped for a while
	// (debug.FreeOSMemory; membershipTally.releaseDue).
	ReleaseMemory func()
}

// Tally tells other components whether a namespace's memberships are still
// being resolved, as the Environment controller and the publisher ask it
// (membershipTally).
type Tally struct{ t *membershipTally }

// Settling reports whether ns has unresolved memberships and resolved one
// within settleQuiet; false until Setup has fed the tally.
func (t *Tally) Settling(ns string) bool {
	if t == nil || t.t == nil {
		return false
	}
	return t.t.settling(ns)
}

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
	// One informer-fed tally of the memberships: orgrbac_memberships reports it,
	// and the counting reconcilers wait while a namespace's memberships settle.
	tally := newMembershipTally(clk)
	if opts.Tally != nil {
		opts.Tally.t = tally
	}
	if err := tally.watch(ctx, mgr.GetCache()); err != nil {
		return err
	}
	memberships.use(tally)
	if opts.ReleaseMemory != nil {
		if err := mgr.Add(newReleaser(tally, opts.ReleaseMemory)); err != nil {
			return fmt.Errorf("adding the memory releaser: %w", err)
		}
	}
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
		"environment":      &EnvironmentReconciler{Client: c, Clock: clk, tally: tally, models: models},
		"permission":       &PermissionReconciler{Client: c, Clock: clk},
		"publish": &PublishReconciler{Client: c, Clock: clk, tally: tally, MaxBytes: opts.PublishMaxBytes,
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
