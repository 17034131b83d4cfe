package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// resolverInput converts a generated world into the resolver's input, giving
// objects creation times in the order the benchmark creates them (role order is
// priority order).
func resolverInput(w *world) resolve.Input {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := 0
	meta := func(name string) resolve.Meta {
		tick++
		return resolve.Meta{Name: name, Created: t0.Add(time.Duration(tick) * time.Second)}
	}
	e := w.Environment
	in := resolve.Input{Environments: []resolve.Environment{{Meta: meta(e.Name), DefaultRole: e.Spec.DefaultRole,
		RolePriority: e.Spec.RolePriority, MultipleRoles: e.Spec.MultipleRoles}}}
	for _, r := range w.Roles {
		in.Roles = append(in.Roles, resolve.Role{Meta: meta(r.Name), Slug: r.Spec.Slug, Permissions: r.Spec.Permissions})
	}
	for _, o := range w.Organizations {
		in.Organizations = append(in.Organizations, resolve.Organization{Meta: meta(o.Name), ExternalID: o.Spec.ExternalID,
			DefaultRole: o.Spec.DefaultRole, RolePriority: o.Spec.RolePriority})
	}
	for _, r := range w.OrganizationRoles {
		in.OrganizationRoles = append(in.OrganizationRoles, resolve.OrganizationRole{Meta: meta(r.Name),
			Organization: r.Spec.Organization, Slug: r.Spec.Slug, Permissions: r.Spec.Permissions})
	}
	for _, g := range w.GroupMappings {
		in.GroupMappings = append(in.GroupMappings, resolve.GroupMapping{Meta: meta(g.Name),
			Organization: g.Spec.Organization, Source: resolve.Source(g.Spec.Source), Group: g.Spec.Group, Role: g.Spec.Role})
	}
	return in
}

// resolveAll resolves every membership of w with the pure resolver, in creation
// order (index i is w.Memberships[i]).
func resolveAll(w *world) (*resolve.Env, []resolve.Result) {
	env := resolve.Compile(resolverInput(w))
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
