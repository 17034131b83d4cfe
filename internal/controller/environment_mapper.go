package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// environmentMapper finds the Environments whose status an event may change.
// Every status field the environment controller owns describes the whole
// namespace (its counts, the older Environment, the roles it names), so an
// event of any kind maps to every Environment of the object's namespace.
type environmentMapper struct {
	c client.Reader
}

// objectToEnvironments: the Environments of obj's namespace.
func (m *environmentMapper) objectToEnvironments(ctx context.Context, obj client.Object) []reconcile.Request {
	return byIndex(ctx, m.c, &orgrbacv1alpha1.EnvironmentList{}, obj.GetNamespace(), "", "")
}
