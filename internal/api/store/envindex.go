package store

import (
	"reflect"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// EnvIndex is the served view of one environment (namespace). Requests read it
// under the read lock (Read) and copy what they answer before writing it out;
// the store's single writer goroutine prepares every change without the lock, and
// takes the write lock only to swap the prepared values in, so a change costs
// the few memberships it touches, never the whole namespace.
type EnvIndex struct {
	mu sync.RWMutex
	c  Content

	// statuses interns the memberships' statuses; only the writer uses it.
	statuses *statusTable
}

func newEnvIndex(ns string) *EnvIndex {
	return &EnvIndex{
		c: Content{namespace: ns, structure: noStructure, members: map[string]*Member{},
			byOrg: map[string]*orgMembers{}},
		statuses: newStatusTable(),
	}
}

// Read calls f with the content under the read lock and returns the revision
// of that same content, which an answer built by f reports. f must not keep
// references to entries beyond the call; interned values (roles, permissions,
// ...) are immutable and may be kept.
func (e *EnvIndex) Read(f func(*Content)) int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f(&e.c)
	return e.c.revision
}

// check answers for a user of an organization (by id or name), allocating
// nothing when the answer is allowed.
func (e *EnvIndex) check(org, user string, perms []string) Decision {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.c.Check(org, user, perms)
}

// Namespace is the environment's namespace; it never changes.
func (e *EnvIndex) Namespace() string { return e.c.namespace }

// Revision is the highest published revision seen in the namespace.
func (e *EnvIndex) Revision() int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.c.revision
}

// empty reports whether the namespace holds no orgrbac object.
func (e *EnvIndex) empty() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.c.objects == 0 && len(e.c.members) == 0
}

// entry computes the entry of a cached Membership, taking a reference to its
// interned status. It keeps no reference to the object's slices.
func (e *EnvIndex) entry(m *orgrbacv1alpha1.Membership) Member {
	v := Member{name: m.Name, organization: m.Spec.Organization, user: m.Spec.User, email: m.Spec.Email,
		state: canonState(m.Spec.State), created: m.CreationTimestamp.UnixNano(),
		updated: updatedAt(m, m.Status.Conditions).UnixNano()}
	st := status{role: m.Status.Role, roles: m.Status.Roles, source: m.Status.Source,
		assignments: m.Status.Assignments, permissions: m.Status.Permissions}
	for _, cond := range m.Status.Conditions {
		if cond.Type == orgrbacv1alpha1.ConditionReady {
			st.ready = cond.Status == metav1.ConditionTrue
			st.reason = cond.Reason
		}
	}
	if !isSortedSet(st.permissions) {
		st.permissions = SortedSet(st.permissions)
	}
	v.status = e.statuses.get(&st)
	return v
}

// canonState returns the state's constant (Active when empty), so entries do
// not keep the cached object's string.
func canonState(s orgrbacv1alpha1.MembershipState) orgrbacv1alpha1.MembershipState {
	switch s {
	case "", orgrbacv1alpha1.MembershipActive:
		return orgrbacv1alpha1.MembershipActive
	case orgrbacv1alpha1.MembershipInactive:
		return orgrbacv1alpha1.MembershipInactive
	case orgrbacv1alpha1.MembershipPending:
		return orgrbacv1alpha1.MembershipPending
	}
	return canon(s)
}

// release drops the reference of an entry's value to its interned status.
func (e *EnvIndex) release(v *Member) { e.statuses.release(v.status) }

// memberUpdate is a new value for an existing entry.
type memberUpdate struct {
	old *Member
	val Member
}

// update applies one batch of changes: a new structure (nil when unchanged),
// the highest Environment status.revision seen, and the latest state of the
// memberships that changed (nil when deleted). It reports whether the content
// changed. Only the writer calls it.
func (e *EnvIndex) update(st *structure, published int64, members map[string]*orgrbacv1alpha1.Membership) bool {
	// Prepare without the lock: only this goroutine changes the content.
	var (
		removals []*Member
		added    []*Member
		updates  []memberUpdate
	)
	for name, obj := range members {
		old := e.c.members[name]
		if obj == nil || model.Deleting(obj) {
			if old != nil {
				removals = append(removals, old)
			}
			continue
		}
		val := e.entry(obj)
		switch {
		case old == nil:
			m := new(Member)
			*m = val
			added = append(added, m)
		case *old == val:
			e.release(&val)
		case old.created != val.created:
			// Recreated under the same name: its place in the order moves.
			m := new(Member)
			*m = val
			removals, added = append(removals, old), append(added, m)
		default:
			updates = append(updates, memberUpdate{old: old, val: val})
		}
	}
	newStructure := st != nil && !reflect.DeepEqual(st, e.c.structure)
	if len(removals) == 0 && len(added) == 0 && len(updates) == 0 && !newStructure && published <= e.c.revision {
		return false
	}
	sorted := e.c.sorted
	if len(removals) > 0 || len(added) > 0 {
		sorted = mergeSorted(sorted, removals, added)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if newStructure {
		e.c.structure = st
	}
	e.c.revision = max(e.c.revision, published)
	for _, m := range removals {
		delete(e.c.members, m.name)
		e.leave(m)
		e.release(m)
	}
	for i := range updates {
		e.set(updates[i].old, &updates[i].val)
	}
	if len(e.c.members) == 0 && len(added) > 0 {
		e.c.members = make(map[string]*Member, len(added)) // the first batch holds the whole cache
	}
	for _, m := range added {
		e.c.members[m.name] = m
		e.join(m)
	}
	e.c.sorted = sorted
	return true
}

// set gives entry m the value v in place (under the write lock).
func (e *EnvIndex) set(m, v *Member) {
	e.release(m)
	if m.organization != v.organization || m.user != v.user {
		e.leave(m)
		*m = *v
		e.join(m)
		return
	}
	*m = *v
	if om := e.c.byOrg[m.organization]; om != nil {
		om.elect(m.user) // readiness may have changed
	}
}

// join adds m to its organization's users (under the write lock).
func (e *EnvIndex) join(m *Member) {
	om := e.c.byOrg[m.organization]
	if om == nil {
		om = &orgMembers{users: map[string]*Member{}}
		e.c.byOrg[m.organization] = om
	}
	if list, ok := om.multi[m.user]; ok {
		om.multi[m.user] = append(list, m)
		om.elect(m.user)
		return
	}
	if w := om.users[m.user]; w != nil {
		if om.multi == nil {
			om.multi = map[string][]*Member{}
		}
		om.multi[m.user] = []*Member{w, m}
		om.elect(m.user)
		return
	}
	om.users[m.user] = m
}

// leave removes m from its organization's users (under the write lock).
func (e *EnvIndex) leave(m *Member) {
	om := e.c.byOrg[m.organization]
	if om == nil {
		return
	}
	if list, ok := om.multi[m.user]; ok {
		list = slices.DeleteFunc(slices.Clone(list), func(o *Member) bool { return o == m })
		if len(list) == 1 {
			delete(om.multi, m.user)
			om.users[m.user] = list[0]
		} else {
			om.multi[m.user] = list
			om.elect(m.user)
		}
		return
	}
	if om.users[m.user] == m {
		delete(om.users, m.user)
	}
	if len(om.users) == 0 {
		delete(e.c.byOrg, m.organization)
	}
}

// elect chooses user's membership among several (resolve.Elect, rule R10). A
// user with one membership needs no election.
func (om *orgMembers) elect(user string) {
	list := om.multi[user]
	if i := resolve.Elect(list, func(m **Member) resolve.Candidate { return (*m).candidate() }); i >= 0 {
		om.users[user] = list[i]
	}
}

// mergeSorted returns sorted (in compareMembers order) without removals and
// with added, as a new slice: readers may still be walking the old one.
func mergeSorted(sorted, removals, added []*Member) []*Member {
	gone := make(map[*Member]bool, len(removals))
	for _, m := range removals {
		gone[m] = true
	}
	slices.SortFunc(added, CompareMembers)
	out := make([]*Member, 0, len(sorted)-len(removals)+len(added))
	i := 0
	for _, m := range sorted {
		if gone[m] {
			continue
		}
		for i < len(added) && CompareMembers(added[i], m) < 0 {
			out = append(out, added[i])
			i++
		}
		out = append(out, m)
	}
	return append(out, added[i:]...)
}
