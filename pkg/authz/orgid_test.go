package authz

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/resolve/orgidtest"
)

// forgeExternalID returns the files of s with organization org's externalID
// set to id and the content hash recomputed: what a forger with write access to
// the ConfigMap writes when Encode refuses the snapshot. s must be unsharded and
// org must have no externalID.
func forgeExternalID(t *testing.T, s *Snapshot, org, id string) map[string][]byte {
	t.Helper()
	files := encode(t, s, 0)
	doc := files[publish.KeySnapshot]
	oldHash, err := publish.ContentHash(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Organizations {
		if s.Organizations[i].Name == org {
			s.Organizations[i].ExternalID = id
		}
	}
	newHash, err := publish.ContentHash(s)
	if err != nil {
		t.Fatal(err)
	}
	name := []byte(`{"name":` + strconv.Quote(org))
	if bytes.Count(doc, name) != 1 {
		t.Fatalf("organization %q not found once in %s", org, doc)
	}
	doc = bytes.Replace(doc, name, []byte(string(name)+`,"externalID":`+strconv.Quote(id)), 1)
	doc = bytes.Replace(doc, []byte(oldHash), []byte(newHash), 1)
	return map[string][]byte{publish.KeySnapshot: doc}
}

// The shared organization-id table (internal/resolve/orgidtest), read through a
// snapshot as the publisher writes it: the duplicates left out
// (resolve.IndexOrganizations), every organization with one member user_<name>
// holding "p". The decision API runs the same table (internal/api).
func TestOrganizationIDsSharedTable(t *testing.T) {
	for _, tc := range orgidtest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			ids := resolve.IndexOrganizations(tc.Refs())
			s := &Snapshot{Revision: 1, Roles: []Role{{Slug: "r", Type: publish.RoleTypeEnvironment, Permissions: []string{"p"}}}}
			for _, o := range tc.Orgs {
				if _, dup := ids.Duplicate(o.Name); dup {
					continue
				}
				s.Organizations = append(s.Organizations, Organization{Name: o.Name, ExternalID: o.ExternalID,
					Members: []Member{{User: "user_" + o.Name, Membership: o.Name + "-m", Roles: []string{"r"}}}})
			}
			src := loaded(t, publish.Normalize(s), 0)
			for key, want := range tc.Lookups {
				for _, o := range tc.Orgs {
					if got := src.Allowed(key, "user_"+o.Name, "p"); got != (o.Name == want) {
						t.Errorf("Allowed(%q, user_%s) = %v; %q should name %q", key, o.Name, got, key, want)
					}
				}
			}
		})
	}
}

// The review's proofs of M2, as snapshots: whatever ids a forged snapshot
// gives, a collision is refused before any lookup.
func TestCollidingIDsAreInvalid(t *testing.T) {
	for _, tc := range orgidtest.Cases {
		if len(tc.Duplicates) == 0 {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			s := &Snapshot{Revision: 1}
			for _, o := range tc.Orgs {
				s.Organizations = append(s.Organizations, Organization{Name: o.Name, ExternalID: o.ExternalID})
			}
			if err := publish.Validate(publish.Normalize(s)); err == nil {
				t.Error("Validate accepted organizations whose ids collide")
			}
		})
	}
}
