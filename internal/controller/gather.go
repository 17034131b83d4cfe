package controller

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// Reads from the cache are read-only: objects are not deep-copied, and nothing
// gathered here may be modified.
var readOnly = client.UnsafeDisableDeepCopy

func metaOf(o metav1.Object) resolve.Meta { return model.Meta(o) }

// deleting reports whether an object is being deleted: a role being deleted grants
// nothing while its finalizer moves its holders elsewhere (fail closed).
func deleting(o metav1.Object) bool { return model.Deleting(o) }

func toResolveMembership(m *orgrbacv1alpha1.Membership) resolve.Membership {
	return resolve.Membership{Meta: metaOf(m), Organization: m.Spec.Organization, User: m.Spec.User,
		Roles: m.Spec.Roles, DirectoryGroups: m.Spec.DirectoryGroups, SSOGroups: m.Spec.SSOGroups,
		State: resolve.State(m.Spec.State)}
}

// namespaceEnv is namespace ns's compiled environment: from models, or read from c
// and compiled when models is nil (a reconciler not set up with a manager).
func namespaceEnv(ctx context.Context, models *model.Cache, c client.Reader, ns string) (*resolve.Env, error) {
	if models != nil {
		return models.Env(ctx, ns)
	}
	objs, err := model.Read(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	return model.Compile(objs), nil
}

// invalidates returns the watch options of a watch of an input kind: models'
// invalidation first, then preds.
func invalidates(models *model.Cache, preds ...predicate.Predicate) builder.Predicates {
	return builder.WithPredicates(append([]predicate.Predicate{models.Invalidator()}, preds...)...)
}
