package publish

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sample is a small environment: two environment roles, one organization role,
// two organizations, three members.
func sample() *Snapshot {
	return &Snapshot{
		Revision: 7,
		Roles: []Role{
			{Slug: "member", Type: RoleTypeEnvironment, Permissions: []string{"videos:view", "users:invite"}},
			{Slug: "org-producer", Type: RoleTypeOrganization, Organization: "acme", Permissions: []string{"videos:create"}},
			{Slug: "admin", Type: RoleTypeEnvironment, Permissions: []string{"videos:view", "settings:manage", "videos:view"}},
		},
		Organizations: []Organization{
			{Name: "globex", Members: []Member{{User: "user_frank", Membership: "globex-frank", Roles: []string{"member"}}}},
			{Name: "acme", ExternalID: "org_01ACME", Members: []Member{
				{User: "user_bob", Membership: "acme-bob", Roles: []string{"org-producer", "member"}},
				{User: "user_alice", Membership: "acme-alice", Roles: []string{"admin"}},
			}},
		},
	}
}

// filesOf flattens encoded ConfigMaps into a mounted directory's files.
func filesOf(t testing.TB, cms []ConfigMapData) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, cm := range cms {
		for k, v := range cm.Data {
			if _, dup := files[k]; dup {
				t.Fatalf("data key %s appears in two ConfigMaps", k)
			}
			files[k] = []byte(v)
		}
	}
	return files
}

func mustEncode(t testing.TB, s *Snapshot, limit int) []ConfigMapData {
	t.Helper()
	cms, err := Encode(s, limit)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return cms
}

func TestEncodeSingle(t *testing.T) {
	cms := mustEncode(t, sample(), 0)
	want := `{"format":"orgrbac.dev/snapshot/v1","revision":7,"hash":"HASH",` +
		`"roles":[{"slug":"admin","type":"EnvironmentRole","permissions":["settings:manage","videos:view"]},` +
		`{"slug":"member","type":"EnvironmentRole","permissions":["users:invite","videos:view"]},` +
		`{"slug":"org-producer","type":"OrganizationRole","organization":"acme","permissions":["videos:create"]}],` +
		`"organizations":[{"name":"acme","externalID":"org_01ACME","members":[` +
		`{"user":"user_alice","membership":"acme-alice","roles":["admin"]},` +
		`{"user":"user_bob","membership":"acme-bob","roles":["org-producer","member"]}]},` +
		`{"name":"globex","members":[{"user":"user_frank","membership":"globex-frank","roles":["member"]}]}]}`
	hash, err := ContentHash(sample())
	if err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(want, "HASH", hash, 1)
	if len(cms) != 1 || cms[0].Name != ConfigMapName || len(cms[0].Data) != 1 {
		t.Fatalf("got %d ConfigMaps %+v, want one %s", len(cms), cms, ConfigMapName)
	}
	if got := cms[0].Data[KeySnapshot]; got != want {
		t.Errorf("snapshot.json:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeIsDeterministic(t *testing.T) {
	a := sample()
	b := sample()
	// The same content in another order.
	b.Roles[0], b.Roles[2] = b.Roles[2], b.Roles[0]
	b.Organizations[0], b.Organizations[1] = b.Organizations[1], b.Organizations[0]
	b.Organizations[0].Members[0], b.Organizations[0].Members[1] = b.Organizations[0].Members[1], b.Organizations[0].Members[0]
	for _, limit := range []int{0, 700, 420} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			x, y := mustEncode(t, a, limit), mustEncode(t, b, limit)
			if !reflect.DeepEqual(x, y) {
				t.Errorf("input order changed the output:\n%v\n%v", x, y)
			}
		})
	}
}

func TestContentHash(t *testing.T) {
	a := sample()
	h1, _ := ContentHash(a)
	a.Revision = 99
	h2, _ := ContentHash(a)
	if h1 != h2 {
		t.Errorf("the hash depends on the revision: %s != %s", h1, h2)
	}
	a.Roles[0].Permissions = append(a.Roles[0].Permissions, "videos:delete")
	h3, _ := ContentHash(a)
	if h3 == h1 {
		t.Errorf("a permission change left the hash at %s", h3)
	}
	if !strings.HasPrefix(h1, "sha256:") || len(h1) != len("sha256:")+64 {
		t.Errorf("hash %q is not sha256:<hex>", h1)
	}
}

func TestEncodeShards(t *testing.T) {
	for _, tc := range []struct {
		limit      int
		wantShards int
	}{
		{limit: 0, wantShards: 0},
		{limit: 800, wantShards: 0}, // 737 bytes fit
		{limit: 700, wantShards: 2},
		{limit: 500, wantShards: 3},
		{limit: 420, wantShards: 4},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			s := sample()
			cms := mustEncode(t, s, tc.limit)
			if got := len(cms) - 1; got != tc.wantShards {
				t.Errorf("got %d shards, want %d", got, tc.wantShards)
			}
			for i, cm := range cms {
				size := 0
				for k, v := range cm.Data {
					size += len(k) + len(v)
				}
				if tc.limit > 0 && size > tc.limit {
					t.Errorf("%s holds %d bytes, over %d", cm.Name, size, tc.limit)
				}
				wantName, wantKey := ConfigMapName, KeySnapshot
				if len(cms) > 1 {
					wantKey = KeyIndex
				}
				if i > 0 {
					wantName, wantKey = ShardConfigMapName(i), ShardKey(i)
				}
				if _, ok := cm.Data[wantKey]; cm.Name != wantName || !ok || len(cm.Data) != 1 {
					t.Errorf("ConfigMap %d is %s with keys %v, want %s with %s", i, cm.Name, keys(cm.Data), wantName, wantKey)
				}
			}
			got, err := Decode(filesOf(t, cms))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if want := Normalize(s); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestEncodeTooLarge(t *testing.T) {
	s := sample()
	s.Roles[0].Permissions = make([]string, 100)
	for i := range s.Roles[0].Permissions {
		s.Roles[0].Permissions[i] = fmt.Sprintf("permission:%03d", i)
	}
	if _, err := Encode(s, 1000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a role larger than the limit: got %v, want ErrTooLarge", err)
	}
	if _, err := Encode(s, 0); err != nil {
		t.Errorf("the default limit: %v", err)
	}
	// Enough shards for an index that passes the limit.
	if _, err := Encode(sample(), 400); !errors.Is(err, ErrTooLarge) {
		t.Errorf("an index larger than the limit: got %v, want ErrTooLarge", err)
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(s *Snapshot)
		want   string
	}{
		"valid":                {change: func(*Snapshot) {}},
		"negative revision":    {change: func(s *Snapshot) { s.Revision = -1 }, want: "negative revision"},
		"role without slug":    {change: func(s *Snapshot) { s.Roles[0].Slug = "" }, want: "no slug"},
		"unknown role type":    {change: func(s *Snapshot) { s.Roles[0].Type = "Custom" }, want: "unknown type"},
		"env role with org":    {change: func(s *Snapshot) { s.Roles[0].Organization = "acme" }, want: "names organization"},
		"org role without org": {change: func(s *Snapshot) { s.Roles[2].Organization = "" }, want: "names no organization"},
		"org role of unknown org": {change: func(s *Snapshot) {
			s.Roles[2].Organization = "zeta"
			s.Organizations[0].Members[1].Roles = []string{"member"}
		}, want: "unknown organization"},
		"duplicate role":       {change: func(s *Snapshot) { s.Roles[1] = s.Roles[0] }, want: "not sorted or not unique"},
		"unsorted permissions": {change: func(s *Snapshot) { s.Roles[0].Permissions = []string{"b", "a"} }, want: "permissions"},
		"empty permission":     {change: func(s *Snapshot) { s.Roles[0].Permissions = []string{""} }, want: "empty element"},
		"empty organization":   {change: func(s *Snapshot) { s.Organizations[1].Name = "" }, want: "no name"},
		"duplicate organization": {change: func(s *Snapshot) { s.Organizations[1].Name = "acme" },
			want: "organizations not sorted"},
		"member without user": {change: func(s *Snapshot) { s.Organizations[0].Members[0].User = "" }, want: "no user"},
		"duplicate member": {change: func(s *Snapshot) { s.Organizations[0].Members[1].User = "user_alice" },
			want: "members not sorted"},
		"unknown member role": {change: func(s *Snapshot) { s.Organizations[1].Members[0].Roles = []string{"org-producer"} },
			want: "names no visible role"},
		"role listed twice": {change: func(s *Snapshot) { s.Organizations[0].Members[0].Roles = []string{"admin", "admin"} },
			want: "listed twice"},
		// Security review M2: ids (names and externalIDs) are one key space.
		"externalID is another organization's name": {change: func(s *Snapshot) { s.Organizations[1].ExternalID = "acme" },
			want: `organization "globex": externalID "acme" is the name of another organization`},
		"two organizations with one externalID": {change: func(s *Snapshot) { s.Organizations[1].ExternalID = "org_01ACME" },
			want: `organizations "acme" and "globex" have the same externalID "org_01ACME"`},
		"externalID equal to its own name": {change: func(s *Snapshot) { s.Organizations[1].ExternalID = "globex" }},
	} {
		t.Run(name, func(t *testing.T) {
			s := Normalize(sample())
			tc.change(s)
			err := Validate(s)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid)):
				t.Errorf("Validate: got %v, want an ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	sharded := func(rev int64) map[string][]byte {
		s := sample()
		s.Revision = rev
		return filesOf(t, mustEncode(t, s, 500))
	}
	for name, tc := range map[string]struct {
		files func() map[string][]byte
		want  error
	}{
		"nothing": {files: func() map[string][]byte { return map[string][]byte{"other.txt": []byte("x")} }, want: ErrNoSnapshot},
		"missing shard": {files: func() map[string][]byte {
			f := sharded(7)
			delete(f, ShardKey(2))
			return f
		}, want: ErrTorn},
		"shard of another revision": {files: func() map[string][]byte {
			f := sharded(7)
			f[ShardKey(2)] = sharded(8)[ShardKey(2)]
			return f
		}, want: ErrTorn},
		"shard of other content at the same revision": {files: func() map[string][]byte {
			f := sharded(7)
			s := sample()
			s.Roles[0].Permissions = append(s.Roles[0].Permissions, "extra")
			f[ShardKey(1)] = filesOf(t, mustEncode(t, s, 500))[ShardKey(1)]
			return f
		}, want: ErrTorn},
		"shards swapped": {files: func() map[string][]byte {
			f := sharded(7)
			f[ShardKey(1)], f[ShardKey(2)] = f[ShardKey(2)], f[ShardKey(1)]
			return f
		}, want: ErrInvalid},
		"both documents": {files: func() map[string][]byte {
			f := sharded(7)
			f[KeySnapshot] = filesOf(t, mustEncode(t, sample(), 0))[KeySnapshot]
			return f
		}, want: ErrInvalid},
		"bad JSON": {files: func() map[string][]byte { return map[string][]byte{KeySnapshot: []byte("{")} }, want: ErrInvalid},
		"another format": {files: func() map[string][]byte {
			return map[string][]byte{KeySnapshot: []byte(`{"format":"orgrbac.dev/snapshot/v2","revision":1}`)}
		}, want: ErrInvalid},
		"hand-edited content": {files: func() map[string][]byte {
			f := filesOf(t, mustEncode(t, sample(), 0))
			f[KeySnapshot] = []byte(strings.Replace(string(f[KeySnapshot]), `"videos:create"`, `"videos:delete"`, 1))
			return f
		}, want: ErrTorn},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(tc.files()); !errors.Is(err, tc.want) {
				t.Errorf("Decode: got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeIgnoresOtherFiles(t *testing.T) {
	f := filesOf(t, mustEncode(t, sample(), 500))
	f["shard-0099.json"] = []byte("garbage from a surplus shard")
	f["..data"] = []byte("not ours")
	got, err := Decode(f)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got.Revision != 7 || len(got.Organizations) != 2 {
		t.Errorf("got %+v", got)
	}
}

func TestShardNames(t *testing.T) {
	if got := ShardConfigMapName(3); got != "orgrbac-permissions-3" {
		t.Errorf("ShardConfigMapName(3) = %s", got)
	}
	if got := ShardKey(12); got != "shard-0012.json" {
		t.Errorf("ShardKey(12) = %s", got)
	}
}
