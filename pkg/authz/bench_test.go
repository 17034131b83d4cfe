package authz

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// large is an environment of 1000 organizations, 100 members each (100k
// memberships), 200 roles (150 environment roles, 50 organization roles) drawing
// 20 permissions each from 500.
func large() *Snapshot {
	rng := rand.New(rand.NewPCG(1, 2))
	s := &Snapshot{Revision: 1}
	perm := func() string { return fmt.Sprintf("resource%03d:action%d", rng.IntN(100), rng.IntN(5)) }
	for i := range 1000 {
		s.Organizations = append(s.Organizations, Organization{Name: fmt.Sprintf("org-%04d", i), ExternalID: fmt.Sprintf("org_01H%020d", i)})
	}
	for i := range 200 {
		r := Role{Slug: fmt.Sprintf("role-%03d", i), Type: publish.RoleTypeEnvironment}
		if i >= 150 {
			r.Slug, r.Type, r.Organization = fmt.Sprintf("org-role-%03d", i), publish.RoleTypeOrganization, fmt.Sprintf("org-%04d", (i-150)*20)
		}
		for range 20 {
			r.Permissions = append(r.Permissions, perm())
		}
		s.Roles = append(s.Roles, r)
	}
	for o := range s.Organizations {
		org := &s.Organizations[o]
		for u := range 100 {
			m := Member{User: fmt.Sprintf("user_%06d", o*100+u), Membership: fmt.Sprintf("%s-%d", org.Name, u),
				Roles: []string{fmt.Sprintf("role-%03d", rng.IntN(150))}}
			if o%20 == 0 && u%2 == 0 {
				m.Roles = append([]string{fmt.Sprintf("org-role-%03d", 150+o/20)}, m.Roles...)
			}
			org.Members = append(org.Members, m)
		}
	}
	return publish.Normalize(s)
}

type query struct{ org, user, permission string }

// queries mixes hits and misses: a member's own permission, a random one, and
// unknown organizations and users.
func queries(s *Snapshot, n int) []query {
	rng := rand.New(rand.NewPCG(3, 4))
	perms := map[[2]string][]string{}
	for _, r := range s.Roles {
		perms[[2]string{r.Organization, r.Slug}] = r.Permissions
	}
	out := make([]query, n)
	for i := range out {
		o := s.Organizations[rng.IntN(len(s.Organizations))]
		m := o.Members[rng.IntN(len(o.Members))]
		q := query{org: o.Name, user: m.User, permission: fmt.Sprintf("resource%03d:action%d", rng.IntN(100), rng.IntN(5))}
		switch i % 4 {
		case 0:
			q.org = o.ExternalID
		case 1:
			q.user = "user_unknown"
		case 2: // a permission of the member's last role (an environment role)
			held := perms[[2]string{"", m.Roles[len(m.Roles)-1]}]
			q.permission = held[rng.IntN(len(held))]
		}
		out[i] = q
	}
	return out
}

func BenchmarkAllowed(b *testing.B) {
	s := large()
	src := &FileSource{}
	src.current.Store(compile(s))
	qs := queries(s, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	i, hits := 0, 0
	for b.Loop() {
		q := qs[i%len(qs)]
		if src.Allowed(q.org, q.user, q.permission) {
			hits++
		}
		i++
	}
	b.ReportMetric(float64(hits)/float64(i), "hit-ratio")
}

func BenchmarkReload(b *testing.B) {
	s := large()
	files := encode(b, s, publish.DefaultMaxBytes)
	size := 0
	for _, f := range files {
		size += len(f)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		snap, err := Decode(files)
		if err != nil {
			b.Fatal(err)
		}
		compile(snap)
	}
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(len(files)-1), "shards")
}

func TestLargeAllowedDoesNotAllocate(t *testing.T) {
	s := large()
	src := &FileSource{}
	src.current.Store(compile(s))
	qs := queries(s, 64)
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		q := qs[i%len(qs)]
		src.Allowed(q.org, q.user, q.permission)
		i++
	}); n != 0 {
		t.Errorf("Allowed allocates %.1f times per call", n)
	}
}
