package controller

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// publishMapper maps the publisher's events to requests. A snapshot is a
// whole namespace's, so every event maps to its namespace's one request
// (publishRequest), and nothing needs listing.
type publishMapper struct{}

// objectToNamespace: the namespace of an orgrbac object.
func (publishMapper) objectToNamespace(_ context.Context, obj client.Object) []reconcile.Request {
	return []reconcile.Request{publishRequest(obj.GetNamespace())}
}

// configMapToNamespace: the namespace of a labelled ConfigMap with a name the
// publisher manages (publishedNames); nothing for any other.
func (publishMapper) configMapToNamespace(_ context.Context, cm *metav1.PartialObjectMetadata) []reconcile.Request {
	if !publishedNames.MatchString(cm.Name) {
		return nil
	}
	return []reconcile.Request{publishRequest(cm.Namespace)}
}
