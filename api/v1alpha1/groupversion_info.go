// Package v1alpha1 contains the orgrbac.dev/v1alpha1 API: WorkOS-style organization
// RBAC objects. One namespace is one environment.
//
// This package depends on apimachinery only, so that workloads and tools can import
// it without pulling in controller-runtime.
//
// +kubebuilder:object:generate=true
// +groupName=orgrbac.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "orgrbac.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this API with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Environment{}, &EnvironmentList{},
		&Permission{}, &PermissionList{},
		&Role{}, &RoleList{},
		&Organization{}, &OrganizationList{},
		&OrganizationRole{}, &OrganizationRoleList{},
		&Membership{}, &MembershipList{},
		&GroupMapping{}, &GroupMappingList{},
		&EventSegment{}, &EventSegmentList{},
		&WebhookEndpoint{}, &WebhookEndpointList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
