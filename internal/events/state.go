package events

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// The log's pure logic: keys, digests, the described state, the diff that
// turns a change of state into ordered events, checkpoints and segment
// splitting. Nothing here does I/O.

// Kind is the kind of object a key names, in the order creations and updates
// are emitted (deletions go in the reverse order): what an event refers to
// (a role a membership holds, the organization of a role) is created before
// it and deleted after it.
type Kind int

// The kinds of keys.
const (
	KindPermission Kind = iota
	KindRole
	KindOrganization
	KindOrganizationRole
	KindMembership
	kinds
)

// keyPrefix is the start of the keys of each kind.
var keyPrefix = [kinds]string{"permission/", "role/", "organization/", "organization_role/", "membership/"}

// eventObject is the WorkOS event name prefix of each kind.
var eventObject = [kinds]string{"permission", "role", "organization", "organization_role", "organization_membership"}

// KindOf returns the kind of a key, and false for a key of no known kind.
func KindOf(key string) (Kind, bool) {
	for k := range kinds {
		if strings.HasPrefix(key, keyPrefix[k]) {
			return k, true
		}
	}
	return 0, false
}

// Keys of each kind.

// MembershipKey is the key of a membership (by object name, its WorkOS id).
func MembershipKey(name string) string { return keyPrefix[KindMembership] + name }

// RoleKey is the key of an environment role.
func RoleKey(slug string) string { return keyPrefix[KindRole] + slug }

// OrganizationRoleKey is the key of a role of organization org (its object name).
func OrganizationRoleKey(org, slug string) string {
	return keyPrefix[KindOrganizationRole] + org + "/" + slug
}

// PermissionKey is the key of a permission.
func PermissionKey(slug string) string { return keyPrefix[KindPermission] + slug }

// OrganizationKey is the key of an organization (by object name).
func OrganizationKey(name string) string { return keyPrefix[KindOrganization] + name }

// Op is what happened to a key.
type Op int

// The operations, as event name suffixes.
const (
	Created Op = iota
	Updated
	Deleted
)

func (o Op) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	}
	return "deleted"
}

// EventName is the WorkOS event type of op on an object of kind k, e.g.
// organization_membership.updated.
func EventName(k Kind, op Op) string { return eventObject[k] + "." + op.String() }

// Described is what the log says of one key: the digest of its last event and
// that event's sequence number (0 when only a checkpoint says it).
type Described struct {
	Digest uint64
	Seq    int64
}

// State is the described state: what the log says a client has seen, by
// key. A deleted key is absent.
type State map[string]Described

// Apply folds stored event e, whose sequence number is seq, into s.
func (s State) Apply(e *orgrbacv1alpha1.StoredEvent, seq int64) error {
	if strings.HasSuffix(e.Event, ".deleted") {
		delete(s, e.Key)
		return nil
	}
	d, err := ParseDigest(e.Digest)
	if err != nil {
		return fmt.Errorf("event %s (%s): %w", e.ID, e.Key, err)
	}
	s[e.Key] = Described{Digest: d, Seq: seq}
	return nil
}

// Digests returns the digest of every key of s.
func (s State) Digests() map[string]uint64 {
	out := make(map[string]uint64, len(s))
	for k, e := range s {
		out[k] = e.Digest
	}
	return out
}

// FormatDigest is the stored form of a digest: 16 hex digits.
func FormatDigest(d uint64) string { return fmt.Sprintf("%016x", d) }

// ParseDigest parses FormatDigest's form.
func ParseDigest(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("digest %q is not 16 hex digits", s)
	}
	d, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("digest %q is not 16 hex digits", s)
	}
	return d, nil
}

// Change is one event to emit: op on key, whose digest is now Digest (0 for a
// deletion).
type Change struct {
	Key    string
	Kind   Kind
	Op     Op
	Digest uint64
}

// Diff returns the changes that take a client from described to current (a
// digest per key), in emission order: creations and updates first, by kind
// (permissions, roles, organizations, organization roles, memberships) then
// key; then deletions, by kind in the reverse order, then key. Keys of no
// known kind are ignored.
func Diff(described State, current map[string]uint64) []Change {
	var out []Change
	for key, d := range current {
		k, ok := KindOf(key)
		if !ok {
			continue
		}
		old, had := described[key]
		switch {
		case !had:
			out = append(out, Change{Key: key, Kind: k, Op: Created, Digest: d})
		case old.Digest != d:
			out = append(out, Change{Key: key, Kind: k, Op: Updated, Digest: d})
		}
	}
	for key := range described {
		if _, ok := current[key]; ok {
			continue
		}
		if k, ok := KindOf(key); ok {
			out = append(out, Change{Key: key, Kind: k, Op: Deleted})
		}
	}
	slices.SortFunc(out, compareChanges)
	return out
}

func compareChanges(a, b Change) int {
	ad, bd := a.Op == Deleted, b.Op == Deleted
	switch {
	case ad != bd:
		if bd {
			return -1
		}
		return 1
	case ad:
		if c := cmp.Compare(b.Kind, a.Kind); c != 0 {
			return c
		}
	default:
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
	}
	return strings.Compare(a.Key, b.Key)
}

// CheckpointPartSize is the most entries a Checkpoint part holds.
const CheckpointPartSize = 20000

// CheckpointParts returns the state lists of the parts of a checkpoint of s:
// `<key> <digest>` per key, sorted by key, at most size per part, and at
// least one part (empty for an empty state).
func CheckpointParts(s State, size int) [][]string {
	keys := slices.Sorted(maps.Keys(s))
	parts := [][]string{}
	for len(keys) > 0 || len(parts) == 0 {
		n := min(size, len(keys))
		part := make([]string, 0, n)
		for _, k := range keys[:n] {
			part = append(part, k+" "+FormatDigest(s[k].Digest))
		}
		parts = append(parts, part)
		keys = keys[n:]
	}
	return parts
}

// LoadCheckpoint folds the entries of a checkpoint part into s (with sequence
// number 0: the events that set them are pruned).
func LoadCheckpoint(s State, entries []string) error {
	for _, line := range entries {
		key, digest, ok := strings.Cut(line, " ")
		if !ok {
			return fmt.Errorf("checkpoint entry %q is not `<key> <digest>`", line)
		}
		d, err := ParseDigest(digest)
		if err != nil {
			return fmt.Errorf("checkpoint entry of %s: %w", key, err)
		}
		s[key] = Described{Digest: d}
	}
	return nil
}

// Split splits events of the given sizes (bytes) into runs: the first run
// (maybe empty) goes into the open segment, which holds openCount events of
// openBytes (openCount < 0: there is no open segment), each further run into
// a new segment. A segment holds at most maxEvents events and, unless it is
// one event alone, at most maxBytes bytes.
func Split(openCount, openBytes int, sizes []int, maxEvents, maxBytes int) (intoOpen int, runs []int) {
	i := 0
	if openCount >= 0 {
		n, b := openCount, openBytes
		for i < len(sizes) && n < maxEvents && (b+sizes[i] <= maxBytes || n == 0) {
			n, b = n+1, b+sizes[i]
			i++
		}
		intoOpen = i
	}
	for i < len(sizes) {
		n, b := 0, 0
		for i < len(sizes) && n < maxEvents && (b+sizes[i] <= maxBytes || n == 0) {
			n, b = n+1, b+sizes[i]
			i++
		}
		runs = append(runs, n)
	}
	return intoOpen, runs
}

// eventSize is an estimate of the bytes event e takes in its segment.
func eventSize(e *orgrbacv1alpha1.StoredEvent) int {
	return len(e.ID) + len(e.Event) + len(e.Key) + len(e.Digest) + len(e.OrganizationID) + len(e.Data.Raw) + 120
}
