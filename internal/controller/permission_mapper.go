package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// permissionMapper finds the Permissions whose status an event may change.
type permissionMapper struct {
	c client.Reader
}

// permissionToPermissions: every Permission of the namespace, one of which a
// permission created or deleted may make or stop being a duplicate. (No index
// holds a Permission's slug, and a namespace declares few.)
func (pm *permissionMapper) permissionToPermissions(ctx context.Context, obj client.Object) []reconcile.Request {
	return byIndex(ctx, pm.c, &orgrbacv1alpha1.PermissionList{}, obj.GetNamespace(), "", "")
}
