package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// worldObjects are a generated world's objects as the resolver reads them,
// with creation times in the order the benchmark creates them (role order is
// priority order).
func worldObjects(w *world) model.Objects {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := 0
	created := func(m metav1.ObjectMeta) metav1.ObjectMeta {
		tick++
		m.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(tick) * time.Second))
		return m
	}
	e := *w.Environment
	e.ObjectMeta = created(e.ObjectMeta)
	objs := model.Objects{Environments: []orgrbacv1alpha1.Environment{e}}
	for _, r := range w.Roles {
		c := *r
		c.ObjectMeta = created(c.ObjectMeta)
		objs.Roles = append(objs.Roles, c)
	}
	for _, o := range w.Organizations {
		c := *o
		c.ObjectMeta = created(c.ObjectMeta)
		objs.Organizations = append(objs.Organizations, c)
	}
	for _, r := range w.OrganizationRoles {
		c := *r
		c.ObjectMeta = created(c.ObjectMeta)
		objs.OrganizationRoles = append(objs.OrganizationRoles, c)
	}
	for _, g := range w.GroupMappings {
		c := *g
		c.ObjectMeta = created(c.ObjectMeta)
		objs.GroupMappings = append(objs.GroupMappings, c)
	}
	return objs
}

// resolverInput is the resolver's input of a generated world (model.Input).
func resolverInput(w *world) resolve.Input { return model.Input(worldObjects(w)) }

// resolveAll resolves every membership of w with the pure resolver, in creation
// order (index i is w.Memberships[i]).
func resolveAll(w *world) (*resolve.Env, []resolve.Result) {
	env := model.Compile(worldObjects(w))
	t0 := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	out := make([]resolve.Result, len(w.Memberships))
	for i, m := range w.Memberships {
		s := &m.Spec
		out[i] = env.Resolve(resolve.Membership{
			Meta:         resolve.Meta{Name: m.Name, Created: t0.Add(time.Duration(i) * time.Millisecond)},
			Organization: s.Organization, User: s.User, Roles: s.Roles,
			DirectoryGroups: s.DirectoryGroups, SSOGroups: s.SSOGroups, State: resolve.State(s.State),
		})
	}
	return env, out
}

// snapshotOf is what the operator publishes for w once every membership is
// resolved: every role with its permissions, every organization with its
// active, Ready members and their roles (as docs/publishing.md specifies).
func snapshotOf(w *world, env *resolve.Env, results []resolve.Result) *publish.Snapshot {
	s := &publish.Snapshot{Revision: 1}
	for _, r := range env.Roles() {
		s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeEnvironment, Permissions: r.Permissions})
	}
	index := map[string]int{}
	for _, o := range w.Organizations {
		view := env.Organization(o.Name)
		if view == nil {
			continue
		}
		for _, r := range view.Roles() {
			if r.Type == resolve.RoleTypeOrganization {
				s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeOrganization,
					Organization: o.Name, Permissions: r.Permissions})
			}
		}
		index[o.Name] = len(s.Organizations)
		s.Organizations = append(s.Organizations, publish.Organization{Name: o.Name, ExternalID: o.Spec.ExternalID})
	}
	for i, m := range w.Memberships {
		res := &results[i]
		j, ok := index[m.Spec.Organization]
		if !ok || !res.Ready || !res.Active || len(res.Roles) == 0 {
			continue
		}
		o := &s.Organizations[j]
		o.Members = append(o.Members, publish.Member{User: m.Spec.User, Membership: m.Name, Roles: res.Roles})
	}
	return publish.Normalize(s)
}

// writeSnapshot encodes s as the publisher shards it and writes every
// ConfigMap's files into dir (as a projected volume would), returning their
// total size.
func writeSnapshot(dir string, s *publish.Snapshot) (int, error) {
	cms, err := publish.Encode(s, publish.DefaultMaxBytes)
	if err != nil {
		return 0, fmt.Errorf("encoding the snapshot: %w", err)
	}
	size := 0
	for _, cm := range cms {
		for k, v := range cm.Data {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
				return 0, fmt.Errorf("writing the snapshot: %w", err)
			}
			size += len(v)
		}
	}
	return size, nil
}
