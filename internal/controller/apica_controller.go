package controller

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

const (
	// CAKey is the key of the published CA bundle, as in kube-root-ca.crt.
	CAKey = "ca.crt"
	// LabelAPICA marks the ConfigMaps the CA publisher manages.
	LabelAPICA = "orgrbac.dev/api-ca"
	// defaultCACheckInterval is how often the CA file is read for a change.
	defaultCACheckInterval = 10 * time.Second
)

// CAPublisher copies the CA bundle that verifies the decision API's serving
// certificate into a ConfigMap in every namespace that holds an Environment, so
// that workloads mount it, as they mount kube-root-ca.crt, and verify the API
// through its Service. The ConfigMap is owned by the namespace's oldest
// Environment: deleting the environment deletes it.
type CAPublisher struct {
	// Client reads Environments from the cache and writes ConfigMaps.
	Client client.Client
	// APIReader reads the ConfigMaps (which the cache does not hold).
	APIReader client.Reader
	// Name is the ConfigMap's name.
	Name string
	// CAFile is the PEM bundle to publish (the ca.crt of the API's certificate
	// folder); it is read again every Interval, and a change is published.
	CAFile string
	// Interval is how often CAFile is checked (10s when 0).
	Interval time.Duration
}

// Reconcile publishes the CA into one namespace.
func (r *CAPublisher) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ca, err := readCA(r.CAFile)
	if err != nil {
		// The certificate is rotated into its Secret after the start; the
		// poller requeues every namespace once it appears.
		ctrl.LoggerFrom(ctx).V(1).Info("No CA bundle to publish yet", "error", err.Error())
		return ctrl.Result{}, nil
	}
	var envs orgrbacv1alpha1.EnvironmentList
	if err := r.Client.List(ctx, &envs, client.InNamespace(req.Namespace), readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing environments: %w", err)
	}
	owner := oldestEnvironment(envs.Items)
	if owner == nil {
		// The owner reference lets garbage collection delete the ConfigMap.
		return ctrl.Result{}, nil
	}

	key := types.NamespacedName{Namespace: req.Namespace, Name: r.Name}
	var cm corev1.ConfigMap
	err = r.APIReader.Get(ctx, key, &cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		desiredCAConfigMap(&cm, ca, owner)
		if err := r.Client.Create(ctx, &cm); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("creating the CA ConfigMap: %w", err)
		}
		ctrl.LoggerFrom(ctx).Info("Published the decision API's CA", "configMap", key.Name)
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("reading the CA ConfigMap: %w", err)
	}
	if cm.Labels[LabelAPICA] != "true" {
		// Somebody else's ConfigMap: never overwritten.
		ctrl.LoggerFrom(ctx).Info("A ConfigMap not managed by orgrbac holds the CA ConfigMap's name; not publishing",
			"configMap", key.Name)
		return ctrl.Result{}, nil
	}
	orig := cm.DeepCopy()
	desiredCAConfigMap(&cm, ca, owner)
	if equalCAConfigMap(orig, &cm) {
		return ctrl.Result{}, nil
	}
	if err := r.Client.Update(ctx, &cm); err != nil {
		return ctrl.Result{}, fmt.Errorf("updating the CA ConfigMap: %w", err)
	}
	ctrl.LoggerFrom(ctx).Info("Updated the decision API's CA", "configMap", key.Name)
	return ctrl.Result{}, nil
}

// readCA reads a PEM bundle holding at least one certificate.
func readCA(path string) ([]byte, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator's own mounted certificate folder
	if err != nil {
		return nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return nil, errors.New("no PEM certificate in " + path)
	}
	return b, nil
}

// oldestEnvironment is the winning Environment (resolve.Oldest, rule R8),
// those being deleted left out; nil when none.
func oldestEnvironment(envs []orgrbacv1alpha1.Environment) *orgrbacv1alpha1.Environment {
	i := resolve.Oldest(envs, func(e *orgrbacv1alpha1.Environment) (resolve.Meta, bool) {
		return metaOf(e), !deleting(e)
	})
	if i < 0 {
		return nil
	}
	return &envs[i]
}

// desiredCAConfigMap sets the CA, the label and the owner on cm, keeping its other
// labels and annotations.
func desiredCAConfigMap(cm *corev1.ConfigMap, ca []byte, env *orgrbacv1alpha1.Environment) {
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[LabelAPICA] = "true"
	cm.Labels["app.kubernetes.io/managed-by"] = "orgrbac"
	cm.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: orgrbacv1alpha1.GroupVersion.String(), Kind: "Environment",
		Name: env.Name, UID: env.UID}}
	cm.Data = map[string]string{CAKey: string(ca)}
	cm.BinaryData = nil
}

func equalCAConfigMap(a, b *corev1.ConfigMap) bool {
	if len(a.OwnerReferences) != len(b.OwnerReferences) || len(a.Labels) != len(b.Labels) ||
		len(a.Data) != len(b.Data) || len(a.BinaryData) != len(b.BinaryData) {
		return false
	}
	for i := range a.OwnerReferences {
		if a.OwnerReferences[i].UID != b.OwnerReferences[i].UID || a.OwnerReferences[i].Name != b.OwnerReferences[i].Name {
			return false
		}
	}
	for k, v := range b.Labels {
		if a.Labels[k] != v {
			return false
		}
	}
	return a.Data[CAKey] == b.Data[CAKey]
}

// SetupWithManager registers the controller and the poller that publishes a
// changed CA file everywhere.
func (r *CAPublisher) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Name == "" || r.CAFile == "" {
		return errors.New("the CA publisher needs a ConfigMap name and a CA file")
	}
	if r.Interval <= 0 {
		r.Interval = defaultCACheckInterval
	}
	changed := make(chan event.TypedGenericEvent[*orgrbacv1alpha1.Environment])
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return r.poll(ctx, changed)
	})); err != nil {
		return err
	}
	toNamespace := handler.TypedEnqueueRequestsFromMapFunc(
		func(_ context.Context, e *orgrbacv1alpha1.Environment) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: e.Namespace, Name: r.Name}}}
		})
	return ctrl.NewControllerManagedBy(mgr).
		Named("apica").
		WithOptions(opts).
		WatchesRawSource(source.Kind(mgr.GetCache(), &orgrbacv1alpha1.Environment{}, toNamespace)).
		WatchesRawSource(source.Channel(changed, toNamespace)).
		Complete(r)
}

// poll reads the CA file every Interval and, when its content changes, sends
// every Environment through changed.
func (r *CAPublisher) poll(ctx context.Context, changed chan<- event.TypedGenericEvent[*orgrbacv1alpha1.Environment]) error {
	var last []byte
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		if ca, err := readCA(r.CAFile); err == nil && !bytes.Equal(ca, last) {
			var envs orgrbacv1alpha1.EnvironmentList
			if err := r.Client.List(ctx, &envs, readOnly); err == nil {
				last = ca
				for i := range envs.Items {
					select {
					case changed <- event.TypedGenericEvent[*orgrbacv1alpha1.Environment]{Object: &envs.Items[i]}:
					case <-ctx.Done():
						return nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
