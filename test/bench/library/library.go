// Package library compares orgrbac's workload library (pkg/authz) with casbin v2
// on the same snapshot: the benchmark harness (test/bench) generates the
// environment, resolves it and writes the published ConfigMaps' files into a
// folder named by ORGRBAC_BENCH_SNAPSHOT; this package loads them into an
// authz.FileSource and translates them into casbin's "RBAC with domains" model
// (one domain per organization).
//
// It is its own Go module so that casbin never enters orgrbac's go.mod.
package library

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

// SnapshotEnv names the folder holding the snapshot's files.
const SnapshotEnv = "ORGRBAC_BENCH_SNAPSHOT"

// AnyDomain is the domain of an environment role's policies: such a role grants
// its permissions in every organization.
const AnyDomain = "*"

// Model is casbin's RBAC-with-domains model: a user holds a role in a domain
// (g = user, role, organization); a policy grants a role an object and action in
// a domain, or in every domain (AnyDomain) for environment roles.
const Model = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && (p.dom == r.dom || p.dom == "*") && r.obj == p.obj && r.act == p.act
`

// Rules are the casbin policies equivalent to a snapshot.
type Rules struct {
	// Policies are p rules: role, domain, object, action.
	Policies [][]string
	// Groupings are g rules: user, role, domain.
	Groupings [][]string
}

// SplitPermission splits a permission slug "resource:action" into casbin's
// object and action at its last colon; a slug without one is an object with an
// empty action.
func SplitPermission(p string) (obj, act string) {
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}

// RulesOf translates a snapshot: every role's permissions become policies (in
// AnyDomain for environment roles, in the role's organization otherwise) and
// every member's roles become groupings in the member's organization.
// Organizations are identified by name.
func RulesOf(s *authz.Snapshot) Rules {
	var r Rules
	for _, role := range s.Roles {
		dom := AnyDomain
		if role.Organization != "" {
			dom = role.Organization
		}
		for _, p := range role.Permissions {
			obj, act := SplitPermission(p)
			r.Policies = append(r.Policies, []string{role.Slug, dom, obj, act})
		}
	}
	for _, o := range s.Organizations {
		for _, m := range o.Members {
			for _, role := range m.Roles {
				r.Groupings = append(r.Groupings, []string{m.User, role, o.Name})
			}
		}
	}
	return r
}

// NewEnforcer builds a casbin enforcer of Model holding the rules; cached
// selects casbin's CachedEnforcer, which remembers each request's answer.
func NewEnforcer(r Rules, cached bool) (casbin.IEnforcer, error) {
	m, err := model.NewModelFromString(Model)
	if err != nil {
		return nil, fmt.Errorf("parsing the casbin model: %w", err)
	}
	var e casbin.IEnforcer
	if cached {
		e, err = casbin.NewCachedEnforcer(m)
	} else {
		e, err = casbin.NewEnforcer(m)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the casbin enforcer: %w", err)
	}
	if _, err := e.AddPolicies(r.Policies); err != nil {
		return nil, fmt.Errorf("adding %d policies: %w", len(r.Policies), err)
	}
	if _, err := e.AddGroupingPolicies(r.Groupings); err != nil {
		return nil, fmt.Errorf("adding %d groupings: %w", len(r.Groupings), err)
	}
	return e, nil
}

// Query is one question asked of both libraries.
type Query struct {
	Org, User, Permission string
	// Obj and Act are Permission split for casbin, ahead of time.
	Obj, Act string
}

// Queries draws n questions from s, deterministically from seed, in four equal
// kinds: a permission of one of the member's roles (allowed), a permission of a
// random role (mostly denied), a user of another organization, and an unknown
// user.
func Queries(s *authz.Snapshot, n int, seed uint64) ([]Query, error) {
	var orgs []int
	for i, o := range s.Organizations {
		if len(o.Members) > 0 {
			orgs = append(orgs, i)
		}
	}
	if len(orgs) < 2 || len(s.Roles) == 0 {
		return nil, errors.New("the snapshot needs two organizations with members and a role")
	}
	perms := map[[2]string][]string{}
	for _, r := range s.Roles {
		perms[[2]string{r.Organization, r.Slug}] = r.Permissions
	}
	held := func(org string, m authz.Member, rng *rand.Rand) string {
		for range len(m.Roles) {
			role := m.Roles[rng.IntN(len(m.Roles))]
			for _, p := range [][]string{perms[[2]string{org, role}], perms[[2]string{"", role}]} {
				if len(p) > 0 {
					return p[rng.IntN(len(p))]
				}
			}
		}
		return "none:none"
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6962726172790a))
	out := make([]Query, n)
	for i := range out {
		o := &s.Organizations[orgs[rng.IntN(len(orgs))]]
		m := o.Members[rng.IntN(len(o.Members))]
		q := Query{Org: o.Name, User: m.User}
		switch i % 4 {
		case 0:
			q.Permission = held(o.Name, m, rng)
		case 1:
			r := s.Roles[rng.IntN(len(s.Roles))]
			if len(r.Permissions) > 0 {
				q.Permission = r.Permissions[rng.IntN(len(r.Permissions))]
			} else {
				q.Permission = "none:none"
			}
		case 2:
			other := &s.Organizations[orgs[rng.IntN(len(orgs))]]
			if other.Name != o.Name {
				q.User = other.Members[rng.IntN(len(other.Members))].User
				if slices.ContainsFunc(o.Members, func(x authz.Member) bool { return x.User == q.User }) {
					q.User = "user_unknown"
				}
			}
			q.Permission = held(o.Name, m, rng)
		default:
			q.User = "user_unknown"
			q.Permission = held(o.Name, m, rng)
		}
		q.Obj, q.Act = SplitPermission(q.Permission)
		out[i] = q
	}
	return out, nil
}

// Load reads the snapshot in dir into a FileSource, the way a workload does.
func Load(dir string) (*authz.FileSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", dir, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("the snapshot folder: %w", err)
	}
	src := authz.NewFileSource(abs, authz.FileSourceOptions{})
	if err := src.Reload(); err != nil {
		return nil, fmt.Errorf("loading the snapshot from %s: %w", abs, err)
	}
	return src, nil
}
