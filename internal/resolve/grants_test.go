package resolve

import (
	"reflect"
	"slices"
	"testing"
)

func TestCurrentRoles(t *testing.T) {
	o := roleSet{"admin": {"a"}, "viewer": {"v"}}
	for name, tc := range map[string]struct {
		o     RoleSet
		roles []string
		want  []string
	}{
		"all defined":           {o, []string{"viewer", "admin"}, []string{"viewer", "admin"}},
		"a deleted role is cut": {o, []string{"gone", "admin"}, []string{"admin"}},
		"each once":             {o, []string{"admin", "admin"}, []string{"admin"}},
		"none defined":          {o, []string{"gone"}, nil},
		"no roles":              {o, nil, nil},
		"no organization":       {nil, []string{"admin"}, nil},
	} {
		if got := CurrentRoles(tc.o, tc.roles); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: CurrentRoles = %q, want %q", name, got, tc.want)
		}
	}
}

func TestHeld(t *testing.T) {
	o := roleSet{"admin": {"a", "b"}, "viewer": {"v"}}
	m := func(ready bool, state State, roles, perms []string) *Resolved {
		return &Resolved{Ready: ready, State: state, Roles: roles, Permissions: perms}
	}
	for name, tc := range map[string]struct {
		o    RoleSet
		m    *Resolved
		want []string
	}{
		"every status permission": {o, m(true, "", []string{"admin"}, []string{"a", "b"}), []string{"a", "b"}},
		"role shrank":             {roleSet{"admin": {"a"}}, m(true, "", []string{"admin"}, []string{"a", "b"}), []string{"a"}},
		"role grew":               {roleSet{"admin": {"a", "b", "c"}}, m(true, "", []string{"admin"}, []string{"a"}), []string{"a"}},
		"role deleted":            {roleSet{}, m(true, "", []string{"admin"}, []string{"a"}), []string{}},
		"not ready":               {o, m(false, "", []string{"admin"}, []string{"a"}), []string{}},
		"inactive":                {o, m(true, StateInactive, []string{"admin"}, []string{"a"}), []string{}},
		"pending":                 {o, m(true, StatePending, []string{"admin"}, []string{"a"}), []string{}},
		"no organization":         {nil, m(true, "", []string{"admin"}, []string{"a"}), []string{}},
	} {
		if got := tc.m.Held(tc.o); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Held = %q, want %q", name, got, tc.want)
		}
	}
}

// holdsModel is rule R11 by brute force: a membership holds p in o when it is
// Ready and active, p is among its status permissions, and one of its status
// roles lists p as o defines the role now.
func holdsModel(o map[string][]string, m *Resolved, p string) bool {
	if !m.Ready || (m.State != "" && m.State != StateActive) || o == nil {
		return false
	}
	inStatus := false
	for _, q := range m.Permissions {
		inStatus = inStatus || q == p
	}
	for _, r := range m.Roles {
		perms, ok := o[r]
		for _, q := range perms {
			if ok && q == p && inStatus {
				return true
			}
		}
	}
	return false
}

// FuzzGrantedNow checks rule R11's functions (Holds with Grants, Held,
// CurrentRoles, RoleGrants, GrantingRoles and Decide) against the brute-force
// model: what a membership is granted now is its status roles intersected with
// the current role definitions, bounded by its status permissions.
func FuzzGrantedNow(f *testing.F) {
	f.Add([]byte{0x03, 0x0c, 0x30, 0x01, 0x12, 0x0f, 0x00})
	f.Add([]byte{0xff, 0x00, 0x81, 0x33, 0x77, 0x05, 0x42})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		universe := []string{"p0", "p1", "p2", "p3"}
		slugs := []string{"r0", "r1", "r2", "r3"}
		subset := func(bits byte) []string {
			var out []string
			for i, p := range universe {
				if bits&(1<<i) != 0 {
					out = append(out, p)
				}
			}
			return out
		}
		// The organization defines r0..r2 when their byte says so; r3 never.
		var o map[string][]string
		if head := next(); head&0x80 == 0 {
			o = map[string][]string{}
			for i := range 3 {
				if b := next(); b&0x10 != 0 {
					o[slugs[i]] = subset(b)
				}
			}
		}
		m := &Resolved{Ready: next()&1 != 0}
		m.State = []State{"", StateActive, StateInactive, StatePending}[next()&3]
		for b := next(); b != 0; b >>= 2 {
			m.Roles = append(m.Roles, slugs[b&3])
		}
		m.Permissions = subset(next())

		var set RoleSet
		if o != nil {
			set = roleSet(o)
		}
		var want []string
		for _, p := range universe {
			model := holdsModel(o, m, p)
			if got := m.Grants() && m.Holds(set, p); got != model {
				t.Fatalf("Holds(%q) = %v, model %v: o=%v m=%+v", p, got, model, o, m)
			}
			viaCurrent := false
			for _, r := range CurrentRoles(set, m.Roles) {
				viaCurrent = viaCurrent || RoleGrants(set, r, p)
			}
			if got := m.Grants() && slices.Contains(m.Permissions, p) && viaCurrent; got != model {
				t.Fatalf("CurrentRoles disagrees on %q: %v, model %v", p, got, model)
			}
			if got := len(GrantingRoles(set, CurrentRoles(set, m.Roles), p)) > 0; got != viaCurrent {
				t.Fatalf("GrantingRoles disagrees on %q: %v, want %v", p, got, viaCurrent)
			}
			if model {
				want = append(want, p)
			}
			if d := Decide(set, m, []string{p}); d.Allowed != model {
				t.Fatalf("Decide(%q).Allowed = %v, model %v (%s)", p, d.Allowed, model, d.Reason)
			}
		}
		if got := m.Held(set); !slices.Equal(got, want) {
			t.Fatalf("Held = %q, want %q", got, want)
		}
	})
}
