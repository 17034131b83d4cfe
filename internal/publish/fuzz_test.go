package publish

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// fuzzSnapshot builds a valid snapshot from the fuzzer's bytes.
func fuzzSnapshot(data []byte) *Snapshot {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	s := &Snapshot{Revision: int64(next()) << (next() % 40)}
	perms := []string{"a", "videos:view", "videos:create", "settings:manage", "x.y-z_*", "users:invite"}
	nOrgs := next() % 6
	externalIDs := map[string]bool{}
	for o := range nOrgs {
		org := Organization{Name: fmt.Sprintf("org%d", o)}
		// Organizations never share an id (Validate).
		if id := fmt.Sprintf("org_%02d", next()); next()%2 == 0 && !externalIDs[id] {
			org.ExternalID, externalIDs[id] = id, true
		}
		s.Organizations = append(s.Organizations, org)
	}
	nRoles := next() % 8
	for r := range nRoles {
		role := Role{Slug: fmt.Sprintf("role-%d", r), Type: RoleTypeEnvironment}
		if nOrgs > 0 && next()%3 == 0 {
			role.Type, role.Organization, role.Slug = RoleTypeOrganization, fmt.Sprintf("org%d", next()%nOrgs), fmt.Sprintf("org-%d", r)
		}
		for range next() % 5 {
			role.Permissions = append(role.Permissions, perms[next()%len(perms)])
		}
		s.Roles = append(s.Roles, role)
	}
	for o := range s.Organizations {
		org := &s.Organizations[o]
		var visible []string
		for _, r := range s.Roles {
			if r.Organization == "" || r.Organization == org.Name {
				visible = append(visible, r.Slug)
			}
		}
		for u := range next() % 12 {
			m := Member{User: fmt.Sprintf("user_%d", u), Membership: fmt.Sprintf("%s-%d", org.Name, u)}
			if len(visible) > 0 {
				start := next() % len(visible)
				for k := range 1 + next()%3 {
					if slug := visible[(start+k)%len(visible)]; k < len(visible) {
						m.Roles = append(m.Roles, slug)
					}
				}
			}
			org.Members = append(org.Members, m)
		}
	}
	return s
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, uint16(0))
	f.Add([]byte{200, 1, 5, 0, 7, 1, 1, 2, 3, 4, 11, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, uint16(300))
	f.Add([]byte{3, 9, 5, 1, 2, 7, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 11, 11, 11, 11, 11, 11}, uint16(420))
	f.Add([]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255}, uint16(1000))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		s := fuzzSnapshot(data)
		want := Normalize(s)
		if err := Validate(want); err != nil {
			t.Fatalf("the generator built an invalid snapshot: %v", err)
		}
		max := int(limit)
		cms, err := Encode(s, max)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Encode at %d bytes: %v", max, err)
			}
			return
		}
		for _, cm := range cms {
			size := 0
			for k, v := range cm.Data {
				size += len(k) + len(v)
			}
			if max > 0 && size > max {
				t.Fatalf("%s holds %d bytes, over %d", cm.Name, size, max)
			}
		}
		got, err := Decode(filesOf(t, cms))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip at %d bytes:\n got %+v\nwant %+v", max, got, want)
		}

		// The input order does not matter.
		rng := rand.New(rand.NewPCG(uint64(len(data)), uint64(limit)))
		shuffled := Normalize(s)
		rng.Shuffle(len(shuffled.Roles), func(i, j int) { shuffled.Roles[i], shuffled.Roles[j] = shuffled.Roles[j], shuffled.Roles[i] })
		rng.Shuffle(len(shuffled.Organizations), func(i, j int) {
			shuffled.Organizations[i], shuffled.Organizations[j] = shuffled.Organizations[j], shuffled.Organizations[i]
		})
		for _, o := range shuffled.Organizations {
			rng.Shuffle(len(o.Members), func(i, j int) { o.Members[i], o.Members[j] = o.Members[j], o.Members[i] })
		}
		again, err := Encode(shuffled, max)
		if err != nil {
			t.Fatalf("Encode of the shuffled input: %v", err)
		}
		if !reflect.DeepEqual(cms, again) {
			t.Fatalf("input order changed the output")
		}

		// A shard from another revision is detected.
		if len(cms) > 2 {
			other := Normalize(s)
			other.Revision++
			later, err := Encode(other, max)
			if err != nil {
				t.Fatalf("Encode at the next revision: %v", err)
			}
			files := filesOf(t, cms)
			for k, v := range later[len(later)-1].Data {
				files[k] = []byte(v)
			}
			if _, err := Decode(files); !errors.Is(err, ErrTorn) {
				t.Fatalf("a torn read decoded: %v", err)
			}
		}
	})
}
