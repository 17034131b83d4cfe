package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The memberships of the cold start are created the way they are in a cluster
// where orgrbac runs: through its admission webhooks, which set each one's
// ownerReference to its organization. A standby replica serves them: the
// benchmark holds the leader lease, so the replica runs its webhooks (every
// replica does) but no controller, and the memberships reach the cold start
// with no status, as after a restore, an upgrade from before statuses or a
// bulk import while the leader was down.

// leaseName is the manager's leader-election lease (cmd's leaderElectionID).
const leaseName = "manager.orgrbac.dev"

// benchHolder is the benchmark's identity as the lease holder.
const benchHolder = "orgrbac-bench"

// startAdmission holds the leader lease and starts a standby manager serving
// the admission webhooks; it returns once a dry-run create of the first
// membership comes back with its ownerReference set. stop stops the standby,
// checks that its webhook configurations are gone and releases the lease.
func (b *bench) startAdmission(ctx context.Context) (stop func() error, err error) {
	ns := b.w.Namespace
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: leaseName},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(benchHolder), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &now, RenewTime: &now},
	}
	if err := b.c.Create(ctx, lease); err != nil {
		return nil, fmt.Errorf("holding the leader lease: %w", err)
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	m, err := startManager(managerConfig{
		bin: b.mgrBin, kubeconfig: b.kubeconfig, workers: b.cfg.workers,
		logPath: filepath.Join(b.workDir, "standby.log"), apiCertDir: b.certDir,
		standby: ns, webhookURL: "https://127.0.0.1:" + strconv.Itoa(ports[0]),
		webhookManifest: filepath.Join(b.cfg.repo, "config", "webhook", "manifests.yaml"),
	})
	if err != nil {
		return nil, err
	}
	stop = func() error {
		errs := []error{m.stop()}
		// The standby removes its webhook configurations when it stops;
		// one left behind would send the later phases' writes to a dead
		// server.
		var vwcs admissionregistrationv1.ValidatingWebhookConfigurationList
		var mwcs admissionregistrationv1.MutatingWebhookConfigurationList
		errs = append(errs, b.c.List(ctx, &vwcs), b.c.List(ctx, &mwcs))
		if n := len(vwcs.Items) + len(mwcs.Items); n > 0 {
			errs = append(errs, fmt.Errorf("the standby manager left %d webhook configurations behind", n))
		}
		errs = append(errs, client.IgnoreNotFound(b.c.Delete(ctx, lease)))
		return errors.Join(errs...)
	}
	if err := m.waitReady(ctx, 2*time.Minute); err != nil {
		return stop, err
	}
	// The webhooks answer once their configuration is installed and the
	// standby's cache has the organizations.
	probe := b.w.Memberships[0]
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p := probe.DeepCopy()
		err := b.c.Create(ctx, p, client.DryRunAll)
		if err == nil && len(p.OwnerReferences) > 0 {
			return stop, nil
		}
		if time.Now().After(deadline) {
			return stop, errors.Join(errors.New("the standby's webhooks set no ownerReference on a dry-run membership within 2 minutes"), err)
		}
		select {
		case <-ctx.Done():
			return stop, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
