// Package slim reduces the memory the informer cache holds per object. Its
// Transform runs on every object before the cache stores it.
//
// At 100k memberships the decoded Memberships are the largest part of the
// manager's heap, and most of their strings repeat from one membership to the
// next: permissions, role slugs, group ids, condition reasons and messages,
// owner references. The JSON decoder allocates each of them again for every
// object; Transform replaces each by one canonical copy (unique.Make), so
// 100,000 copies of "videos:create" become one.
//
// Transform changes no value, only where the bytes live: the transformed object
// is equal (reflect.DeepEqual) to the input without its managedFields, which no
// controller reads. Go strings are immutable, so sharing them is safe.
package slim

import (
	"unique"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Transform drops the managedFields of every object and interns the repeated
// strings of Memberships. It is a client-go TransformFunc (cache.Options'
// DefaultTransform); it changes the object in place and returns it.
func Transform(in any) (any, error) {
	if obj, err := meta.Accessor(in); err == nil && obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if m, ok := in.(*orgrbacv1alpha1.Membership); ok {
		Membership(m)
	}
	return in, nil
}

// Membership interns, in place, every string of m that other memberships are
// likely to share. Unique values (name, uid, resourceVersion, user, email) are
// left as they are: interning them would cost a lookup and save nothing.
func Membership(m *orgrbacv1alpha1.Membership) {
	objectMeta(&m.ObjectMeta)
	m.Spec.Organization = str(m.Spec.Organization)
	all(m.Spec.Roles)
	all(m.Spec.DirectoryGroups)
	all(m.Spec.SSOGroups)
	m.Spec.State = str(m.Spec.State)

	m.Status.Role = str(m.Status.Role)
	all(m.Status.Roles)
	m.Status.Source = str(m.Status.Source)
	for i := range m.Status.Assignments {
		a := &m.Status.Assignments[i]
		a.Role, a.Source, a.Group = str(a.Role), str(a.Source), str(a.Group)
	}
	all(m.Status.Permissions)
	conditions(m.Status.Conditions)
}

func objectMeta(o *metav1.ObjectMeta) {
	o.Namespace = str(o.Namespace)
	all(o.Finalizers)
	for i := range o.OwnerReferences {
		r := &o.OwnerReferences[i]
		r.APIVersion, r.Kind, r.Name = str(r.APIVersion), str(r.Kind), str(r.Name)
		r.UID = str(r.UID)
	}
	o.Labels = stringMap(o.Labels)
}

func conditions(cs []metav1.Condition) {
	for i := range cs {
		c := &cs[i]
		c.Type, c.Status, c.Reason, c.Message = str(c.Type), str(c.Status), str(c.Reason), str(c.Message)
	}
}

// stringMap interns the keys and values of m. Labels are few per object but
// repeat across objects.
func stringMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[str(k)] = str(v)
	}
	return out
}

func all[S ~string](s []S) {
	for i := range s {
		s[i] = str(s[i])
	}
}

// str returns the canonical copy of s. The empty string needs none.
func str[S ~string](s S) S {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// maxKeptAnnotation is the longest annotation value MetadataOnly keeps.
const maxKeptAnnotation = 256

// MetadataOnly returns a transform for a metadata-only cache (objects of type
// *metav1.PartialObjectMetadata) that keeps, of each object, only what a
// controller needs to find its own objects: name, namespace, uid,
// resourceVersion, generation, deletionTimestamp, the labels named in labels, and
// for objects whose name managed accepts, the controller ownerReference and the
// annotations named in annotations whose values are at most 256 bytes. Whatever
// else anyone writes into the objects the cache selects (their data never
// reaches it: the API server sends metadata only) costs the cache a few hundred
// bytes per object.
func MetadataOnly(managed func(name string) bool, labels, annotations []string) func(any) (any, error) {
	return func(in any) (any, error) {
		m, ok := in.(*metav1.PartialObjectMetadata)
		if !ok {
			return Transform(in)
		}
		out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
			Name: m.Name, Namespace: str(m.Namespace), UID: m.UID, ResourceVersion: m.ResourceVersion,
			Generation: m.Generation, DeletionTimestamp: m.DeletionTimestamp,
			Labels: pick(m.Labels, labels, -1),
		}}
		if managed(m.Name) {
			out.Annotations = pick(m.Annotations, annotations, maxKeptAnnotation)
			if c := metav1.GetControllerOfNoCopy(m); c != nil {
				ref := *c
				ref.APIVersion, ref.Kind, ref.Name, ref.UID = str(ref.APIVersion), str(ref.Kind), str(ref.Name), str(ref.UID)
				out.OwnerReferences = []metav1.OwnerReference{ref}
			}
		}
		return out, nil
	}
}

// pick returns the entries of m named in keys, interned, whose values are at
// most limit bytes long (any length when limit < 0); nil when none is.
func pick(m map[string]string, keys []string, limit int) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok && (limit < 0 || len(v) <= limit) {
			if out == nil {
				out = make(map[string]string, len(keys))
			}
			out[str(k)] = str(v)
		}
	}
	return out
}
