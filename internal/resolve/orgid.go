package resolve

import (
	"slices"
	"strconv"
)

// Organization ids: how a caller's organization id names an organization.
//
// Callers (the decision API, pkg/authz readers, kubectl orgrbac) name an
// organization by an id that is either its spec.externalID (a WorkOS org_ id) or
// its metadata.name. Both kinds share one key space per environment: the keys of
// an organization are its name and its externalID. The rule, applied everywhere
// through [IndexOrganizations]:
//
//  1. A key that several organizations claim (as name or as externalID) belongs
//     to the oldest of them (creation time, then name).
//  2. An organization one of whose keys an older organization claims is a
//     duplicate: it answers to no key at all (neither its name nor its
//     externalID), so it can never capture another organization's decisions,
//     and it grants nothing through the decision API or published snapshots
//     until the collision is removed. The Organization controller reports it
//     Ready=False, reason Duplicate, and its memberships resolve to no roles
//     and no permissions, Ready=False, reason OrganizationDuplicate
//     (Env.Resolve).
//  3. A key whose oldest claimant is a duplicate names no organization.
//
// The admission webhook denies creating a collision; this rule settles those
// that get past it (two creates at once, the webhook down), the way duplicate
// roles and memberships are settled: the oldest wins.

// OrganizationRef is what identifies an Organization to callers.
type OrganizationRef struct {
	Meta
	// ExternalID is spec.externalID, "" when unset.
	ExternalID string
}

// Fields of an organization that claim a key.
const (
	// FieldName is metadata.name.
	FieldName = "name"
	// FieldExternalID is spec.externalID.
	FieldExternalID = "externalID"
)

// OrganizationConflict is why an organization is a duplicate: an older
// organization claims one of its keys.
type OrganizationConflict struct {
	// Key is the key both claim.
	Key string
	// Field is how the duplicate claims Key: FieldName or FieldExternalID.
	Field string
	// Winner is the name of the older organization that holds Key.
	Winner string
	// WinnerField is how the winner claims Key: FieldName or FieldExternalID.
	WinnerField string
}

// Message describes the conflict for the duplicate's Ready condition. It names
// only the winner and the key, as the webhook's denial does.
func (c OrganizationConflict) Message() string {
	fix := "change or remove spec.externalID"
	if c.Field == FieldName {
		fix = "recreate this organization under another name"
	}
	return "Organization " + strconv.Quote(c.Winner) + " is older and has " + strconv.Quote(c.Key) +
		" as its " + c.WinnerField + ", which is this one's " + c.Field +
		": organization names and externalIDs are one key space and the oldest wins; " +
		"this organization answers to no id and grants nothing until you " + fix
}

// MemberMessage describes the conflict for the Ready condition of a member of
// the duplicate org. It names the duplicate, the winner and the key once each:
// with names of at most 253 bytes and externalIDs of at most 128, it fits a
// condition message (1024 bytes) whole.
func (c OrganizationConflict) MemberMessage(org string) string {
	return "organization " + strconv.Quote(org) + " is a duplicate: Organization " + strconv.Quote(c.Winner) +
		" is older and has " + strconv.Quote(c.Key) + " as its " + c.WinnerField + ", which is the duplicate's " +
		c.Field + "; organization names and externalIDs are one key space and the oldest wins, " +
		"so this membership gets no roles and no permissions until the collision is removed"
}

// OrganizationIndex answers which organization a caller's id names.
// It is immutable once built.
type OrganizationIndex struct {
	// byKey maps every key to the organization that answers to it; keys whose
	// oldest claimant is a duplicate are absent.
	byKey map[string]string
	// dups maps each duplicate's name to its conflict.
	dups map[string]OrganizationConflict
}

// IndexOrganizations applies the rule above to the organizations of one
// environment (those not being deleted).
func IndexOrganizations(orgs []OrganizationRef) *OrganizationIndex {
	sorted := slices.Clone(orgs)
	slices.SortFunc(sorted, func(a, b OrganizationRef) int { return CompareMeta(a.Meta, b.Meta) })
	type claim struct{ name, field string }
	claims := make(map[string]claim, 2*len(sorted))
	x := &OrganizationIndex{byKey: make(map[string]string, 2*len(sorted))}
	for _, o := range sorted {
		keys := [2]claim{{o.Name, FieldName}, {o.Name, FieldExternalID}}
		var conflict *OrganizationConflict
		for i, k := range [2]string{o.Name, o.ExternalID} {
			if k == "" {
				continue
			}
			c, taken := claims[k]
			switch {
			case !taken:
				claims[k] = keys[i]
			case c.name != o.Name && conflict == nil:
				conflict = &OrganizationConflict{Key: k, Field: keys[i].field, Winner: c.name, WinnerField: c.field}
			}
		}
		if conflict != nil {
			if x.dups == nil {
				x.dups = map[string]OrganizationConflict{}
			}
			x.dups[o.Name] = *conflict
		}
	}
	for k, c := range claims {
		if _, dup := x.dups[c.name]; !dup {
			x.byKey[k] = c.name
		}
	}
	return x
}

// Lookup returns the name of the organization that answers to key (an
// externalID or a name); ok is false when none does.
func (x *OrganizationIndex) Lookup(key string) (name string, ok bool) {
	name, ok = x.byKey[key]
	return name, ok
}

// Duplicate returns the conflict of the named organization; ok is false when
// it is not a duplicate.
func (x *OrganizationIndex) Duplicate(name string) (c OrganizationConflict, ok bool) {
	c, ok = x.dups[name]
	return c, ok
}

// Len is the number of keys that name an organization.
func (x *OrganizationIndex) Len() int { return len(x.byKey) }
