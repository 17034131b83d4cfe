/*
Copyright 2026 The orgrbac Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package resolve

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/orgrbac/orgrbac/internal/textlist"
)

// candidate is a valid role proposed by one source.
type candidate struct {
	slug  string
	role  *roleData
	group string // first mapped group in sorted order; "" for Manual
	prio  int
}

func compareCandidate(a, b candidate) int {
	return cmp.Or(cmp.Compare(a.prio, b.prio), strings.Compare(a.group, b.group))
}

// settle sorts candidates by priority (then group) and keeps the first entry
// of each slug. Within one organization a priority index names one slug.
func settle(cs []candidate) []candidate {
	slices.SortFunc(cs, compareCandidate)
	return slices.CompactFunc(cs, func(a, b candidate) bool { return a.prio == b.prio })
}

func compareDropped(a, b Dropped) int {
	return cmp.Or(
		strings.Compare(string(a.Source), string(b.Source)),
		strings.Compare(a.Group, b.Group),
		strings.Compare(a.Role, b.Role),
	)
}

// mapped appends the candidates a mapping source gives for groups, and the
// slugs that name no visible role to dropped.
func (o *OrgView) mapped(cs []candidate, dropped []Dropped, src int, source Source, groups []string) ([]candidate, []Dropped) {
	lookup := o.mappings[src]
	if lookup == nil {
		return cs, dropped
	}
	for _, g := range groups {
		for _, t := range lookup[g] {
			if t.prio < 0 {
				dropped = append(dropped, Dropped{Role: t.slug, Source: source, Group: g})
				continue
			}
			cs = append(cs, candidate{slug: t.slug, role: t.role, group: g, prio: t.prio})
		}
	}
	return settle(cs), dropped
}

// Resolve resolves one membership against the compiled environment. It does not
// know about duplicate memberships: see DuplicateMemberships and
// DuplicateResult. The members of a duplicate organization (IndexOrganizations)
// resolve to nothing, ReasonOrganizationDuplicate: the organization answers to
// no id, so no caller could name it, and its members must not show as holding
// roles under an id another organization owns.
func (e *Env) Resolve(m Membership) Result {
	active := m.State.IsActive()
	o := e.orgs[m.Organization]
	if o == nil {
		return Result{
			Reason:  ReasonOrganizationNotFound,
			Message: "organization " + strconv.Quote(m.Organization) + " not found",
			Active:  active,
		}
	}
	if c, dup := e.orgIDs.Duplicate(m.Organization); dup {
		return Result{Reason: ReasonOrganizationDuplicate, Message: c.MemberMessage(m.Organization), Active: active}
	}

	var dirBuf, ssoBuf, manBuf [8]candidate
	var dropped []Dropped
	dir, dropped := o.mapped(dirBuf[:0], dropped, mapDirectory, SourceDirectory, m.DirectoryGroups)
	sso, dropped := o.mapped(ssoBuf[:0], dropped, mapSSO, SourceSSO, m.SSOGroups)
	man := manBuf[:0]
	for _, s := range m.Roles {
		if s == "" {
			continue
		}
		if r, ok := o.lookup(s); ok {
			man = append(man, candidate{slug: s, role: r.role, prio: r.prio})
		} else {
			dropped = append(dropped, Dropped{Role: s, Source: SourceManual})
		}
	}
	man = settle(man)
	if len(dropped) > 0 {
		slices.SortFunc(dropped, compareDropped)
		dropped = slices.Clip(slices.Compact(dropped))
	}

	res := Result{Active: active, Dropped: dropped}
	if !e.multiple && len(man) > 1 {
		res.Extra = make([]string, len(man)-1)
		for i, c := range man[1:] {
			res.Extra[i] = c.slug
		}
	}

	var chosen []candidate
	switch {
	case len(dir) > 0:
		chosen, res.Source = dir, SourceDirectory
	case len(sso) > 0:
		chosen, res.Source = sso, SourceSSO
	case len(man) > 0:
		chosen, res.Source = man, SourceManual
	case o.defaultRole != "":
		r, _ := o.lookup(o.defaultRole)
		chosen, res.Source = []candidate{{slug: o.defaultRole, role: r.role, prio: r.prio}}, SourceDefault
	default:
		res.Reason = ReasonDefaultRoleMissing
		var b strings.Builder
		o.writeMissingDefault(&b, e)
		writeNotes(&b, &res)
		res.Message = b.String()
		return res
	}
	if !e.multiple {
		chosen = chosen[:1]
	}

	res.Ready = true
	res.Reason = ReasonResolved
	res.Roles = make([]string, len(chosen))
	res.Assignments = make([]Assignment, len(chosen))
	for i, c := range chosen {
		res.Roles[i] = c.slug
		res.Assignments[i] = Assignment{Role: c.slug, Source: res.Source, Group: c.group}
	}
	res.Role = res.Roles[0]
	if active {
		res.Permissions = permissions(chosen)
	}
	var b strings.Builder
	b.Grow(64)
	writeResolved(&b, &res, m.State)
	writeNotes(&b, &res)
	res.Message = b.String()
	return res
}

// permissions returns the sorted, unique union of the roles' permissions.
func permissions(cs []candidate) []string {
	if len(cs) == 1 {
		return slices.Clone(cs[0].role.perms)
	}
	n := 0
	for _, c := range cs {
		n += len(c.role.perms)
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for _, c := range cs {
		out = append(out, c.role.perms...)
	}
	slices.Sort(out)
	return slices.Clip(slices.Compact(out))
}

// writeQuote writes s as a Go string literal, without allocating for the
// printable ASCII of ordinary slugs.
func writeQuote(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b.WriteString(strconv.Quote(s))
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// writeQuoted writes up to textlist.Max quoted strings, comma-separated.
func writeQuoted(b *strings.Builder, items []string) {
	textlist.Write(b, len(items), func(i int) { writeQuote(b, items[i]) })
}

// writeResolved writes the message of a Ready result.
func writeResolved(b *strings.Builder, r *Result, state State) {
	if len(r.Roles) == 1 {
		b.WriteString("role ")
	} else {
		b.WriteString("roles ")
	}
	writeQuoted(b, r.Roles)
	b.WriteString(" from ")
	b.WriteString(string(r.Source))
	if !r.Active {
		b.WriteString("; state ")
		writeQuote(b, string(state))
		b.WriteString(" is not active: no permissions")
	}
}

// writeNotes writes the RoleNotFound and TooManyRoles findings of r, if any.
func writeNotes(b *strings.Builder, r *Result) {
	if len(r.Dropped) > 0 {
		b.WriteString("; " + string(ReasonRoleNotFound) + ": ")
		textlist.Write(b, len(r.Dropped), func(i int) {
			d := r.Dropped[i]
			writeQuote(b, d.Role)
			b.WriteString(" (")
			b.WriteString(string(d.Source))
			if d.Group != "" {
				b.WriteString(" group ")
				writeQuote(b, d.Group)
			}
			b.WriteString(")")
		})
	}
	if len(r.Extra) > 0 {
		b.WriteString("; " + string(ReasonTooManyRoles) + ": single-role environment, ignored ")
		writeQuoted(b, r.Extra)
	}
}

// writeMissingDefault writes the message of a DefaultRoleMissing result.
func (o *OrgView) writeMissingDefault(b *strings.Builder, e *Env) {
	b.WriteString("no role from Directory, SSO or Manual and no default role")
	if o.unknownDefault != "" {
		b.WriteString("; organization defaultRole ")
		writeQuote(b, o.unknownDefault)
		b.WriteString(" names no role")
	}
	if e.env != nil && e.env.DefaultRole != "" {
		b.WriteString("; environment defaultRole ")
		writeQuote(b, e.env.DefaultRole)
		b.WriteString(" names no role")
	}
	b.WriteString("; no Role \"member\"")
}

// DuplicateMemberships groups memberships by (Organization, User) and maps the
// name of each losing membership to the name of the winner (the oldest, name
// breaking ties); nil when there is none. Losers grant nothing.
func DuplicateMemberships(ms []Membership) map[string]string {
	type key struct{ org, user string }
	winners := make(map[key]Meta, len(ms))
	for i := range ms {
		k := key{ms[i].Organization, ms[i].User}
		if w, ok := winners[k]; !ok || CompareMeta(ms[i].Meta, w) < 0 {
			winners[k] = ms[i].Meta
		}
	}
	var out map[string]string
	var outMeta map[string]Meta
	for i := range ms {
		w := winners[key{ms[i].Organization, ms[i].User}]
		if ms[i].Name == w.Name {
			continue
		}
		if out == nil {
			out, outMeta = map[string]string{}, map[string]Meta{}
		}
		// A name losing in several groups (impossible in a cluster) maps to
		// the oldest of its winners, whatever the input order.
		if prev, ok := outMeta[ms[i].Name]; !ok || CompareMeta(w, prev) < 0 {
			out[ms[i].Name] = w.Name
			outMeta[ms[i].Name] = w
		}
	}
	return out
}

// DuplicateResult is the Result of a losing duplicate membership m: not Ready,
// reason Duplicate, no roles and no permissions.
func DuplicateResult(m Membership, winner string) Result {
	return Result{
		Reason: ReasonDuplicate,
		Message: "duplicate of Membership " + strconv.Quote(winner) + " for organization " +
			strconv.Quote(m.Organization) + " and user " + strconv.Quote(m.User) + ": the oldest wins",
		Active: m.State.IsActive(),
	}
}

// UndeclaredPermissions returns the sorted, unique slugs of rolePerms missing
// from catalog (the declared Permission slugs). It returns nil when catalog is
// empty: without a catalog nothing counts as undeclared.
func UndeclaredPermissions(rolePerms []string, catalog []string) []string {
	if len(catalog) == 0 {
		return nil
	}
	declared := make(map[string]struct{}, len(catalog))
	for _, c := range catalog {
		declared[c] = struct{}{}
	}
	var out []string
	for _, p := range rolePerms {
		if _, ok := declared[p]; !ok && p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Clip(slices.Compact(out))
}
