// Package orgidtest is the one table of organization-id lookups that every
// reader of organization ids is tested against: internal/resolve (the rule,
// and the resolution of the members of duplicates), the decision API
// (internal/api) and pkg/authz (through a published snapshot). They must give
// the same answers for the same organizations.
package orgidtest

import (
	"time"

	"github.com/orgrbac/orgrbac/internal/resolve"
)

// T0 is the creation time of the oldest organization of every case.
var T0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Org is one Organization of a case.
type Org struct {
	Name, ExternalID string
	// Age is the creation time, in seconds after T0: smaller is older.
	Age int
}

// Created is the organization's creation time.
func (o Org) Created() time.Time { return T0.Add(time.Duration(o.Age) * time.Second) }

// Ref is the organization as resolve.IndexOrganizations reads it.
func (o Org) Ref() resolve.OrganizationRef {
	return resolve.OrganizationRef{Meta: resolve.Meta{Name: o.Name, Created: o.Created()}, ExternalID: o.ExternalID}
}

// Case is a set of organizations and the organization each looked-up id names.
type Case struct {
	Name string
	Orgs []Org
	// Lookups maps an id a caller gives to the name of the organization it
	// names, "" when it names none.
	Lookups map[string]string
	// Duplicates are the names of the organizations the rule makes duplicates.
	Duplicates []string
}

// Refs are the case's organizations for resolve.IndexOrganizations.
func (c Case) Refs() []resolve.OrganizationRef {
	out := make([]resolve.OrganizationRef, len(c.Orgs))
	for i, o := range c.Orgs {
		out[i] = o.Ref()
	}
	return out
}

// Cases is the shared table.
var Cases = []Case{
	{
		Name: "no collision: ids and names both name their organization",
		Orgs: []Org{{Name: "acme", ExternalID: "org_acme"}, {Name: "globex", Age: 1}},
		Lookups: map[string]string{"acme": "acme", "org_acme": "acme", "globex": "globex",
			"unknown": "", "": "", "ACME": ""},
	},
	{
		Name:    "an organization may use its own name as its externalID",
		Orgs:    []Org{{Name: "acme", ExternalID: "acme"}},
		Lookups: map[string]string{"acme": "acme"},
	},
	{
		// The review's TestSecExternalIDHijacksAnotherOrganizationsName.
		Name:       "a younger externalID equal to an older name captures nothing",
		Orgs:       []Org{{Name: "acme", ExternalID: "org_acme"}, {Name: "evil", ExternalID: "acme", Age: 1}},
		Lookups:    map[string]string{"acme": "acme", "org_acme": "acme", "evil": ""},
		Duplicates: []string{"evil"},
	},
	{
		// The review's TestSecDuplicateExternalIDCrossOrgEscalation: "zzz" sorts
		// after "acme", so a last-by-name rule would have picked it.
		Name:       "two organizations with one externalID: the oldest wins",
		Orgs:       []Org{{Name: "acme", ExternalID: "org_01ACME"}, {Name: "zzz", ExternalID: "org_01ACME", Age: 1}},
		Lookups:    map[string]string{"org_01ACME": "acme", "acme": "acme", "zzz": ""},
		Duplicates: []string{"zzz"},
	},
	{
		Name:       "two organizations with one externalID: the oldest wins whatever the names",
		Orgs:       []Org{{Name: "zzz", ExternalID: "org_01ACME"}, {Name: "acme", ExternalID: "org_01ACME", Age: 1}},
		Lookups:    map[string]string{"org_01ACME": "zzz", "zzz": "zzz", "acme": ""},
		Duplicates: []string{"acme"},
	},
	{
		Name:       "a younger name equal to an older externalID: the older keeps it",
		Orgs:       []Org{{Name: "evil", ExternalID: "acme"}, {Name: "acme", ExternalID: "org_acme", Age: 1}},
		Lookups:    map[string]string{"acme": "evil", "evil": "evil", "org_acme": ""},
		Duplicates: []string{"acme"},
	},
	{
		// The review of members of duplicates: the younger "globex" got past
		// the webhook; its members must not show as members of id "globex",
		// which is acme's.
		Name:       "a younger organization named after an older externalID: its members are nobody's",
		Orgs:       []Org{{Name: "acme", ExternalID: "globex"}, {Name: "globex", Age: 1}},
		Lookups:    map[string]string{"globex": "acme", "acme": "acme"},
		Duplicates: []string{"globex"},
	},
	{
		Name:       "equally old: the name breaks the tie",
		Orgs:       []Org{{Name: "b", ExternalID: "k"}, {Name: "a", ExternalID: "k"}},
		Lookups:    map[string]string{"k": "a", "a": "a", "b": ""},
		Duplicates: []string{"b"},
	},
	{
		Name:       "a key held by a duplicate names nothing",
		Orgs:       []Org{{Name: "a", ExternalID: "x"}, {Name: "x", ExternalID: "y", Age: 1}, {Name: "y", ExternalID: "z", Age: 2}},
		Lookups:    map[string]string{"a": "a", "x": "a", "y": "", "z": ""},
		Duplicates: []string{"x", "y"},
	},
	{
		Name:       "input order does not matter",
		Orgs:       []Org{{Name: "acme-2", ExternalID: "org_acme", Age: 1}, {Name: "acme", ExternalID: "org_acme"}, {Name: "globex"}},
		Lookups:    map[string]string{"org_acme": "acme", "acme": "acme", "globex": "globex", "acme-2": ""},
		Duplicates: []string{"acme-2"},
	},
}
