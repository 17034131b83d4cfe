package publish

import (
	"fmt"
	"testing"
)

// large is 1000 organizations of 100 members each with one of 200 roles of 20
// permissions: 100k memberships.
func large() *Snapshot {
	s := &Snapshot{Revision: 1}
	for r := range 200 {
		role := Role{Slug: fmt.Sprintf("role-%03d", r), Type: RoleTypeEnvironment}
		for p := range 20 {
			role.Permissions = append(role.Permissions, fmt.Sprintf("resource%03d:action%d", (r*7+p)%100, p%5))
		}
		s.Roles = append(s.Roles, role)
	}
	for o := range 1000 {
		org := Organization{Name: fmt.Sprintf("org-%04d", o), ExternalID: fmt.Sprintf("org_01H%020d", o)}
		for u := range 100 {
			org.Members = append(org.Members, Member{User: fmt.Sprintf("user_%06d", o*100+u),
				Membership: fmt.Sprintf("%s-%d", org.Name, u), Roles: []string{fmt.Sprintf("role-%03d", (o+u)%200)}})
		}
		s.Organizations = append(s.Organizations, org)
	}
	return s
}

func BenchmarkEncode(b *testing.B) {
	s := large()
	var size, shards int
	b.ReportAllocs()
	for b.Loop() {
		cms, err := Encode(s, DefaultMaxBytes)
		if err != nil {
			b.Fatal(err)
		}
		size, shards = 0, len(cms)-1
		for _, cm := range cms {
			for k, v := range cm.Data {
				size += len(k) + len(v)
			}
		}
	}
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(shards), "shards")
}
