package store

import (
	"hash/maphash"
	"slices"
	"unique"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// status is the part of a Membership's status the API serves. Thousands of
// memberships resolve to the same one (the same roles from the same mappings),
// so each distinct status is stored once per namespace, shared by every entry
// that holds it, and never modified after creation (only refs is, by the
// index's writer; readers never read it).
type status struct {
	role        string
	roles       []string // highest priority first
	source      orgrbacv1alpha1.RoleSource
	assignments []orgrbacv1alpha1.RoleAssignment
	permissions []string // sorted, unique
	ready       bool     // the Ready condition is True
	reason      string   // the Ready condition's reason

	key  uint64 // the hash, to find it again on release
	refs int
}

func (s *status) equal(o *status) bool {
	return s.role == o.role && s.source == o.source && s.ready == o.ready && s.reason == o.reason &&
		slices.Equal(s.roles, o.roles) && slices.Equal(s.permissions, o.permissions) &&
		slices.Equal(s.assignments, o.assignments)
}

// mix combines a running hash with the hash of one more element.
func mix(h, v uint64) uint64 { return (h ^ v) * 0x100000001b3 }

func (s *status) hash(seed maphash.Seed) uint64 {
	str := func(h uint64, v string) uint64 { return mix(h, maphash.String(seed, v)) }
	h := str(str(str(0, s.role), string(s.source)), s.reason)
	if s.ready {
		h = mix(h, 1)
	}
	h = mix(h, uint64(len(s.roles)))
	for _, v := range s.roles {
		h = str(h, v)
	}
	h = mix(h, uint64(len(s.assignments)))
	for _, a := range s.assignments {
		h = str(str(str(h, a.Role), string(a.Source)), a.Group)
	}
	h = mix(h, uint64(len(s.permissions)))
	for _, v := range s.permissions {
		h = str(h, v)
	}
	return h
}

// canon returns the canonical copy of s, shared process-wide: role slugs,
// permissions, group names, sources and reasons repeat across namespaces too.
func canon[S ~string](s S) S { return S(unique.Make(string(s)).Value()) }

func canonAll[S ~[]E, E ~string](s S) S {
	if len(s) == 0 {
		return nil
	}
	out := make(S, len(s))
	for i, v := range s {
		out[i] = canon(v)
	}
	return out
}

// statusTable interns the statuses of one namespace. Only the index's writer
// uses it.
type statusTable struct {
	seed maphash.Seed
	m    map[uint64][]*status
}

func newStatusTable() *statusTable {
	return &statusTable{seed: maphash.MakeSeed(), m: map[uint64][]*status{}}
}

// get returns the shared status equal to v, adding a reference. v may point to
// a cached object's slices: a new status is a canonical copy, never v's memory.
func (t *statusTable) get(v *status) *status {
	k := v.hash(t.seed)
	for _, s := range t.m[k] {
		if s.equal(v) {
			s.refs++
			return s
		}
	}
	s := &status{role: canon(v.role), roles: canonAll(v.roles), source: canon(v.source),
		permissions: canonAll(v.permissions), ready: v.ready, reason: canon(v.reason), key: k, refs: 1}
	if len(v.assignments) > 0 {
		s.assignments = make([]orgrbacv1alpha1.RoleAssignment, len(v.assignments))
		for i, a := range v.assignments {
			s.assignments[i] = orgrbacv1alpha1.RoleAssignment{Role: canon(a.Role), Source: canon(a.Source), Group: canon(a.Group)}
		}
	}
	t.m[k] = append(t.m[k], s)
	return s
}

// release drops a reference to s, and forgets s when it was the last. Readers
// that still hold s keep a valid, unchanged value.
func (t *statusTable) release(s *status) {
	s.refs--
	if s.refs > 0 {
		return
	}
	bucket := slices.DeleteFunc(t.m[s.key], func(o *status) bool { return o == s })
	if len(bucket) == 0 {
		delete(t.m, s.key)
	} else {
		t.m[s.key] = bucket
	}
}

// len is the number of distinct statuses held.
func (t *statusTable) len() int {
	n := 0
	for _, b := range t.m {
		n += len(b)
	}
	return n
}
