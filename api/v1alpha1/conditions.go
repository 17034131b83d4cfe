package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Every kind's status carries conditions; these accessors let code that handles
// any kind (the controllers' internal-error path) read and set them.

// GetConditions returns the environment's status conditions.
func (e *Environment) GetConditions() []metav1.Condition { return e.Status.Conditions }

// SetConditions sets the environment's status conditions.
func (e *Environment) SetConditions(c []metav1.Condition) { e.Status.Conditions = c }

// GetConditions returns the group mapping's status conditions.
func (g *GroupMapping) GetConditions() []metav1.Condition { return g.Status.Conditions }

// SetConditions sets the group mapping's status conditions.
func (g *GroupMapping) SetConditions(c []metav1.Condition) { g.Status.Conditions = c }

// GetConditions returns the membership's status conditions.
func (m *Membership) GetConditions() []metav1.Condition { return m.Status.Conditions }

// SetConditions sets the membership's status conditions.
func (m *Membership) SetConditions(c []metav1.Condition) { m.Status.Conditions = c }

// GetConditions returns the organization's status conditions.
func (o *Organization) GetConditions() []metav1.Condition { return o.Status.Conditions }

// SetConditions sets the organization's status conditions.
func (o *Organization) SetConditions(c []metav1.Condition) { o.Status.Conditions = c }

// GetConditions returns the organization role's status conditions.
func (r *OrganizationRole) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions sets the organization role's status conditions.
func (r *OrganizationRole) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

// GetConditions returns the permission's status conditions.
func (p *Permission) GetConditions() []metav1.Condition { return p.Status.Conditions }

// SetConditions sets the permission's status conditions.
func (p *Permission) SetConditions(c []metav1.Condition) { p.Status.Conditions = c }

// GetConditions returns the role's status conditions.
func (r *Role) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions sets the role's status conditions.
func (r *Role) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }
