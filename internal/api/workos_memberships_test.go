package api

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/model"
)

func TestParseListQuery(t *testing.T) {
	for name, tc := range map[string]struct {
		query   map[string][]string // the query parameters
		want    listQuery           // the parsed query, when valid
		invalid []string            // the fields reported, when invalid
	}{
		"defaults":  {query: nil, want: listQuery{paging: paging{limit: 10, desc: true}}},
		"all":       {query: map[string][]string{"user_id": {"u"}, "organization_id": {"o"}, "limit": {"100"}, "order": {"asc"}, "after": {"m"}, "statuses": {"active,pending"}}, want: listQuery{paging: paging{limit: 100, after: "m"}, userID: "u", organizationID: "o", statuses: []orgrbacv1alpha1.MembershipState{"Active", "Pending"}}},
		"array":     {query: map[string][]string{"statuses[]": {"inactive"}}, want: listQuery{paging: paging{limit: 10, desc: true}, statuses: []orgrbacv1alpha1.MembershipState{"Inactive"}}},
		"bad limit": {query: map[string][]string{"limit": {"101"}}, invalid: []string{"limit"}},
		"zero":      {query: map[string][]string{"limit": {"0"}}, invalid: []string{"limit"}},
		"bad order": {query: map[string][]string{"order": {"up"}, "statuses": {"gone"}}, invalid: []string{"order", "statuses"}},
		"both":      {query: map[string][]string{"before": {"a"}, "after": {"b"}}, invalid: []string{"before"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseListQuery(func(k string) []string { return tc.query[k] })
			if tc.invalid != nil {
				var e *errInvalid
				if !errors.As(err, &e) {
					t.Fatalf("error %v, want invalid fields %v", err, tc.invalid)
				}
				var fields []string
				for _, f := range e.fields {
					fields = append(fields, f.Field)
				}
				if !slices.Equal(fields, tc.invalid) {
					t.Errorf("invalid fields %v, want %v", fields, tc.invalid)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseListQuery = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	in := &storetest.Objects{Objects: model.Objects{Organizations: []orgrbacv1alpha1.Organization{{ObjectMeta: storetest.ObjMeta("acme", 0)}, {ObjectMeta: storetest.ObjMeta("globex", 0)}}}}
	for i := range 7 {
		in.Memberships = append(in.Memberships, storetest.Member(fmt.Sprintf("m%d", i), "acme", fmt.Sprintf("u%d", i), i, "", true, nil))
	}
	in.Memberships = append(in.Memberships, storetest.Member("g0", "globex", "u0", 3, "", true, nil))
	c := contentOf(in)
	page := func(q listQuery) (ids []string, before, after string) {
		t.Helper()
		l, err := listMembershipsOf(c, q)
		if err != nil {
			t.Fatalf("listMemberships(%+v): %v", q, err)
		}
		for _, m := range l.Data {
			ids = append(ids, m.ID)
		}
		if l.ListMetadata.Before != nil {
			before = *l.ListMetadata.Before
		}
		if l.ListMetadata.After != nil {
			after = *l.ListMetadata.After
		}
		return ids, before, after
	}
	for name, tc := range map[string]struct {
		q             listQuery // the request
		ids           []string  // the page
		before, after string    // the cursors returned
	}{
		"desc first":       {listQuery{paging: paging{limit: 3, desc: true}, organizationID: "acme"}, []string{"m6", "m5", "m4"}, "", "m4"},
		"desc next":        {listQuery{paging: paging{limit: 3, desc: true, after: "m4"}, organizationID: "acme"}, []string{"m3", "m2", "m1"}, "m3", "m1"},
		"desc last":        {listQuery{paging: paging{limit: 3, desc: true, after: "m1"}, organizationID: "acme"}, []string{"m0"}, "m0", ""},
		"desc previous":    {listQuery{paging: paging{limit: 3, desc: true, before: "m3"}, organizationID: "acme"}, []string{"m6", "m5", "m4"}, "", "m4"},
		"asc first":        {listQuery{paging: paging{limit: 4}, organizationID: "acme"}, []string{"m0", "m1", "m2", "m3"}, "", "m3"},
		"asc before":       {listQuery{paging: paging{limit: 2, before: "m3"}, organizationID: "acme"}, []string{"m1", "m2"}, "m1", "m2"},
		"past the end":     {listQuery{paging: paging{limit: 2, after: "m6"}, organizationID: "acme"}, nil, "", ""},
		"by user":          {listQuery{paging: paging{limit: 10}, userID: "u0"}, []string{"m0", "g0"}, "", ""},
		"cursor elsewhere": {listQuery{paging: paging{limit: 2, after: "g0"}, organizationID: "acme"}, []string{"m3", "m4"}, "m3", "m4"},
		"unknown org":      {listQuery{paging: paging{limit: 2}, organizationID: "initech"}, nil, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			ids, before, after := page(tc.q)
			if !slices.Equal(ids, tc.ids) || before != tc.before || after != tc.after {
				t.Errorf("page %v before=%q after=%q, want %v before=%q after=%q", ids, before, after, tc.ids, tc.before, tc.after)
			}
		})
	}
	if _, err := listMembershipsOf(c, listQuery{paging: paging{limit: 2, after: "nope"}}); !errors.Is(err, errUnknownCursor{"organization membership"}) {
		t.Errorf("an unknown cursor gave %v, want errUnknownCursor", err)
	}
}
