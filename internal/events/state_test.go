package events

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// viewOf loads objs into a store and returns the view of namespace videos,
// with the data of every key (built during the read).
func viewOf(t *testing.T, objs *storetest.Objects, perms ...orgrbacv1alpha1.Permission) (map[string]uint64, map[string]json.RawMessage) {
	t.Helper()
	x := store.New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	x.Load("videos", objs.Objects, objs.Memberships, 0)
	var (
		digests map[string]uint64
		data    = map[string]json.RawMessage{}
	)
	x.Get("videos").Read(func(c *store.Content) {
		v := NewView(c, perms)
		digests = v.Digests
		for k := range v.Digests {
			raw, _, err := v.Data(k)
			if err != nil {
				t.Fatal(err)
			}
			data[k] = raw
		}
	})
	return digests, data
}

// described is the state a log that emitted exactly digests describes.
func described(digests map[string]uint64) State {
	s := State{}
	for k, d := range digests {
		s[k] = Described{Digest: d, Seq: 1}
	}
	return s
}

func events(changes []Change) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = EventName(c.Kind, c.Op) + " " + c.Key
	}
	return out
}

func TestViewKeysAndData(t *testing.T) {
	perm := orgrbacv1alpha1.Permission{ObjectMeta: storetest.ObjMeta("videos-view", 0),
		Spec: orgrbacv1alpha1.PermissionSpec{Slug: "videos:view", DisplayName: "View videos"}}
	dup := orgrbacv1alpha1.Permission{ObjectMeta: storetest.ObjMeta("videos-view-2", 1),
		Spec: orgrbacv1alpha1.PermissionSpec{Slug: "videos:view", DisplayName: "Duplicate"}}
	digests, data := viewOf(t, storetest.Sample(), dup, perm)
	want := []string{"membership/alice", "membership/bob", "membership/carol", "membership/dave", "membership/erin",
		"membership/frank", "membership/alice-dup", "organization/acme", "organization/globex",
		"organization_role/acme/org-producer", "permission/videos:view", "role/admin", "role/editor", "role/member"}
	if got := slices.Sorted(maps.Keys(digests)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("keys %v\nwant %v", got, want)
	}
	for key, wantJSON := range map[string]string{
		"role/admin": `{"object":"role","slug":"admin","resource_type_slug":"organization",` +
			`"permissions":["videos:delete","videos:edit","videos:view"],"created_at":"2026-01-02T03:07:05.000Z","updated_at":"2026-01-02T03:07:05.000Z"}`,
		"organization_role/acme/org-producer": `{"object":"organization_role","organization_id":"org_acme","slug":"org-producer",` +
			`"name":"org-producer","description":null,"resource_type_slug":"organization","permissions":["videos:create"],` +
			`"created_at":"2026-01-02T03:10:05.000Z","updated_at":"2026-01-02T03:10:05.000Z"}`,
		"permission/videos:view": `{"object":"permission","id":"videos-view","slug":"videos:view","name":"View videos",` +
			`"description":null,"system":false,"created_at":"2026-01-02T03:04:05.000Z","updated_at":"2026-01-02T03:04:05.000Z"}`,
	} {
		if string(data[key]) != wantJSON {
			t.Errorf("data of %s:\n got %s\nwant %s", key, data[key], wantJSON)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(data["membership/bob"], &m); err != nil || m["object"] != "organization_membership" ||
		m["organization_id"] != "org_acme" || m["role"].(map[string]any)["slug"] != "org-producer" {
		t.Errorf("membership data %s (%v)", data["membership/bob"], err)
	}
}

func TestDiff(t *testing.T) {
	base := storetest.Sample()
	before, _ := viewOf(t, base)
	cases := []struct {
		name   string
		change func(o *storetest.Objects)
		want   []string
	}{
		{"nothing", func(*storetest.Objects) {}, nil},
		{"a membership's resolved role changes: one updated", func(o *storetest.Objects) {
			m := &o.Memberships[5] // frank
			m.Status.Role, m.Status.Roles = "editor", []string{"editor"}
			m.Status.Permissions = []string{"videos:edit", "videos:view"}
			m.Status.Conditions[0].LastTransitionTime = metav1.NewTime(storetest.T0.Add(time.Hour))
		}, []string{"organization_membership.updated membership/frank"}},
		{"a role held by many gets a permission: one role.updated", func(o *storetest.Objects) {
			o.Roles[1].Spec.Permissions = append(o.Roles[1].Spec.Permissions, "videos:share") // editor
			for i := range o.Memberships {
				if slices.Contains(o.Memberships[i].Status.Roles, "editor") {
					o.Memberships[i].Status.Permissions = append(o.Memberships[i].Status.Permissions, "videos:share")
				}
			}
		}, []string{"role.updated role/editor"}},
		{"an organization is renamed: one organization.updated", func(o *storetest.Objects) {
			o.Organizations[0].Spec.DisplayName = "Acme Corp"
		}, []string{"organization.updated organization/acme"}},
		{"an organization role is deleted and its holder reassigned", func(o *storetest.Objects) {
			o.OrganizationRoles = nil
			o.Memberships[1].Status.Role, o.Memberships[1].Status.Roles = "member", []string{"member"}
		}, []string{"organization_membership.updated membership/bob",
			"organization_role.deleted organization_role/acme/org-producer"}},
		{"a membership without a computed status is not there yet", func(o *storetest.Objects) {
			m := storetest.Member("gina", "globex", "u_gina", 20, "", true, nil)
			m.Status = orgrbacv1alpha1.MembershipStatus{}
			o.Memberships = append(o.Memberships, m)
		}, nil},
		{"creations by kind, deletions in the reverse order", func(o *storetest.Objects) {
			o.Roles = append(o.Roles, orgrbacv1alpha1.Role{ObjectMeta: storetest.ObjMeta("viewer", 7)})
			o.Organizations = append(o.Organizations, orgrbacv1alpha1.Organization{ObjectMeta: storetest.ObjMeta("initech", 8)})
			o.Memberships = append(o.Memberships, storetest.Member("hank", "initech", "u_hank", 21, "", true, []string{"viewer"}))
			o.Memberships = slices.DeleteFunc(o.Memberships, func(m orgrbacv1alpha1.Membership) bool { return m.Spec.Organization == "globex" })
			o.Organizations = slices.DeleteFunc(o.Organizations, func(g orgrbacv1alpha1.Organization) bool { return g.Name == "globex" })
		}, []string{"role.created role/viewer", "organization.created organization/initech",
			"organization_membership.created membership/hank",
			"organization_membership.deleted membership/frank", "organization.deleted organization/globex"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := storetest.Sample()
			tc.change(o)
			after, _ := viewOf(t, o)
			if got := events(Diff(described(before), after)); !slices.Equal(got, tc.want) {
				t.Errorf("events\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDigestIgnoresUpdatedAtAndOrganizationName(t *testing.T) {
	a := MembershipDigest("om", "u", "org", "active", "admin", []string{"admin"}, false)
	if b := MembershipDigest("om", "u", "org", "active", "admin", []string{"admin"}, true); a == b {
		t.Error("directory_managed does not change the digest")
	}
	if b := MembershipDigest("om", "u", "org", "active", "admi", []string{"nadmin"}, false); a == b {
		t.Error("fields run into each other")
	}
	if len(FormatDigest(1)) != 16 {
		t.Error("digest is not 16 hex digits")
	}
	if d, err := ParseDigest(FormatDigest(a)); err != nil || d != a {
		t.Errorf("ParseDigest(FormatDigest) = %x, %v", d, err)
	}
}

func TestSplit(t *testing.T) {
	sizes := func(n, each int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = each
		}
		return s
	}
	cases := []struct {
		name                 string
		openCount, openBytes int
		sizes                []int
		wantOpen             int
		wantRuns             []int
	}{
		{"no open segment", -1, 0, sizes(3, 10), 0, []int{3}},
		{"fits the open one", 2, 20, sizes(3, 10), 3, nil},
		{"fills the open one, then new ones by count", 8, 0, sizes(25, 1), 2, []int{10, 10, 3}},
		{"by bytes", 1, 90, sizes(5, 40), 0, []int{2, 2, 1}},
		{"an event larger than a segment goes alone", -1, 0, []int{500, 10}, 0, []int{1, 1}},
		{"full open segment", 10, 0, sizes(1, 1), 0, []int{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			open, runs := Split(tc.openCount, tc.openBytes, tc.sizes, 10, 100)
			if open != tc.wantOpen || !slices.Equal(runs, tc.wantRuns) {
				t.Errorf("Split = %d, %v; want %d, %v", open, runs, tc.wantOpen, tc.wantRuns)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	day := int64(24 * time.Hour / time.Millisecond)
	cases := []struct {
		name      string
		counts    []int
		newest    []int64
		maxEvents int
		want      int
	}{
		{"within bounds", []int{500, 500}, []int64{10 * day, 11 * day}, 1000, 0},
		{"too many: the oldest go while maxEvents remain", []int{500, 500, 500, 100}, []int64{10 * day, 10 * day, 10 * day, 10 * day}, 1000, 1},
		{"too old", []int{5, 5, 5}, []int64{1 * day, 2 * day, 10 * day}, 1000, 2},
		{"never the newest", []int{5, 5}, []int64{1, 2}, 1000, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Prune(tc.counts, tc.newest, 5*day, tc.maxEvents); got != tc.want {
				t.Errorf("Prune = %d, want %d", got, tc.want)
			}
		})
	}
}

// stored is the stored form of changes from seq first on.
func stored(changes []Change) []orgrbacv1alpha1.StoredEvent {
	out := make([]orgrbacv1alpha1.StoredEvent, len(changes))
	for i, c := range changes {
		out[i] = orgrbacv1alpha1.StoredEvent{Event: EventName(c.Kind, c.Op), Key: c.Key,
			Data: runtime.RawExtension{Raw: []byte(`{}`)}}
		if c.Op != Deleted {
			out[i].Digest = FormatDigest(c.Digest)
		}
	}
	return out
}

// TestCheckpointFold: a checkpoint of the folded state, then the events
// after it, describe the same state as all the events.
func TestCheckpointFold(t *testing.T) {
	replay(t, rand.New(rand.NewPCG(1, 2)), 50, 3)
}

// FuzzReplay checks, for random sequences of states, that emitting each
// state's diff and folding the events (from a checkpoint taken at any point,
// in parts of any size) gives back the last state.
func FuzzReplay(f *testing.F) {
	f.Add(uint64(1), uint8(10), uint8(3))
	f.Add(uint64(7), uint8(40), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, steps, partSize uint8) {
		replay(t, rand.New(rand.NewPCG(seed, seed^0x9e37)), int(steps)%64, int(partSize)%8+1)
	})
}

func replay(t *testing.T, r *rand.Rand, steps, partSize int) {
	t.Helper()
	prefixes := []string{"membership/m", "role/r", "organization/o", "organization_role/o/r", "permission/p"}
	current := map[string]uint64{}
	var log []orgrbacv1alpha1.StoredEvent
	checkpointAt := r.IntN(steps + 1)
	var checkpoint [][]string
	folded := State{}
	for step := range steps {
		next := maps.Clone(current)
		for range r.IntN(6) {
			key := fmt.Sprintf("%s%d", prefixes[r.IntN(len(prefixes))], r.IntN(8))
			if r.IntN(3) == 0 {
				delete(next, key)
			} else {
				next[key] = uint64(r.IntN(3))
			}
		}
		changes := Diff(folded, next)
		// A diff against the state it describes is empty.
		for _, ev := range stored(changes) {
			log = append(log, ev)
			if err := folded.Apply(&log[len(log)-1], int64(len(log))); err != nil {
				t.Fatal(err)
			}
		}
		if !maps.Equal(folded.Digests(), next) {
			t.Fatalf("step %d: folded %v, want %v", step, folded.Digests(), next)
		}
		if again := Diff(folded, next); len(again) != 0 {
			t.Fatalf("step %d: a second diff emits %v", step, events(again))
		}
		current = next
		if step+1 == checkpointAt {
			checkpoint = CheckpointParts(folded, partSize)
			checkpointAt = -len(log) // through
		}
	}
	state := State{}
	from := 0
	if checkpoint != nil {
		for _, p := range checkpoint {
			if len(p) > partSize {
				t.Fatalf("a part of %d entries, limit %d", len(p), partSize)
			}
			if err := LoadCheckpoint(state, p); err != nil {
				t.Fatal(err)
			}
		}
		from = -checkpointAt
	}
	for i := from; i < len(log); i++ {
		if err := state.Apply(&log[i], int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if !maps.Equal(state.Digests(), current) {
		t.Fatalf("replayed %v, want %v", state.Digests(), current)
	}
	// No key gets the same digest twice in a row.
	last := map[string]string{}
	for _, ev := range log {
		if d, ok := last[ev.Key]; ok && d == ev.Digest {
			t.Fatalf("%s emitted twice with digest %q", ev.Key, d)
		}
		last[ev.Key] = ev.Digest
	}
}

func TestIDsSortBySequence(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	prev := ""
	for seq := int64(1); seq < 600; seq++ {
		id := ID(seq, t0.Add(time.Duration(seq/100)*time.Millisecond))
		if id <= prev {
			t.Fatalf("id %s of %d does not sort after %s", id, seq, prev)
		}
		prev = id
	}
}

// Digests are stored: changing how they are computed makes every described
// object look changed to the next leader (one updated event per object).
func TestDigestsAreStable(t *testing.T) {
	got := []string{
		FormatDigest(MembershipDigest("om", "u", "org", "active", "admin", []string{"admin"}, false)),
		FormatDigest(RoleDigest("", "admin", "Admin", "", []string{"a", "b"})),
		FormatDigest(OrganizationDigest("org", "Org", "")),
		FormatDigest(PermissionDigest("p", "p:x", "P", "")),
	}
	want := []string{"9a1e83b61729cc83", "18daf7d7ee3fd813", "5eea260e61de8e35", "94aaff3c28bc4de2"}
	if !slices.Equal(got, want) {
		t.Errorf("digests %v, want %v", got, want)
	}
}
