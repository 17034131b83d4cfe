package tokens

import (
	"context"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Labels of the Secret.
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "orgrbac"
)

// Schedule of the Rotator.
const (
	// maxWait bounds the wait between two passes, so that a deleted or edited
	// Secret is repaired soon.
	maxWait = time.Minute
	// retryWait is the wait after a failed pass.
	retryWait = 10 * time.Second
)

// Rotator creates and rotates the signing keys in the Secret. Only the leader
// runs it (it writes).
type Rotator struct {
	client   kubernetes.Interface
	opts     Options
	generate func() (*rsa.PrivateKey, error)
}

// NewRotator returns a Rotator of the Secret opts names.
func NewRotator(client kubernetes.Interface, opts Options) (*Rotator, error) {
	if client == nil {
		return nil, fmt.Errorf("tokens: a Kubernetes client is required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Rotator{client: client, opts: opts, generate: generateRSA}, nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: only the
// leader writes the Secret.
func (r *Rotator) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable: a pass now, then one whenever something
// is due (at least every minute), until ctx ends.
func (r *Rotator) Start(ctx context.Context) error {
	log := r.opts.Logger.WithValues("secret", r.opts.Namespace+"/"+r.opts.SecretName)
	for {
		wait, err := r.reconcile(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Error(err, "keeping the token signing keys failed; retrying")
			wait = retryWait
		}
		wait = min(max(wait, time.Second), maxWait)
		timer := r.opts.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C():
		}
	}
}

// reconcile makes the Secret hold the keys due now and returns how long until
// something is due next.
func (r *Rotator) reconcile(ctx context.Context) (time.Duration, error) {
	secrets := r.client.CoreV1().Secrets(r.opts.Namespace)
	log := r.opts.Logger.WithValues("secret", r.opts.Namespace+"/"+r.opts.SecretName)
	var due time.Time
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		now := r.opts.Clock.Now()
		secret, err := secrets.Get(ctx, r.opts.SecretName, metav1.GetOptions{})
		missing := apierrors.IsNotFound(err)
		if err != nil && !missing {
			return fmt.Errorf("reading the signing keys' Secret: %w", err)
		}
		var keys []signingKey
		// A Secret without keys.json is the one the chart and config/default
		// create empty, for the Rotator to fill: a first start, not an error.
		if data, ok := secret.Data[DataKey]; !missing && ok {
			keys, err = decodeKeys(data)
			if err != nil {
				// Nobody can sign with keys nobody can read: start over.
				log.Error(err, "the signing keys' Secret is unreadable; replacing its keys with a new one")
				keys = nil
			}
		}
		out, changed, next, err := plan(keys, now, r.opts, r.generate)
		if err != nil {
			return err
		}
		due = next
		if !changed {
			return nil
		}
		data, err := encodeKeys(out)
		if err != nil {
			return err
		}
		if missing {
			// Labelled only when the Rotator creates it: a Secret an install
			// created keeps its labels, whose owner (Helm, kustomize) applies them
			// again on every upgrade and must not find another owner's value.
			secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.opts.SecretName, Namespace: r.opts.Namespace,
				Labels: map[string]string{managedByLabel: managedByValue}}, Type: corev1.SecretTypeOpaque}
		} else {
			secret = secret.DeepCopy()
		}
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		secret.Data[DataKey] = data
		if missing {
			_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
		} else {
			_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
		}
		if err != nil {
			return err
		}
		logChanges(log, keys, out)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return due.Sub(r.opts.Clock.Now()), nil
}

// logChanges logs the key ids added and removed (ids are public).
func logChanges(log logr.Logger, before, after []signingKey) {
	had := map[string]bool{}
	for _, k := range before {
		had[k.id] = true
	}
	has := map[string]bool{}
	for _, k := range after {
		has[k.id] = true
		if !had[k.id] {
			log.Info("added a token signing key", "kid", k.id, "activeFrom", k.activeFrom)
		}
	}
	for _, k := range before {
		if !has[k.id] {
			log.Info("removed a token signing key", "kid", k.id)
		}
	}
}
