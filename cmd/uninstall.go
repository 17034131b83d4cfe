package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/manageropts"
)

// leaderElectionID names the leader-election lease.
const leaderElectionID = "manager.orgrbac.dev"

// inClusterNamespaceFile holds a Pod's own namespace.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// removeFinalizers is what the Helm chart's post-delete hook runs
// (--remove-finalizers): once no manager holds the leader lease any more (the
// release's Deployment is gone), it removes orgrbac's role-cleanup finalizer
// from every Role and OrganizationRole, so that deleting the CRDs afterwards is
// never blocked by a finalizer that nobody would remove; then it deletes the
// lease. A manager installed again adds the finalizers back.
func removeFinalizers(ctx context.Context, cfg *rest.Config, leaseNamespace string, timeout time.Duration) error {
	log := ctrl.Log.WithName("uninstall")
	c, err := client.New(cfg, client.Options{Scheme: manageropts.Scheme()})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	if leaseNamespace == "" {
		b, err := os.ReadFile(inClusterNamespaceFile)
		if err != nil {
			return errors.New("--leader-election-namespace is required outside a Pod")
		}
		leaseNamespace = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	key := types.NamespacedName{Namespace: leaseNamespace, Name: leaderElectionID}
	log.Info("Waiting until no manager holds the leader lease", "lease", key.String())
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		var lease coordinationv1.Lease
		if err := c.Get(ctx, key, &lease); err != nil {
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			log.Info("Reading the leader lease failed; retrying", "error", err.Error())
			return false, nil
		}
		return leaseFree(&lease, time.Now()), nil
	})
	if err != nil {
		return fmt.Errorf("a manager still holds lease %s: %w", key, err)
	}

	removed := 0
	for _, list := range []client.ObjectList{&orgrbacv1alpha1.RoleList{}, &orgrbacv1alpha1.OrganizationRoleList{}} {
		if err := c.List(ctx, list); err != nil {
			if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
				continue // the CRDs are gone already
			}
			return fmt.Errorf("listing %T: %w", list, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			obj := item.(client.Object)
			if !controllerutil.ContainsFinalizer(obj, orgrbacv1alpha1.FinalizerRoleCleanup) {
				continue
			}
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
					return err
				}
				if !controllerutil.RemoveFinalizer(obj, orgrbacv1alpha1.FinalizerRoleCleanup) {
					return nil
				}
				return c.Update(ctx, obj)
			})
			if client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("removing the finalizer of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
			}
			removed++
		}
	}
	log.Info("Removed orgrbac's finalizers", "objects", removed)
	// The lease is the managers' own object, not the release's: nothing of
	// orgrbac is left behind.
	lease := &coordinationv1.Lease{}
	lease.Namespace, lease.Name = key.Namespace, key.Name
	if err := c.Delete(ctx, lease); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the leader lease: %w", err)
	}
	return nil
}

// leaseFree reports whether nobody holds the lease: released (no holder) or
// not renewed for longer than its duration.
func leaseFree(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return true
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}
