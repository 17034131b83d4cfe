package controller

// The property "every status the controllers build fits the CRD" (security
// review M3), checked against the real schemas of config/crd/bases with the API
// server's own validators, with no control plane: these tests and the fuzz
// target run alone with
//
//	go test ./internal/controller -run 'TestStatus|FuzzStatus' -count=1
//
// and need no KUBEBUILDER_ASSETS (TestControllers, which starts envtest, is
// behind the build tag envtest).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// crdSchema is one CRD's schema as the API server uses it.
type crdSchema struct {
	props      *apiextensionsv1.JSONSchemaProps
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
}

var crdSchemas = sync.OnceValues(func() (map[string]*crdSchema, error) {
	out := map[string]*crdSchema{}
	for _, plural := range []string{"environments", "roles", "permissions", "organizations", "organizationroles", "memberships", "groupmappings"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "orgrbac.dev_"+plural+".yaml"))
		if err != nil {
			return nil, err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(data, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", plural, err)
		}
		if len(crd.Spec.Versions) != 1 {
			return nil, fmt.Errorf("%s: %d versions, the test reads one", plural, len(crd.Spec.Versions))
		}
		props := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, &internal, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", plural, err)
		}
		s, err := structuralschema.NewStructural(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", plural, err)
		}
		if errs := structuralschema.ValidateStructural(nil, s); len(errs) > 0 {
			return nil, fmt.Errorf("%s: not a structural schema: %v", plural, errs)
		}
		v, _, err := validation.NewSchemaValidator(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", plural, err)
		}
		out[plural] = &crdSchema{props: props, structural: s, validator: v}
	}
	return out, nil
})

func schemaOf(tb testing.TB, plural string) *crdSchema {
	tb.Helper()
	all, err := crdSchemas()
	if err != nil {
		tb.Fatal(err)
	}
	return all[plural]
}

// schemaErrors validates obj as the API server validates a custom resource
// (OpenAPI schema, then list types), and returns the errors of its spec and
// metadata apart from those of its status.
func schemaErrors(tb testing.TB, plural string, obj runtime.Object) (input, status field.ErrorList) {
	tb.Helper()
	s := schemaOf(tb, plural)
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		tb.Fatal(err)
	}
	errs := validation.ValidateCustomResource(nil, u, s.validator)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, s.structural, u)...)
	for _, e := range errs {
		if e.Field == "status" || strings.HasPrefix(e.Field, "status.") || strings.HasPrefix(e.Field, "status[") {
			status = append(status, e)
		} else {
			input = append(input, e)
		}
	}
	return input, status
}

// schemaAt returns the schema at a dotted path of plural's openAPIV3Schema.
func schemaAt(tb testing.TB, plural, path string) apiextensionsv1.JSONSchemaProps {
	tb.Helper()
	p := *schemaOf(tb, plural).props
	for _, name := range strings.Split(path, ".") {
		next, ok := p.Properties[name]
		if !ok {
			tb.Fatalf("%s: no %s in the schema", plural, path)
		}
		p = next
	}
	return p
}

// TestStatusLimitsMatchTheCRDs: the limits the status builders enforce are the
// schema's, and the schema's status has no CEL rule this test would not run.
func TestStatusLimitsMatchTheCRDs(t *testing.T) {
	maxItems := func(plural, path string) int64 {
		p := schemaAt(t, plural, path)
		if p.MaxItems == nil {
			t.Fatalf("%s %s: no maxItems", plural, path)
		}
		return *p.MaxItems
	}
	for _, c := range []struct {
		plural, path string
		want         int64
	}{
		{"memberships", "status.roles", orgrbacv1alpha1.MaxMembershipRoles},
		{"memberships", "status.assignments", orgrbacv1alpha1.MaxMembershipRoles},
		{"memberships", "status.permissions", orgrbacv1alpha1.MaxMembershipPermissions},
	} {
		if got := maxItems(c.plural, c.path); got != c.want {
			t.Errorf("%s %s: maxItems %d in the CRD, %d in api/v1alpha1", c.plural, c.path, got, c.want)
		}
	}
	all, err := crdSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for plural := range all {
		if got := maxItems(plural, "status.conditions"); got != orgrbacv1alpha1.MaxConditions {
			t.Errorf("%s status.conditions: maxItems %d in the CRD, MaxConditions %d", plural, got, orgrbacv1alpha1.MaxConditions)
		}
		msg := schemaAt(t, plural, "status.conditions").Items.Schema.Properties["message"]
		if msg.MaxLength == nil || *msg.MaxLength < orgrbacv1alpha1.MaxConditionMessage {
			t.Errorf("%s: condition messages allow %v characters, fewer than MaxConditionMessage", plural, msg.MaxLength)
		}
		if hasCEL(schemaAt(t, plural, "status")) {
			t.Errorf("%s: the status has CEL rules; validate them here too", plural)
		}
	}
}

// hasCEL is true when p or a schema under it has x-kubernetes-validations.
func hasCEL(p apiextensionsv1.JSONSchemaProps) bool {
	if len(p.XValidations) > 0 {
		return true
	}
	for _, c := range p.Properties {
		if hasCEL(c) {
			return true
		}
	}
	if p.Items != nil && p.Items.Schema != nil && hasCEL(*p.Items.Schema) {
		return true
	}
	return p.AdditionalProperties != nil && p.AdditionalProperties.Schema != nil && hasCEL(*p.AdditionalProperties.Schema)
}

// statusCase is one generated input of every kind's status builder.
type statusCase struct {
	roles, perms, dangling uint16 // mapped roles, permissions over them, mappings to deleted roles
	manual                 uint8  // spec.roles, half of them naming no role
	forged                 uint8  // foreign conditions already in the status
	width                  uint8  // the length of a Role's permissions and of priority slugs
	multiple               bool   // multipleRoles
	text                   string // in group ids
}

var statusT0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

// statusSeeds are the review's proofs (A, B, C, the Role and the Organization)
// and the limits themselves.
var statusSeeds = map[string]statusCase{
	"A: 70 mapped roles":                {roles: 70, perms: 70, multiple: true},
	"B: 9x1024 permissions":             {roles: 9, perms: 9 * 1024, multiple: true},
	"C: 150 dangling mappings":          {dangling: 150, text: strings.Repeat("x", 200)},
	"Role: 1024 permissions of 128":     {width: 128, perms: 1024},
	"Organization: 512 slugs of 64":     {dangling: 512, width: 64},
	"64 roles, the most a status holds": {roles: 64, perms: 64, multiple: true},
	"8192 permissions, the most":        {roles: 8, perms: 8192, multiple: true},
	"8193 permissions":                  {roles: 9, perms: 8193, multiple: true},
	"single role, 100 mapped":           {roles: 100, perms: 100},
	"many manual roles, single role":    {roles: 3, perms: 3, manual: 64},
	"forged conditions, unicode groups": {roles: 70, perms: 8, forged: 16, dangling: 200, multiple: true, text: strings.Repeat("é€𝄞", 80)},
	"invalid UTF-8 in group ids":        {dangling: 300, text: strings.Repeat("\xff", 240)},
	"nothing":                           {},
}

func TestStatusFitsSchema(t *testing.T) {
	for name, c := range statusSeeds {
		t.Run(name, func(t *testing.T) { checkStatusesFit(t, c) })
	}
}

func FuzzStatusFitsSchema(f *testing.F) {
	for _, c := range statusSeeds {
		f.Add(c.roles, c.perms, c.dangling, c.manual, c.forged, c.width, c.multiple, c.text)
	}
	f.Fuzz(func(t *testing.T, roles, perms, dangling uint16, manual, forged, width uint8, multiple bool, text string) {
		checkStatusesFit(t, statusCase{roles: roles % 140, perms: perms % 10000, dangling: dangling % 600,
			manual: manual % 70, forged: forged, width: width, multiple: multiple, text: text})
	})
}

// checkStatusesFit builds, from c, the status of each kind the way its
// controller does, and checks that whenever the inputs pass their CRDs, the
// status passes too.
func checkStatusesFit(t *testing.T, c statusCase) {
	t.Helper()
	checkMembershipFits(t, c)
	checkRoleFits(t, c)
	checkOrganizationAndEnvironmentFit(t, c)
}

// foreignConditions are n conditions another writer left in a status (at most
// MaxConditions: the API server refuses more).
func foreignConditions(n uint8) []metav1.Condition {
	out := make([]metav1.Condition, 0, int(n)%(orgrbacv1alpha1.MaxConditions+1))
	for i := range cap(out) {
		out = append(out, metav1.Condition{Type: fmt.Sprintf("Forged%d", i), Status: metav1.ConditionTrue,
			Reason: "Forged", Message: strings.Repeat("f", 100), LastTransitionTime: statusT0})
	}
	return out
}

// groupID is the i-th directory group: a number then text, at most 256 characters.
func groupID(i int, text string) string {
	g := fmt.Sprintf("%03d-%s", i, text)
	if utf8.RuneCountInString(g) > 256 {
		g = string([]rune(g)[:256])
	}
	return g
}

func checkMembershipFits(t *testing.T, c statusCase) {
	t.Helper()
	org := resolve.Organization{Meta: resolve.Meta{Name: "acme", Created: statusT0.Time}}
	in := resolve.Input{
		Environments:  []resolve.Environment{{Meta: resolve.Meta{Name: "env"}, MultipleRoles: c.multiple}},
		Organizations: []resolve.Organization{org},
		Roles:         []resolve.Role{{Meta: resolve.Meta{Name: "member"}, Slug: "member", Permissions: []string{"videos:view"}}},
	}
	// Enough roles that none has more than the 1,024 permissions a Role holds.
	nRoles := max(int(c.roles), (int(c.perms)+1023)/1024)
	for i := range nRoles {
		slug := fmt.Sprintf("r%03d", i)
		r := resolve.Role{Meta: resolve.Meta{Name: slug}, Slug: slug}
		for j := i; j < int(c.perms); j += nRoles {
			r.Permissions = append(r.Permissions, fmt.Sprintf("svc:perm%05d", j))
		}
		in.Roles = append(in.Roles, r)
	}
	m := resolve.Membership{Meta: resolve.Meta{Name: "acme-u", Created: statusT0.Time}, Organization: "acme", User: "u"}
	for i := range nRoles + int(c.dangling) {
		g, role := groupID(i, c.text), fmt.Sprintf("r%03d", i)
		if i >= nRoles {
			role = fmt.Sprintf("deleted-role-%d", i)
		}
		in.GroupMappings = append(in.GroupMappings, resolve.GroupMapping{Meta: resolve.Meta{Name: fmt.Sprintf("gm%d", i)},
			Organization: "acme", Source: resolve.SourceDirectory, Group: g, Role: role})
		m.DirectoryGroups = append(m.DirectoryGroups, g)
	}
	for i := range int(c.manual) {
		if i%2 == 0 {
			m.Roles = append(m.Roles, fmt.Sprintf("r%03d", i))
		} else {
			m.Roles = append(m.Roles, fmt.Sprintf("missing-%d", i))
		}
	}
	res := resolve.Compile(in).Resolve(m)

	obj := &orgrbacv1alpha1.Membership{
		TypeMeta:   metav1.TypeMeta{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Membership"},
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: "videos", Generation: 2},
		Spec: orgrbacv1alpha1.MembershipSpec{Organization: m.Organization, User: m.User, Roles: m.Roles,
			DirectoryGroups: m.DirectoryGroups, State: orgrbacv1alpha1.MembershipActive},
		// What a previous resolution granted, and what others wrote.
		Status: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Role: "admin", Roles: []string{"admin"},
			Permissions: []string{"settings:manage"}, Conditions: foreignConditions(c.forged)},
	}
	if inErrs, _ := schemaErrors(t, "memberships", obj); len(inErrs) > 0 {
		return // the API server refuses this spec: no status to build
	}
	obj.Status = membershipStatus(&obj.Status, obj.Generation, res, statusT0)
	if _, errs := schemaErrors(t, "memberships", obj); len(errs) > 0 {
		t.Fatalf("%d roles, %d permissions, %d dropped: the status does not fit the CRD: %v",
			len(res.Roles), len(res.Permissions), len(res.Dropped), errs)
	}
	checkMessages(t, obj.Status.Conditions, c.text)

	// Oversize resolutions fail closed; the others are written as resolved.
	ready := meta.FindStatusCondition(obj.Status.Conditions, orgrbacv1alpha1.ConditionReady)
	st := obj.Status
	switch {
	case len(res.Roles) > orgrbacv1alpha1.MaxMembershipRoles || len(res.Permissions) > orgrbacv1alpha1.MaxMembershipPermissions:
		want := orgrbacv1alpha1.ReasonTooManyPermissions
		if len(res.Roles) > orgrbacv1alpha1.MaxMembershipRoles {
			want = orgrbacv1alpha1.ReasonTooManyRoles
		}
		if ready.Status != metav1.ConditionFalse || ready.Reason != want || st.Role != "" || st.Source != "" ||
			st.Roles != nil || st.Assignments != nil || st.Permissions != nil {
			t.Fatalf("%d roles, %d permissions: not failed closed: Ready %s %s, role %q, %d roles, %d assignments, %d permissions",
				len(res.Roles), len(res.Permissions), ready.Status, ready.Reason, st.Role, len(st.Roles), len(st.Assignments), len(st.Permissions))
		}
		if !strings.Contains(ready.Message, fmt.Sprint(orgrbacv1alpha1.MaxMembershipRoles)) &&
			!strings.Contains(ready.Message, fmt.Sprint(orgrbacv1alpha1.MaxMembershipPermissions)) {
			t.Errorf("the message does not name the limit: %q", ready.Message)
		}
	case res.Ready:
		if ready.Status != metav1.ConditionTrue || len(st.Roles) != len(res.Roles) || len(st.Permissions) != len(res.Permissions) {
			t.Fatalf("a resolution that fits was not written as it is: Ready %s, %d/%d roles, %d/%d permissions",
				ready.Status, len(st.Roles), len(res.Roles), len(st.Permissions), len(res.Permissions))
		}
	}
}

func checkRoleFits(t *testing.T, c statusCase) {
	t.Helper()
	width := max(1, min(int(c.width), 128))
	perms := make([]string, int(c.perms)%1100)
	for i := range perms {
		p := fmt.Sprintf("%04d", i)
		perms[i] = p + strings.Repeat("p", max(0, width-len(p)))
	}
	role := &orgrbacv1alpha1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Role"},
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "videos", Generation: 1},
		Spec:       orgrbacv1alpha1.RoleSpec{Permissions: perms},
		Status:     orgrbacv1alpha1.RoleStatus{Conditions: foreignConditions(c.forged)}}
	orgRole := &orgrbacv1alpha1.OrganizationRole{TypeMeta: metav1.TypeMeta{APIVersion: "orgrbac.dev/v1alpha1", Kind: "OrganizationRole"},
		ObjectMeta: metav1.ObjectMeta{Name: "acme-big", Namespace: "videos", Generation: 1},
		Spec:       orgrbacv1alpha1.OrganizationRoleSpec{Organization: strings.Repeat("o", 253), Slug: "org-big", Permissions: perms},
		Status:     orgrbacv1alpha1.OrganizationRoleStatus{Conditions: foreignConditions(c.forged)}}
	if inErrs, _ := schemaErrors(t, "roles", role); len(inErrs) > 0 {
		return
	}
	dupOf := ""
	if c.multiple {
		dupOf = strings.Repeat("d", 253)
	}
	role.Status.Conditions = roleConditions(role.Status.Conditions, 1, "Role", dupOf, "", perms, statusT0)
	if _, errs := schemaErrors(t, "roles", role); len(errs) > 0 {
		t.Fatalf("Role with %d undeclared permissions of %d characters: the status does not fit the CRD: %v", len(perms), width, errs)
	}
	checkMessages(t, role.Status.Conditions, "")

	if inErrs, _ := schemaErrors(t, "organizationroles", orgRole); len(inErrs) > 0 {
		t.Fatalf("an OrganizationRole refused where the Role passes: %v", inErrs)
	}
	orgRole.Status.Conditions = roleConditions(orgRole.Status.Conditions, 1, "OrganizationRole", dupOf, orgRole.Spec.Organization, perms, statusT0)
	if _, errs := schemaErrors(t, "organizationroles", orgRole); len(errs) > 0 {
		t.Fatalf("OrganizationRole with %d undeclared permissions: the status does not fit the CRD: %v", len(perms), errs)
	}
	checkMessages(t, orgRole.Status.Conditions, "")
}

// checkOrganizationAndEnvironmentFit builds the conditions the Organization and
// Environment controllers build for priority lists naming no role (the
// Organization's Reconcile composes them inline, as here).
func checkOrganizationAndEnvironmentFit(t *testing.T, c statusCase) {
	t.Helper()
	width := max(1, min(int(c.width), 64))
	prio := make([]string, int(c.dangling))
	for i := range prio {
		p := fmt.Sprintf("%03d", i)
		prio[i] = p + strings.Repeat("r", max(0, width-len(p)))
	}
	def := strings.Repeat("z", width)

	org := &orgrbacv1alpha1.Organization{TypeMeta: metav1.TypeMeta{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Organization"},
		ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "videos", Generation: 1},
		Spec:       orgrbacv1alpha1.OrganizationSpec{DefaultRole: def, RolePriority: prio},
		Status:     orgrbacv1alpha1.OrganizationStatus{Conditions: foreignConditions(c.forged)}}
	if inErrs, _ := schemaErrors(t, "organizations", org); len(inErrs) == 0 {
		reason, message := unknownRoles(def, prio)
		org.Status.Conditions = mergeConditions(org.Status.Conditions, statusT0,
			readyCondition("", "", 1), referencesCondition(reason, message, 1))
		if _, errs := schemaErrors(t, "organizations", org); len(errs) > 0 {
			t.Fatalf("Organization with %d unknown priority roles of %d characters: the status does not fit the CRD: %v", len(prio), width, errs)
		}
		checkMessages(t, org.Status.Conditions, "")
	}

	env := &orgrbacv1alpha1.Environment{TypeMeta: metav1.TypeMeta{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Environment"},
		ObjectMeta: metav1.ObjectMeta{Name: "videos", Namespace: "videos", Generation: 1},
		Spec:       orgrbacv1alpha1.EnvironmentSpec{DefaultRole: def, RolePriority: prio},
		Status:     orgrbacv1alpha1.EnvironmentStatus{Conditions: foreignConditions(c.forged)}}
	if inErrs, _ := schemaErrors(t, "environments", env); len(inErrs) == 0 {
		older := ""
		if c.multiple {
			older = strings.Repeat("e", 253)
		}
		env.Status.Conditions = environmentConditions(env.Status.Conditions, 1, older, def, prio, statusT0)
		if _, errs := schemaErrors(t, "environments", env); len(errs) > 0 {
			t.Fatalf("Environment with %d unknown priority roles: the status does not fit the CRD: %v", len(prio), errs)
		}
		checkMessages(t, env.Status.Conditions, "")
	}
}

// checkMessages: every condition message is bounded and, when the inputs were
// valid UTF-8, is valid UTF-8 (a cut never splits a character).
func checkMessages(t *testing.T, conds []metav1.Condition, text string) {
	t.Helper()
	for _, c := range conds {
		if len(c.Message) > orgrbacv1alpha1.MaxConditionMessage {
			t.Errorf("%s: a message of %d bytes", c.Type, len(c.Message))
		}
		if utf8.ValidString(text) && !utf8.ValidString(c.Message) {
			t.Errorf("%s: invalid UTF-8 from valid inputs: %q", c.Type, c.Message)
		}
	}
}
