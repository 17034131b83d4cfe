package resolve

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// crdLimits are the bounds of the specs the resolver reads, from the CRDs of
// config/crd/bases (not restated here, so that the fuzz target follows them).
type crdLimits struct {
	rolePriority, rolePriorityLen int // Environment and Organization spec.rolePriority
	permissions, permissionLen    int // Role and OrganizationRole spec.permissions
	slugLen                       int // Role spec.slug
	memberRoles                   int // Membership spec.roles
	groups, groupLen              int // Membership spec.directoryGroups and spec.ssoGroups
	userLen                       int // Membership spec.user
	conditionMessage              int // status.conditions[].message
}

// specProperty returns the schema of spec.<path> (items for a trailing "[]").
func specProperty(t testing.TB, plural string, path ...string) apiextensionsv1.JSONSchemaProps {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "orgrbac.dev_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	p := *crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, k := range path {
		if k == "[]" {
			p = *p.Items.Schema
			continue
		}
		next, ok := p.Properties[k]
		if !ok {
			t.Fatalf("%s: no property %q in %v", plural, k, path)
		}
		p = next
	}
	return p
}

func maxItems(t testing.TB, plural string, path ...string) int {
	t.Helper()
	p := specProperty(t, plural, path...)
	if p.MaxItems == nil {
		t.Fatalf("%s %v has no maxItems", plural, path)
	}
	return int(*p.MaxItems)
}

func maxLength(t testing.TB, plural string, path ...string) int {
	t.Helper()
	p := specProperty(t, plural, path...)
	if p.MaxLength == nil {
		t.Fatalf("%s %v has no maxLength", plural, path)
	}
	return int(*p.MaxLength)
}

func readCRDLimits(t testing.TB) crdLimits {
	return crdLimits{
		rolePriority:     min(maxItems(t, "environments", "spec", "rolePriority"), maxItems(t, "organizations", "spec", "rolePriority")),
		rolePriorityLen:  maxLength(t, "environments", "spec", "rolePriority", "[]"),
		permissions:      maxItems(t, "roles", "spec", "permissions"),
		permissionLen:    maxLength(t, "roles", "spec", "permissions", "[]"),
		slugLen:          maxLength(t, "roles", "spec", "slug"),
		memberRoles:      maxItems(t, "memberships", "spec", "roles"),
		groups:           maxItems(t, "memberships", "spec", "directoryGroups"),
		groupLen:         maxLength(t, "memberships", "spec", "directoryGroups", "[]"),
		userLen:          maxLength(t, "memberships", "spec", "user"),
		conditionMessage: maxLength(t, "memberships", "status", "conditions", "[]", "message"),
	}
}

// limitInput builds an environment whose lists and strings are at, or just
// under, the CRD limits, steered by the fuzzer's bytes: many roles (more than
// a membership's status may list), roles of the most permissions of the
// longest slugs, priorities and groups of the most entries, a membership
// holding the most roles and groups, and as many group mappings as groups.
func limitInput(b *fuzzBytes, l crdLimits) (Input, Membership) {
	at := func(limit int) int { return limit - b.n(3) } // the limit or just under
	str := func(prefix string, i, n int) string {       // a distinct string of length n
		s := fmt.Sprintf("%s%d-", prefix, i)
		if len(s) >= n {
			return s[:n]
		}
		return s + strings.Repeat(string(rune('a'+b.n(3))), n-len(s))
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	meta := func(name string, i int) Meta {
		return Meta{Name: name, Created: t0.Add(time.Duration(i) * time.Second)}
	}

	nRoles := l.memberRoles + 2 + b.n(8) // more roles than a status may list
	in := Input{}
	slugs := make([]string, nRoles)
	for i := range slugs {
		slugs[i] = str("r", i, at(l.slugLen))
	}
	for i, s := range slugs {
		r := Role{Meta: meta(fmt.Sprintf("role-%d", i), i), Slug: s}
		n := 1 + b.n(4)
		if i < 2 { // two roles of the most permissions of the longest slugs
			n = at(l.permissions)
		}
		for p := range n {
			r.Permissions = append(r.Permissions, str(fmt.Sprintf("p%d.", i%3), p, at(l.permissionLen)))
		}
		in.Roles = append(in.Roles, r)
	}
	priority := make([]string, 0, l.rolePriority)
	for i := range at(l.rolePriority) {
		if i < len(slugs) && b.n(4) != 0 {
			priority = append(priority, slugs[(i+b.n(len(slugs)))%len(slugs)])
		} else {
			priority = append(priority, str("unknown", i, at(l.rolePriorityLen)))
		}
	}
	env := Environment{Meta: meta("env", 0), RolePriority: priority, MultipleRoles: b.n(2) == 0}
	if b.n(2) == 0 {
		env.DefaultRole = slugs[b.n(len(slugs))]
	}
	in.Environments = []Environment{env}
	org := Organization{Meta: meta("acme", 1), RolePriority: priority[:b.n(len(priority)+1)]}
	if b.n(3) == 0 {
		org.DefaultRole = str("missing", 0, at(l.slugLen))
	}
	in.Organizations = []Organization{org}
	for i := range 2 + b.n(4) {
		in.OrganizationRoles = append(in.OrganizationRoles, OrganizationRole{Meta: meta(fmt.Sprintf("orole-%d", i), 100+i),
			Organization: "acme", Slug: str("org-", i, at(l.slugLen)), Permissions: []string{str("o", i, at(l.permissionLen))}})
	}
	m := Membership{Meta: meta("acme-alice", 1000), Organization: "acme", User: str("user_", 0, at(l.userLen))}
	for i := range at(l.memberRoles) {
		if b.n(5) == 0 {
			m.Roles = append(m.Roles, str("gone", i, at(l.slugLen)))
		} else {
			m.Roles = append(m.Roles, slugs[i%len(slugs)])
		}
	}
	for i := range at(l.groups) {
		m.DirectoryGroups = append(m.DirectoryGroups, str("d", i, at(l.groupLen)))
		m.SSOGroups = append(m.SSOGroups, str("s", i, at(l.groupLen)))
	}
	for i, g := range append(append([]string{}, m.DirectoryGroups...), m.SSOGroups...) {
		src := SourceDirectory
		if i >= len(m.DirectoryGroups) {
			src = SourceSSO
		}
		if b.n(3) == 0 {
			continue
		}
		role := slugs[b.n(len(slugs))]
		if b.n(6) == 0 {
			role = str("dangling", i, at(l.slugLen))
		}
		in.GroupMappings = append(in.GroupMappings, GroupMapping{Meta: meta(fmt.Sprintf("gm-%d", i), 2000+i),
			Organization: "acme", Source: src, Group: g, Role: role})
	}
	switch b.n(4) {
	case 1:
		m.State = StateInactive
	case 2:
		m.State = StatePending
	}
	return in, m
}

// FuzzResolveAtCRDLimits resolves memberships whose environment sits at the
// CRD limits: the invariants of FuzzResolve hold, the answer does not depend
// on input order, the input is not modified, and the message fits a
// condition's message.
func FuzzResolveAtCRDLimits(f *testing.F) {
	l := readCRDLimits(f)
	f.Add([]byte{}, uint64(0))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint64(1))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint64(2))
	f.Add([]byte{255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245}, uint64(3))
	f.Add([]byte("at the limits of every list and string of the CRDs"), uint64(4))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		in, m := limitInput(&fuzzBytes{data: data}, l)
		pristine := copyInput(in)
		env := Compile(in)
		got := env.Resolve(m)
		if !reflect.DeepEqual(in, pristine) {
			t.Fatal("Compile or Resolve modified the input")
		}
		checkInvariants(t, env, in, m, got)
		if len(got.Message) > l.conditionMessage {
			t.Errorf("the message is %d bytes, more than a condition holds (%d)", len(got.Message), l.conditionMessage)
		}
		for _, p := range got.Permissions {
			if len(p) > l.permissionLen {
				t.Errorf("permission %q is longer than the CRD allows", p)
			}
		}
		rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
		sin, sm := shuffled(rng, in, m)
		if again := Compile(sin).Resolve(sm); !reflect.DeepEqual(again, got) {
			t.Fatalf("shuffled input changed the result: %d roles, %d permissions vs %d, %d",
				len(got.Roles), len(got.Permissions), len(again.Roles), len(again.Permissions))
		}
	})
}
