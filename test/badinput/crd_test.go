//go:build envtest

// Package badinput holds the bad-input catalog of the custom resources (issue
// #13; docs/security.md, "Bad-input catalog"): objects that a real API server,
// with the CRDs installed and the admission webhooks registered, must refuse
// with a clear message, through the OpenAPI schema, a CEL rule or a webhook.
package badinput

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/badinput"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/testenv"
	webhookv1alpha1 "github.com/orgrbac/orgrbac/internal/webhook/v1alpha1"
)

// minBadCRs is this package's share of the catalog's 120 inputs.
const minBadCRs = 70

var (
	k8s client.Client
	// ran and failed tell TestMain what to print.
	ran, failed int
)

// TestMain starts a control plane (envtest; `make test` sets KUBEBUILDER_ASSETS)
// with the CRDs and the webhook configuration of config/, and a manager serving
// only the admission webhooks (and the field indexes they read).
func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad-input catalog (crds):", err)
		code = 1
	}
	badinput.Report("crds", ran, failed)
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	env, err := testenv.Start(testenv.Options{Webhooks: true})
	if err != nil {
		return 1, err
	}
	defer func() { _ = env.Stop() }()
	k8s = env.Client
	mgr, err := ctrl.NewManager(env.Config, env.ManagerOptions())
	if err != nil {
		return 1, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := index.Setup(ctx, mgr.GetFieldIndexer()); err != nil {
		return 1, err
	}
	if err := webhookv1alpha1.Setup(mgr); err != nil {
		return 1, err
	}
	stop := testenv.StartManager(ctx, mgr)
	defer func() {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bad-input catalog (crds): the manager:", err)
		}
	}()

	// The webhook server listens, with the certificate envtest made for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := env.DialWebhookServer()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 1, fmt.Errorf("the webhook server does not listen: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return m.Run(), nil
}

// obj is an object of kind in namespace ns, from a JSON-like map.
func obj(kind, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": orgrbacv1alpha1.GroupVersion.String(), "kind": kind,
		"metadata": map[string]any{"name": name},
	}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	return u
}

// world creates the objects the entries collide with in a new namespace and
// returns its name. Memberships and organizations carry secretMarker in
// namespaces the entries never target, to catch a message that names them.
func world(ctx context.Context, t *testing.T, marker string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "badinput-"}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{
		obj("Environment", "env", map[string]any{"rolePriority": []any{"admin", "editor", "member", "viewer"}}),
		obj("Role", "admin", map[string]any{"permissions": []any{"settings:manage", "videos:delete"}}),
		obj("Role", "editor", map[string]any{"slug": "editor", "permissions": []any{"videos:edit"}}),
		obj("Role", "member", map[string]any{"permissions": []any{"videos:view"}}),
		obj("Permission", "videos.view", map[string]any{"slug": "videos:view"}),
		obj("Organization", "acme", map[string]any{"externalID": "org_01ACME"}),
		obj("Organization", "globex", nil),
		obj("Organization", "initech", map[string]any{"externalID": "hooli"}),
		obj("OrganizationRole", "acme-producer", map[string]any{"organization": "acme", "slug": "org-producer", "permissions": []any{"videos:view"}}),
		obj("Membership", marker+"alice", map[string]any{"organization": "acme", "user": "user_alice", "roles": []any{"admin"}}),
		obj("GroupMapping", marker+"eng", map[string]any{"organization": "acme", "source": "SSO", "group": "eng", "role": "member"}),
	}
	for _, o := range objs {
		o.SetNamespace(ns.Name)
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	return ns.Name
}

// badCR is one catalog entry: an object to create (dry run), or a change to an
// object of the world to apply (dry run), and the refusal.
type badCR struct {
	// layer is where the refusal comes from: schema, cel, webhook, or any (for
	// inputs the schema or the webhook may refuse).
	layer string
	name  string
	obj   *unstructured.Unstructured
	// update, when set, changes the world's object of obj's kind and name.
	update func(u *unstructured.Unstructured)
	// want are substrings of the API server's error message.
	want []string
}

func long(n int) string { return strings.Repeat("a", n) }

func items(n int, f func(i int) string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func badCRs() []badCR {
	slug := func(i int) string { return fmt.Sprintf("r%d", i) }
	perm := func(i int) string { return fmt.Sprintf("videos:p%d", i) }
	mem := func(spec map[string]any) *unstructured.Unstructured { return obj("Membership", "m", spec) }
	gm := func(spec map[string]any) *unstructured.Unstructured {
		s := map[string]any{"organization": "acme", "source": "SSO", "group": "g", "role": "member"}
		for k, v := range spec {
			if v == nil {
				delete(s, k)
			} else {
				s[k] = v
			}
		}
		return obj("GroupMapping", "gm", s)
	}
	set := func(path ...string) func(v any) func(u *unstructured.Unstructured) {
		return func(v any) func(u *unstructured.Unstructured) {
			return func(u *unstructured.Unstructured) {
				utilruntime.Must(unstructured.SetNestedField(u.Object, v, path...))
			}
		}
	}
	webhookDenied := "denied the request"
	return []badCR{
		// Environment: schema.
		{layer: "schema", name: "environment rolePriority of 513 slugs", obj: obj("Environment", "env2", map[string]any{"rolePriority": items(513, slug)}), want: []string{"spec.rolePriority", "must have at most 512 items"}},
		{layer: "schema", name: "environment rolePriority slug with a colon", obj: obj("Environment", "env2", map[string]any{"rolePriority": []any{"a:b"}}), want: []string{"spec.rolePriority[0]", "should match"}},
		{layer: "schema", name: "environment defaultRole in upper case", obj: obj("Environment", "env2", map[string]any{"defaultRole": "Admin"}), want: []string{"spec.defaultRole", "should match"}},
		{layer: "schema", name: "environment defaultRole empty", obj: obj("Environment", "env2", map[string]any{"defaultRole": ""}), want: []string{"spec.defaultRole"}},
		{layer: "schema", name: "environment multipleRoles a string", obj: obj("Environment", "env2", map[string]any{"multipleRoles": "yes"}), want: []string{"spec.multipleRoles", "boolean"}},
		// Environment: webhook.
		{layer: "webhook", name: "a second environment in the namespace", obj: obj("Environment", "env2", nil), want: []string{webhookDenied, "already exists"}},

		// Role: schema.
		{layer: "schema", name: "role slug in upper case", obj: obj("Role", "r", map[string]any{"slug": "Admin"}), want: []string{"spec.slug", "should match"}},
		{layer: "schema", name: "role slug with a colon", obj: obj("Role", "r", map[string]any{"slug": "a:b"}), want: []string{"spec.slug", "should match"}},
		{layer: "schema", name: "role slug with a NUL", obj: obj("Role", "r", map[string]any{"slug": "adm\x00in"}), want: []string{"spec.slug"}},
		{layer: "schema", name: "role slug of 65 characters", obj: obj("Role", "r", map[string]any{"slug": long(65)}), want: []string{"spec.slug", "Too long"}},
		{layer: "schema", name: "role slug empty", obj: obj("Role", "r", map[string]any{"slug": ""}), want: []string{"spec.slug"}},
		{layer: "schema", name: "role permission with a space", obj: obj("Role", "r", map[string]any{"permissions": []any{"videos create"}}), want: []string{"spec.permissions[0]", "should match"}},
		{layer: "schema", name: "role permission of 129 characters", obj: obj("Role", "r", map[string]any{"permissions": []any{long(129)}}), want: []string{"spec.permissions[0]", "Too long"}},
		{layer: "schema", name: "role permission empty", obj: obj("Role", "r", map[string]any{"permissions": []any{""}}), want: []string{"spec.permissions[0]"}},
		{layer: "schema", name: "role permission with a zero-width space", obj: obj("Role", "r", map[string]any{"permissions": []any{"videos:\u200bview"}}), want: []string{"spec.permissions[0]", "should match"}},
		{layer: "schema", name: "role permission listed twice", obj: obj("Role", "r", map[string]any{"permissions": []any{"a", "a"}}), want: []string{"spec.permissions[1]", "Duplicate value"}},
		{layer: "schema", name: "role of 1025 permissions", obj: obj("Role", "r", map[string]any{"permissions": items(1025, perm)}), want: []string{"spec.permissions", "must have at most 1024 items"}},
		{layer: "schema", name: "role permissions a string", obj: obj("Role", "r", map[string]any{"permissions": "videos:view"}), want: []string{"spec.permissions", "array"}},
		{layer: "schema", name: "role displayName of 257 characters", obj: obj("Role", "r", map[string]any{"displayName": long(257)}), want: []string{"spec.displayName", "Too long"}},
		{layer: "schema", name: "role description of 2049 characters", obj: obj("Role", "r", map[string]any{"description": long(2049)}), want: []string{"spec.description", "Too long"}},
		// Role: CEL.
		{layer: "cel", name: "role slug starting with org-", obj: obj("Role", "r", map[string]any{"slug": "org-admin"}), want: []string{"environment role slugs must not start with org- or org_"}},
		{layer: "cel", name: "role slug starting with org_", obj: obj("Role", "r", map[string]any{"slug": "org_admin"}), want: []string{"environment role slugs must not start with org- or org_"}},
		{layer: "cel", name: "role without slug named org-x", obj: obj("Role", "org-x", nil), want: []string{"metadata.name is the role slug when spec.slug is omitted"}},
		{layer: "cel", name: "role without slug whose name has a dot", obj: obj("Role", "video.admin", nil), want: []string{"metadata.name is the role slug when spec.slug is omitted"}},
		{layer: "cel", name: "role slug changed", obj: obj("Role", "editor", nil), update: set("spec", "slug")("writer"), want: []string{"slug is immutable"}},
		{layer: "cel", name: "role without slug given another one", obj: obj("Role", "member", nil), update: set("spec", "slug")("viewer"), want: []string{"slug is immutable"}},
		// Role: webhook.
		{layer: "webhook", name: "role slug already taken", obj: obj("Role", "admin2", map[string]any{"slug": "admin"}), want: []string{webhookDenied, "already has the slug"}},
		{layer: "webhook", name: "role named after another's slug", obj: obj("Role", "editor2", map[string]any{"slug": "editor"}), want: []string{webhookDenied, "already has the slug"}},

		// Permission.
		{layer: "schema", name: "permission slug in upper case", obj: obj("Permission", "p", map[string]any{"slug": "Videos:View"}), want: []string{"spec.slug", "should match"}},
		{layer: "schema", name: "permission slug of 129 characters", obj: obj("Permission", "p", map[string]any{"slug": long(129)}), want: []string{"spec.slug", "Too long"}},
		{layer: "schema", name: "permission slug with a space", obj: obj("Permission", "p", map[string]any{"slug": "videos view"}), want: []string{"spec.slug", "should match"}},
		{layer: "schema", name: "permission slug with a newline", obj: obj("Permission", "p", map[string]any{"slug": "videos:view\n"}), want: []string{"spec.slug", "should match"}},
		{layer: "schema", name: "permission displayName of 257 characters", obj: obj("Permission", "p", map[string]any{"displayName": long(257)}), want: []string{"spec.displayName", "Too long"}},
		{layer: "cel", name: "permission slug changed", obj: obj("Permission", "videos.view", nil), update: set("spec", "slug")("videos:edit"), want: []string{"slug is immutable"}},

		// Organization: schema.
		{layer: "schema", name: "organization externalID of 129 characters", obj: obj("Organization", "o", map[string]any{"externalID": long(129)}), want: []string{"spec.externalID", "Too long"}},
		{layer: "schema", name: "organization externalID with a space", obj: obj("Organization", "o", map[string]any{"externalID": "org 1"}), want: []string{"spec.externalID", "should match"}},
		{layer: "schema", name: "organization externalID with a slash", obj: obj("Organization", "o", map[string]any{"externalID": "org/../1"}), want: []string{"spec.externalID", "should match"}},
		{layer: "schema", name: "organization externalID with a NUL", obj: obj("Organization", "o", map[string]any{"externalID": "org_1\x00"}), want: []string{"spec.externalID"}},
		{layer: "schema", name: "organization externalID with non-ASCII", obj: obj("Organization", "o", map[string]any{"externalID": "org_ä"}), want: []string{"spec.externalID", "should match"}},
		{layer: "schema", name: "organization displayName of 257 characters", obj: obj("Organization", "o", map[string]any{"displayName": long(257)}), want: []string{"spec.displayName", "Too long"}},
		{layer: "schema", name: "organization defaultRole in upper case", obj: obj("Organization", "o", map[string]any{"defaultRole": "Admin"}), want: []string{"spec.defaultRole", "should match"}},
		{layer: "schema", name: "organization rolePriority of 513 slugs", obj: obj("Organization", "o", map[string]any{"rolePriority": items(513, slug)}), want: []string{"spec.rolePriority", "must have at most 512 items"}},
		{layer: "schema", name: "organization rolePriority slug of 65 characters", obj: obj("Organization", "o", map[string]any{"rolePriority": []any{long(65)}}), want: []string{"spec.rolePriority[0]", "Too long"}},
		// Organization: one id, one organization (security review M2).
		{layer: "webhook", name: "organization externalID equal to another's externalID", obj: obj("Organization", "evil", map[string]any{"externalID": "org_01ACME"}), want: []string{webhookDenied, "externalID"}},
		{layer: "webhook", name: "organization externalID equal to another's name", obj: obj("Organization", "evil", map[string]any{"externalID": "globex"}), want: []string{webhookDenied, "externalID"}},
		{layer: "webhook", name: "organization named after another's externalID", obj: obj("Organization", "hooli", nil), want: []string{webhookDenied, "externalID"}},
		{layer: "webhook", name: "organization externalID changed to another's", obj: obj("Organization", "globex", nil), update: set("spec", "externalID")("org_01ACME"), want: []string{webhookDenied, "externalID"}},

		// OrganizationRole.
		{layer: "cel", name: "organization role slug without org- prefix", obj: obj("OrganizationRole", "o", map[string]any{"organization": "acme", "slug": "producer"}), want: []string{"organization role slugs must start with org- or org_"}},
		{layer: "schema", name: "organization role slug of 65 characters", obj: obj("OrganizationRole", "o", map[string]any{"organization": "acme", "slug": "org-" + long(61)}), want: []string{"spec.slug", "Too long"}},
		{layer: "schema", name: "organization role without organization", obj: obj("OrganizationRole", "o", map[string]any{"slug": "org-x"}), want: []string{"spec.organization", "Required"}},
		{layer: "schema", name: "organization role without spec", obj: obj("OrganizationRole", "o", nil), want: []string{"spec", "Required"}},
		{layer: "schema", name: "organization role of 1025 permissions", obj: obj("OrganizationRole", "o", map[string]any{"organization": "acme", "slug": "org-x", "permissions": items(1025, perm)}), want: []string{"spec.permissions", "must have at most 1024 items"}},
		{layer: "schema", name: "organization role description of 2049 characters", obj: obj("OrganizationRole", "o", map[string]any{"organization": "acme", "slug": "org-x", "description": long(2049)}), want: []string{"spec.description", "Too long"}},
		{layer: "cel", name: "organization role moved to another organization", obj: obj("OrganizationRole", "acme-producer", nil), update: set("spec", "organization")("globex"), want: []string{"organization is immutable"}},
		{layer: "cel", name: "organization role slug changed", obj: obj("OrganizationRole", "acme-producer", nil), update: set("spec", "slug")("org-director"), want: []string{"slug is immutable"}},
		{layer: "webhook", name: "organization role slug already taken in the organization", obj: obj("OrganizationRole", "acme-producer2", map[string]any{"organization": "acme", "slug": "org-producer"}), want: []string{webhookDenied, "already has the slug"}},

		// Membership: schema.
		{layer: "schema", name: "membership without organization", obj: mem(map[string]any{"user": "u1"}), want: []string{"spec.organization", "Required"}},
		{layer: "schema", name: "membership organization empty", obj: mem(map[string]any{"organization": "", "user": "u1"}), want: []string{"spec.organization"}},
		{layer: "schema", name: "membership without user", obj: mem(map[string]any{"organization": "acme"}), want: []string{"spec.user", "Required"}},
		{layer: "schema", name: "membership user empty", obj: mem(map[string]any{"organization": "acme", "user": ""}), want: []string{"spec.user"}},
		{layer: "schema", name: "membership user of 257 characters", obj: mem(map[string]any{"organization": "acme", "user": long(257)}), want: []string{"spec.user", "Too long"}},
		{layer: "schema", name: "membership user a number", obj: mem(map[string]any{"organization": "acme", "user": int64(42)}), want: []string{"spec.user", "string"}},
		{layer: "schema", name: "membership email of 321 characters", obj: mem(map[string]any{"organization": "acme", "user": "u1", "email": long(321)}), want: []string{"spec.email", "Too long"}},
		{layer: "schema", name: "membership state Suspended", obj: mem(map[string]any{"organization": "acme", "user": "u1", "state": "Suspended"}), want: []string{"spec.state", "Unsupported value"}},
		{layer: "schema", name: "membership state in lower case", obj: mem(map[string]any{"organization": "acme", "user": "u1", "state": "active"}), want: []string{"spec.state", "Unsupported value"}},
		{layer: "schema", name: "membership of 65 roles", obj: mem(map[string]any{"organization": "acme", "user": "u1", "roles": items(65, slug)}), want: []string{"spec.roles", "must have at most 64 items"}},
		{layer: "schema", name: "membership role listed twice", obj: mem(map[string]any{"organization": "acme", "user": "u1", "roles": []any{"admin", "admin"}}), want: []string{"spec.roles[1]", "Duplicate value"}},
		{layer: "schema", name: "membership role in upper case", obj: mem(map[string]any{"organization": "acme", "user": "u1", "roles": []any{"Admin"}}), want: []string{"spec.roles[0]", "should match"}},
		{layer: "schema", name: "membership of 513 directory groups", obj: mem(map[string]any{"organization": "acme", "user": "u1", "directoryGroups": items(513, slug)}), want: []string{"spec.directoryGroups", "must have at most 512 items"}},
		{layer: "schema", name: "membership directory group empty", obj: mem(map[string]any{"organization": "acme", "user": "u1", "directoryGroups": []any{""}}), want: []string{"spec.directoryGroups[0]"}},
		{layer: "schema", name: "membership SSO group of 257 characters", obj: mem(map[string]any{"organization": "acme", "user": "u1", "ssoGroups": []any{long(257)}}), want: []string{"spec.ssoGroups[0]", "Too long"}},
		{layer: "schema", name: "membership of 513 SSO groups", obj: mem(map[string]any{"organization": "acme", "user": "u1", "ssoGroups": items(513, slug)}), want: []string{"spec.ssoGroups", "must have at most 512 items"}},
		// Membership: identities with control characters and look-alikes (security review L4).
		{layer: "any", name: "membership user with a trailing space", obj: mem(map[string]any{"organization": "acme", "user": "user_alice "}), want: []string{"spec.user"}},
		{layer: "any", name: "membership user with a zero-width space", obj: mem(map[string]any{"organization": "acme", "user": "user_\u200balice"}), want: []string{"spec.user"}},
		{layer: "any", name: "membership user with a NUL", obj: mem(map[string]any{"organization": "acme", "user": "user_alice\x00"}), want: []string{"spec.user"}},
		{layer: "any", name: "membership email with a newline", obj: mem(map[string]any{"organization": "acme", "user": "u2", "email": "a@b.test\nX-Injected: 1"}), want: []string{"spec.email"}},
		{layer: "any", name: "membership directory group with a NUL", obj: mem(map[string]any{"organization": "acme", "user": "u3", "directoryGroups": []any{"eng\x00"}}), want: []string{"spec.directoryGroups"}},
		// Membership: CEL.
		{layer: "cel", name: "membership moved to another organization", obj: obj("Membership", "acme-alice", nil), update: set("spec", "organization")("globex"), want: []string{"organization is immutable"}},
		{layer: "cel", name: "membership user changed", obj: obj("Membership", "acme-alice", nil), update: set("spec", "user")("user_mallory"), want: []string{"user is immutable"}},
		// Membership: webhook.
		{layer: "webhook", name: "a second membership of a user in an organization", obj: mem(map[string]any{"organization": "acme", "user": "user_alice"}), want: []string{webhookDenied, "already exists"}},

		// GroupMapping.
		{layer: "schema", name: "group mapping source LDAP", obj: gm(map[string]any{"source": "LDAP"}), want: []string{"spec.source", "Unsupported value"}},
		{layer: "schema", name: "group mapping without source", obj: gm(map[string]any{"source": nil}), want: []string{"spec.source", "Required"}},
		{layer: "schema", name: "group mapping group empty", obj: gm(map[string]any{"group": ""}), want: []string{"spec.group"}},
		{layer: "schema", name: "group mapping group of 257 characters", obj: gm(map[string]any{"group": long(257)}), want: []string{"spec.group", "Too long"}},
		{layer: "schema", name: "group mapping role in upper case", obj: gm(map[string]any{"role": "Member"}), want: []string{"spec.role", "should match"}},
		{layer: "schema", name: "group mapping without role", obj: gm(map[string]any{"role": nil}), want: []string{"spec.role", "Required"}},
		{layer: "schema", name: "group mapping without organization", obj: gm(map[string]any{"organization": nil}), want: []string{"spec.organization", "Required"}},
		{layer: "any", name: "group mapping group with a NUL", obj: gm(map[string]any{"group": "eng\x00"}), want: []string{"spec.group"}},
		{layer: "cel", name: "group mapping moved to another organization", obj: obj("GroupMapping", "acme-eng", nil), update: set("spec", "organization")("globex"), want: []string{"organization is immutable"}},
	}
}

// TestBadCRsAreRefused runs the catalog: every entry is sent as a dry run, in a
// namespace holding the world, next to another namespace whose objects must
// never be named in a refusal.
func TestBadCRsAreRefused(t *testing.T) {
	ctx := context.Background()
	const secret = "secret-" // the other namespace's object names
	_ = world(ctx, t, secret)
	ns := world(ctx, t, "acme-")
	// The webhooks read a cache: wait until it holds the world.
	waitDenied(ctx, t, ns)

	entries := badCRs()
	if len(entries) < minBadCRs {
		t.Errorf("the catalog holds %d inputs, fewer than its floor of %d", len(entries), minBadCRs)
	}
	names := map[string]bool{}
	perLayer := map[string]int{}
	for _, e := range entries {
		if names[e.name] {
			t.Errorf("two entries are named %q", e.name)
		}
		names[e.name] = true
		perLayer[e.layer]++
		ran++
		if !t.Run(e.layer+"/"+e.name, func(t *testing.T) { runBadCR(ctx, t, ns, secret, e) }) {
			failed++
		}
	}
	t.Logf("bad-input catalog (crds): %d inputs per layer %v", len(entries), perLayer)
}

// waitDenied waits until the Membership webhook denies a duplicate of the
// world's membership, that is until its cache holds the world.
func waitDenied(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := obj("Membership", "probe", map[string]any{"organization": "acme", "user": "user_alice"})
		m.SetNamespace(ns)
		err := k8s.Create(ctx, m, client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "already exists") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhooks do not see the world: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runBadCR(ctx context.Context, t *testing.T, ns, secret string, e badCR) {
	o := e.obj.DeepCopy()
	o.SetNamespace(ns)
	var err error
	sent := o
	if e.update != nil {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(o.GroupVersionKind())
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), cur); err != nil {
			t.Fatalf("reading the world's %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		e.update(cur)
		sent = cur
		err = k8s.Update(ctx, cur, client.DryRunAll)
	} else {
		err = k8s.Create(ctx, o, client.DryRunAll)
	}
	if err == nil {
		body, _ := json.Marshal(sent.Object["spec"])
		t.Fatalf("accepted: %.300s", body)
	}
	msg := err.Error()
	for _, w := range e.want {
		if !strings.Contains(msg, w) {
			t.Errorf("the refusal does not say %q: %.600s", w, msg)
		}
	}
	fromWebhook := strings.Contains(msg, "admission webhook")
	switch e.layer {
	case "schema", "cel":
		if fromWebhook {
			t.Errorf("refused by a webhook, want the %s: %.600s", e.layer, msg)
		}
	case "webhook":
		if !fromWebhook {
			t.Errorf("not refused by a webhook: %.600s", msg)
		}
	}
	if strings.Contains(msg, secret) {
		t.Errorf("the refusal names an object of another namespace: %.600s", msg)
	}
	if len(msg) > 8<<10 {
		t.Errorf("the refusal is %d bytes long", len(msg))
	}
}
