//go:build envtest

package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/tokens"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The official SDKs write through the API: the same scenario drives the Node
// SDK (here) and the Go SDK (workos_go_sdk_test.go), each in an environment
// of its own so that nothing the other specs read changes. The SDK runs in a
// child process that takes one command per line and answers one JSON line,
// so the spec checks the cluster after every SDK call.

// sdkDriver is a running SDK driver process (test/workos-sdk/writes.mjs or
// test/workos-go).
type sdkDriver struct {
	flavor sdkFlavor
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *lockedBuffer
	// calls counts the SDK calls made, by SDK method.
	calls map[string]int
}

// sdkFlavor is what differs between the SDKs in the scenario.
type sdkFlavor struct {
	name, version string
	// The name (Node) or Go type of the SDK's error for 403, 404 and 409.
	forbidden, notFound, conflict string
	// methods names the SDK method of each operation of the drivers.
	methods map[string]string
}

// lockedBuffer is a bytes.Buffer written by the process and read by the spec.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDriver starts cmd and stops it when the spec ends.
func startDriver(flavor sdkFlavor, cmd *exec.Cmd) *sdkDriver {
	GinkgoHelper()
	d := &sdkDriver{flavor: flavor, cmd: cmd, lines: make(chan []byte), stderr: &lockedBuffer{}, calls: map[string]int{}}
	var err error
	d.stdin, err = cmd.StdinPipe()
	Expect(err).NotTo(HaveOccurred())
	stdout, err := cmd.StdoutPipe()
	Expect(err).NotTo(HaveOccurred())
	cmd.Stderr = d.stderr
	Expect(cmd.Start()).To(Succeed(), "starting %s", cmd)
	go func() {
		defer close(d.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			d.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	DeferCleanup(func() {
		_ = d.stdin.Close() // the driver ends at the end of its input
		for range d.lines {
		}
		Expect(cmd.Wait()).To(Succeed(), "%s ends cleanly: %s", flavor.name, d.stderr)
	})
	return d
}

// sdkAnswer is a driver's answer to one command.
type sdkAnswer struct {
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value"`
	Error *sdkCallError   `json:"error"`
}

// sdkCallError is an SDK's error: Name is the Node exception's name, Type the
// Go error's type.
type sdkCallError struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Status  int     `json:"status"`
	Code    *string `json:"code"`
	Message string  `json:"message"`
}

func (e *sdkCallError) kind() string { return e.Name + e.Type }

func (e *sdkCallError) code() string {
	if e.Code == nil {
		return ""
	}
	return *e.Code
}

// do sends a command as the caller as (a name of the driver's tokens) and
// returns the answer.
func (d *sdkDriver) do(as, op string, args map[string]any) sdkAnswer {
	GinkgoHelper()
	line, err := json.Marshal(map[string]any{"as": as, "op": op, "args": args})
	Expect(err).NotTo(HaveOccurred())
	_, err = d.stdin.Write(append(line, '\n'))
	Expect(err).NotTo(HaveOccurred(), "%s: %s", d.flavor.name, d.stderr)
	var out []byte
	select {
	case l, ok := <-d.lines:
		Expect(ok).To(BeTrue(), "%s ended early: %s", d.flavor.name, d.stderr)
		out = l
	case <-time.After(2 * time.Minute):
		Fail(fmt.Sprintf("%s did not answer %s within 2 minutes: %s", d.flavor.name, line, d.stderr))
	}
	var a sdkAnswer
	Expect(json.Unmarshal(out, &a)).To(Succeed(), "answer %s", out)
	if method, ok := d.flavor.methods[op]; ok {
		d.calls[method]++
		GinkgoWriter.Printf("%s %s as %s: ok=%v\n", d.flavor.name, method, as, a.OK)
	}
	return a
}

// ok sends a command that must succeed and decodes its value (with the SDK's
// field names turned into WorkOS's snake_case ones) into v, unless v is nil.
func (d *sdkDriver) ok(v any, as, op string, args map[string]any) {
	GinkgoHelper()
	a := d.do(as, op, args)
	Expect(a.Error).To(BeNil(), "%s %s as %s", d.flavor.name, op, as)
	Expect(a.OK).To(BeTrue())
	if v != nil {
		Expect(json.Unmarshal(snakeKeys(a.Value), v)).To(Succeed(), "value %s", a.Value)
	}
}

// okIn is ok inside an Eventually: a failed call fails the attempt, which is
// retried, not the spec.
func (d *sdkDriver) okIn(g Gomega, v any, as, op string, args map[string]any) {
	a := d.do(as, op, args)
	g.Expect(a.Error).To(BeNil(), "%s %s as %s", d.flavor.name, op, as)
	g.Expect(a.OK).To(BeTrue())
	if v != nil {
		g.Expect(json.Unmarshal(snakeKeys(a.Value), v)).To(Succeed(), "value %s", a.Value)
	}
}

// fails sends a command that must fail and returns the SDK's error.
func (d *sdkDriver) fails(as, op string, args map[string]any) *sdkCallError {
	GinkgoHelper()
	a := d.do(as, op, args)
	Expect(a.OK).To(BeFalse(), "%s %s as %s answered %s", d.flavor.name, op, as, a.Value)
	Expect(a.Error).NotTo(BeNil())
	return a.Error
}

// report adds the SDK calls made to the suite's report.
func (d *sdkDriver) report() {
	methods := slices.Sorted(func(yield func(string) bool) {
		for m := range d.calls {
			if !yield(m) {
				return
			}
		}
	})
	var b strings.Builder
	for _, m := range methods {
		fmt.Fprintf(&b, "%s ×%d\n", m, d.calls[m])
	}
	AddReportEntry(fmt.Sprintf("%s %s: SDK calls exercised", d.flavor.name, d.flavor.version), b.String())
	GinkgoWriter.Printf("%s %s: %d SDK methods exercised:\n%s", d.flavor.name, d.flavor.version, len(methods), b.String())
}

// snakeKeys turns every object key of a JSON document from camelCase (the
// Node SDK's) into snake_case (WorkOS's wire names, which the Go SDK's JSON
// tags keep), so that one set of types reads both SDKs' objects.
func snakeKeys(data []byte) []byte {
	GinkgoHelper()
	var v any
	Expect(json.Unmarshal(data, &v)).To(Succeed())
	var walk func(any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				var b strings.Builder
				for i, r := range k {
					if unicode.IsUpper(r) {
						if i > 0 {
							b.WriteByte('_')
						}
						r = unicode.ToLower(r)
					}
					b.WriteRune(r)
				}
				out[b.String()] = walk(e)
			}
			return out
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		}
		return v
	}
	out, err := json.Marshal(walk(v))
	Expect(err).NotTo(HaveOccurred())
	return out
}

// The SDKs' objects, by WorkOS's field names.
type sdkWMembership struct {
	Object           string           `json:"object"`
	ID               string           `json:"id"`
	UserID           string           `json:"user_id"`
	OrganizationID   string           `json:"organization_id"`
	OrganizationName string           `json:"organization_name"`
	Status           string           `json:"status"`
	Role             *workos.SlugRef  `json:"role"`
	Roles            []workos.SlugRef `json:"roles"`
	CreatedAt        string           `json:"created_at"`
}

type sdkWRole struct {
	Object           string   `json:"object"`
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Slug             string   `json:"slug"`
	Description      *string  `json:"description"`
	Permissions      []string `json:"permissions"`
	ResourceTypeSlug string   `json:"resource_type_slug"`
	Type             string   `json:"type"`
}

type sdkWOrganization struct {
	Object     string  `json:"object"`
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	ExternalID *string `json:"external_id"`
	CreatedAt  string  `json:"created_at"`
}

// mintedToken is the answer of POST /v1/tokens as the drivers report it.
type mintedToken struct {
	Status int `json:"status"`
	Body   struct {
		AccessToken    string `json:"access_token"`
		TokenType      string `json:"token_type"`
		ExpiresIn      int64  `json:"expires_in"`
		OrganizationID string `json:"organization_id"`
		Code           string `json:"code"`
	} `json:"body"`
}

// tokenClaims are the claims of a verified access token.
type tokenClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    any      `json:"aud"` // a string, or a list as RFC 7519 allows
	OrgID       string   `json:"org_id"`
	Role        string   `json:"role"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	SessionID   string   `json:"sid"`
	ID          string   `json:"jti"`
	IssuedAt    int64    `json:"iat"`
	Expiry      int64    `json:"exp"`
}

// writesWorld is an environment of its own for one SDK's writes.
type writesWorld struct {
	ns, orgID string
	// The callers' tokens by name, as the drivers take them: writer (api-writer,
	// api-reader, api-caller), looker (api-reader and api-caller: no write),
	// minter (api-token-minter).
	tokens map[string]string
}

// writerName is the username the API records in the written-by annotation.
func (w *writesWorld) writerName() string { return "system:serviceaccount:" + w.ns + ":writer" }

// createWritesWorld creates the environment ns (multiple roles per
// membership): the four environment roles of videos, the organization acme (external id orgID) with one member (bob,
// editor) and one organization role (org-lead, held by nobody), globex, and
// the callers.
func createWritesWorld(ctx context.Context, ns, orgID string) *writesWorld {
	GinkgoHelper()
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	role := func(slug, display string, perms ...string) client.Object {
		return &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: slug},
			Spec: orgrbacv1alpha1.RoleSpec{DisplayName: display, Description: display + " role", Permissions: perms}}
	}
	for _, o := range []client.Object{
		&orgrbacv1alpha1.Environment{ObjectMeta: metav1.ObjectMeta{Name: ns},
			Spec: orgrbacv1alpha1.EnvironmentSpec{DefaultRole: "member", RolePriority: []string{"admin", "editor", "member", "viewer"},
				MultipleRoles: true}},
		role("admin", "Admin", "settings:manage", "videos:create", "videos:delete", "videos:edit", "videos:view"),
		role("editor", "Editor", "videos:create", "videos:edit", "videos:view"),
		role("member", "Member", "videos:view"),
		role("viewer", "Viewer", "videos:view"),
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"},
			Spec: orgrbacv1alpha1.OrganizationSpec{DisplayName: "Acme Writes", ExternalID: orgID}},
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "globex"}},
		&orgrbacv1alpha1.OrganizationRole{ObjectMeta: metav1.ObjectMeta{Name: "acme-lead"},
			Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-lead", DisplayName: "Lead",
				Permissions: []string{"videos:publish"}}},
		&orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "acme-bob"},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "user_bob", Roles: []string{"editor"}}},
	} {
		o.SetNamespace(ns)
		Expect(k8s.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
	}
	w := &writesWorld{ns: ns, orgID: orgID, tokens: map[string]string{
		"writer": serviceAccount(ctx, ns, "writer", ns, writerRole, readerRole, callerRole),
		"looker": serviceAccount(ctx, ns, "looker", ns, readerRole, callerRole),
		"minter": serviceAccount(ctx, ns, "minter", ns, minterRole),
	}}
	expectResolved(ctx, ns, "acme-bob", "editor")
	return w
}

// expectResolved waits until the controller resolved the Membership ns/name
// to the roles (highest priority first) and returns it.
func expectResolved(ctx context.Context, ns, name string, roles ...string) *orgrbacv1alpha1.Membership {
	GinkgoHelper()
	var m orgrbacv1alpha1.Membership
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &m)).To(Succeed())
		g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation))
		g.Expect(m.Status.Roles).To(Equal(roles))
		g.Expect(m.Status.Role).To(Equal(roles[0]))
	}).WithContext(ctx).Should(Succeed(), "membership %s/%s resolves to %v", ns, name, roles)
	return &m
}

// expectWrittenBy checks that the object records its writer.
func expectWrittenBy(obj metav1.Object, username string) {
	GinkgoHelper()
	Expect(obj.GetAnnotations()).To(HaveKeyWithValue(orgrbacv1alpha1.AnnotationWrittenBy, username),
		"%s records its writer", obj.GetName())
}

// expectAnswerResolves checks an SDK membership against the Membership as the
// controller resolved it.
func expectAnswerResolves(got sdkWMembership, m *orgrbacv1alpha1.Membership, w *writesWorld) {
	GinkgoHelper()
	Expect(got.Object).To(Equal("organization_membership"))
	Expect(got.ID).To(Equal(m.Name))
	Expect(got.UserID).To(Equal(m.Spec.User))
	Expect(got.OrganizationID).To(Equal(w.orgID))
	Expect(got.OrganizationName).To(Equal("Acme Writes"))
	Expect(got.Role).To(Equal(&workos.SlugRef{Slug: m.Status.Role}), "the answer's role is the resolved one")
	roles := []string{}
	for _, r := range got.Roles {
		roles = append(roles, r.Slug)
	}
	Expect(roles).To(Equal(m.Status.Roles), "the answer's roles are the resolved ones")
}

// membershipsOf lists, as `kubectl get memberships` would, the Memberships of
// acme for a user in the world.
func membershipsOf(ctx context.Context, w *writesWorld, user string) []string {
	GinkgoHelper()
	var ms orgrbacv1alpha1.MembershipList
	Expect(k8s.List(ctx, &ms, client.InNamespace(w.ns))).To(Succeed())
	var names []string
	for _, m := range ms.Items {
		if m.Spec.Organization == "acme" && m.Spec.User == user {
			names = append(names, m.Name)
		}
	}
	return names
}

// orgRole reads the OrganizationRole of acme with the slug (nil when none).
func orgRole(ctx context.Context, w *writesWorld, slug string) *orgrbacv1alpha1.OrganizationRole {
	GinkgoHelper()
	var rs orgrbacv1alpha1.OrganizationRoleList
	Expect(k8s.List(ctx, &rs, client.InNamespace(w.ns))).To(Succeed())
	var found *orgrbacv1alpha1.OrganizationRole
	for i := range rs.Items {
		if r := &rs.Items[i]; r.Spec.Organization == "acme" && r.Spec.Slug == slug {
			Expect(found).To(BeNil(), "one OrganizationRole %s in acme", slug)
			found = r
		}
	}
	return found
}

// worldVersions describes every Membership, OrganizationRole and GroupMapping
// of the world by what a write changes (the controllers write statuses, which
// move resourceVersions): its generation (the spec), its annotations and
// whether it is being deleted. Equal before and after: nothing was written.
func worldVersions(ctx context.Context, ns string) map[string]string {
	GinkgoHelper()
	out := map[string]string{}
	add := func(kind string, o metav1.Object) {
		ann, err := json.Marshal(o.GetAnnotations())
		Expect(err).NotTo(HaveOccurred())
		out[kind+"/"+o.GetName()] = fmt.Sprintf("generation %d, annotations %s, deleting %v",
			o.GetGeneration(), ann, o.GetDeletionTimestamp() != nil)
	}
	var ms orgrbacv1alpha1.MembershipList
	Expect(k8s.List(ctx, &ms, client.InNamespace(ns))).To(Succeed())
	for i := range ms.Items {
		add("membership", &ms.Items[i])
	}
	var rs orgrbacv1alpha1.OrganizationRoleList
	Expect(k8s.List(ctx, &rs, client.InNamespace(ns))).To(Succeed())
	for i := range rs.Items {
		add("organizationrole", &rs.Items[i])
	}
	var gs orgrbacv1alpha1.GroupMappingList
	Expect(k8s.List(ctx, &gs, client.InNamespace(ns))).To(Succeed())
	for i := range gs.Items {
		add("groupmapping", &gs.Items[i])
	}
	return out
}

// runWritesScenario drives d through every WorkOS write, the organization
// reads and the resource-scoped checks in w, checking the cluster after each
// call. Access tokens are each spec's own: their verifiers differ.
func runWritesScenario(ctx context.Context, d *sdkDriver, w *writesWorld) {
	GinkgoHelper()
	org := w.orgID

	By(d.flavor.name + ": organizations (list, get, get by external id)")
	var orgs []sdkWOrganization
	d.ok(&orgs, "writer", "listOrganizations", nil)
	byID := map[string]sdkWOrganization{}
	for _, o := range orgs {
		Expect(o.Object).To(Equal("organization"))
		byID[o.ID] = o
	}
	Expect(byID).To(HaveLen(2))
	Expect(byID).To(HaveKey(org))
	Expect(byID).To(HaveKey("globex"))
	var acme sdkWOrganization
	d.ok(&acme, "writer", "getOrganization", map[string]any{"id": org})
	var acmeObj orgrbacv1alpha1.Organization
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "acme"}, &acmeObj)).To(Succeed())
	Expect(acme).To(Equal(sdkWOrganization{Object: "organization", ID: org, Name: "Acme Writes", ExternalID: &org,
		CreatedAt: acmeObj.CreationTimestamp.UTC().Format(workos.TimeFormat)}))
	Expect(byID[org]).To(Equal(acme))
	var byExt sdkWOrganization
	d.ok(&byExt, "writer", "getOrganizationByExternalId", map[string]any{"externalId": org})
	Expect(byExt).To(Equal(acme))
	var globex sdkWOrganization
	d.ok(&globex, "writer", "getOrganization", map[string]any{"id": "globex"})
	Expect(globex.Name).To(Equal("globex"))
	Expect(globex.ExternalID).To(BeNil())
	e := d.fails("writer", "getOrganization", map[string]any{"id": "no-such-org"})
	Expect(e.kind()).To(Equal(d.flavor.notFound))
	Expect(e.Status).To(Equal(http.StatusNotFound))

	By(d.flavor.name + ": creating a membership")
	var got sdkWMembership
	d.ok(&got, "writer", "createMembership", map[string]any{"organizationId": org, "userId": "user_new", "roleSlug": "editor"})
	Expect(got.Status).To(Equal("active"))
	id := got.ID
	Expect(id).NotTo(BeEmpty())
	Expect(membershipsOf(ctx, w, "user_new")).To(Equal([]string{id}), "one Membership of user_new in acme")
	m := memberIn(ctx, w.ns, id)
	Expect(m.Spec.Organization).To(Equal("acme"))
	Expect(m.Spec.User).To(Equal("user_new"))
	Expect(m.Spec.Roles).To(Equal([]string{"editor"}))
	Expect(m.Spec.State).To(BeElementOf(orgrbacv1alpha1.MembershipState(""), orgrbacv1alpha1.MembershipActive))
	expectWrittenBy(m, w.writerName())
	expectAnswerResolves(got, expectResolved(ctx, w.ns, id, "editor"), w)
	// What a cluster admin sees: kubectl lists it, its wide output with its writer.
	admin, err := testEnv.AddUser(envtest.User{Name: "kubectl-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubectl, err := admin.Kubectl()
	Expect(err).NotTo(HaveOccurred())
	stdout, stderr, err := kubectl.Run("get", "memberships.orgrbac.dev", "-n", w.ns, id, "-o", "wide", "--no-headers")
	Expect(err).NotTo(HaveOccurred(), "kubectl get memberships: %s", readAll(stderr))
	row := strings.Fields(readAll(stdout))
	Expect(row).To(ContainElements(id, "acme", "user_new", "editor", w.writerName()), "kubectl get memberships -o wide")
	var read sdkWMembership
	Eventually(func(g Gomega) {
		a := d.do("writer", "getMembership", map[string]any{"id": id})
		g.Expect(a.OK).To(BeTrue(), "the API serves the new membership: %+v", a.Error)
	}).WithContext(ctx).Should(Succeed())
	d.ok(&read, "writer", "getMembership", map[string]any{"id": id})
	Expect(read.CreatedAt).To(Equal(m.CreationTimestamp.UTC().Format(workos.TimeFormat)))

	By(d.flavor.name + ": updating its role (one slug)")
	d.ok(&got, "writer", "updateMembership", map[string]any{"id": id, "roleSlug": "admin"})
	m = memberIn(ctx, w.ns, id)
	Expect(m.Spec.Roles).To(Equal([]string{"admin"}))
	expectWrittenBy(m, w.writerName())
	expectAnswerResolves(got, expectResolved(ctx, w.ns, id, "admin"), w)

	By(d.flavor.name + ": updating its roles (several slugs)")
	d.ok(&got, "writer", "updateMembership", map[string]any{"id": id, "roleSlugs": []string{"viewer", "editor"}})
	m = memberIn(ctx, w.ns, id)
	Expect(m.Spec.Roles).To(ConsistOf("viewer", "editor"))
	expectWrittenBy(m, w.writerName())
	m = expectResolved(ctx, w.ns, id, "editor", "viewer")
	expectAnswerResolves(got, m, w)

	By(d.flavor.name + ": checks with the organization as the resource")
	waitServed(ctx, d, id, "editor")
	for _, perm := range []string{"settings:manage", "videos:create", "videos:edit", "videos:view", "videos:publish"} {
		for _, resource := range []map[string]any{nil, {"resourceExternalId": org, "resourceTypeSlug": "organization"}} {
			args := map[string]any{"id": id, "permissionSlug": perm}
			for k, v := range resource {
				args[k] = v
			}
			var res struct {
				Authorized bool `json:"authorized"`
			}
			d.ok(&res, "writer", "check", args)
			Expect(res.Authorized).To(Equal(allowedByStatus(m, perm)), "check %s %v", perm, resource)
		}
	}

	By(d.flavor.name + ": deactivating it")
	d.ok(&got, "writer", "deactivateMembership", map[string]any{"id": id})
	Expect(got.Status).To(Equal("inactive"))
	m = memberIn(ctx, w.ns, id)
	Expect(m.Spec.State).To(Equal(orgrbacv1alpha1.MembershipInactive))
	Expect(m.Spec.Roles).To(ConsistOf("viewer", "editor"), "deactivation keeps the roles")
	expectWrittenBy(m, w.writerName())
	Eventually(func(g Gomega) {
		var active, inactive []sdkWMembership
		d.okIn(g, &active, "writer", "listMemberships", map[string]any{"organizationId": org})
		d.okIn(g, &inactive, "writer", "listMemberships", map[string]any{"organizationId": org, "statuses": []string{"inactive"}})
		g.Expect(ids(active)).To(ConsistOf("acme-bob"), "the default list holds the active memberships")
		g.Expect(ids(inactive)).To(ConsistOf(id))
	}).WithContext(ctx).Should(Succeed())
	var res struct {
		Authorized bool `json:"authorized"`
	}
	d.ok(&res, "writer", "check", map[string]any{"id": id, "permissionSlug": "videos:view",
		"resourceExternalId": org, "resourceTypeSlug": "organization"})
	Expect(res.Authorized).To(BeFalse(), "an inactive membership grants nothing")

	By(d.flavor.name + ": reactivating it")
	d.ok(&got, "writer", "reactivateMembership", map[string]any{"id": id})
	Expect(got.Status).To(Equal("active"))
	m = memberIn(ctx, w.ns, id)
	Expect(m.Spec.State).To(Equal(orgrbacv1alpha1.MembershipActive))
	expectWrittenBy(m, w.writerName())
	expectAnswerResolves(got, expectResolved(ctx, w.ns, id, "editor", "viewer"), w)
	Eventually(func(g Gomega) {
		var both []sdkWMembership
		d.okIn(g, &both, "writer", "listMemberships", map[string]any{"organizationId": org, "statuses": []string{"active", "inactive"}})
		g.Expect(ids(both)).To(ConsistOf("acme-bob", id))
	}).WithContext(ctx).Should(Succeed())

	By(d.flavor.name + ": creating an organization role")
	var role sdkWRole
	d.ok(&role, "writer", "createOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer",
		"name": "Reviewer", "description": "Reviews videos"})
	Expect(role).To(Equal(sdkWRole{Object: "role", ID: role.ID, Name: "Reviewer", Slug: "org-reviewer",
		Description: new("Reviews videos"), Permissions: []string{}, ResourceTypeSlug: "organization", Type: "OrganizationRole"}))
	r := orgRole(ctx, w, "org-reviewer")
	Expect(r).NotTo(BeNil())
	Expect(r.Name).To(Equal(role.ID))
	Expect(r.Spec.DisplayName).To(Equal("Reviewer"))
	Expect(r.Spec.Description).To(Equal("Reviews videos"))
	Expect(r.Spec.Permissions).To(BeEmpty())
	expectWrittenBy(r, w.writerName())

	By(d.flavor.name + ": updating it")
	d.ok(&role, "writer", "updateOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer",
		"name": "Senior reviewer", "description": "Reviews and approves videos"})
	Expect(role.Name).To(Equal("Senior reviewer"))
	Expect(role.Description).To(Equal(new("Reviews and approves videos")))
	r = orgRole(ctx, w, "org-reviewer")
	Expect(r.Spec.DisplayName).To(Equal("Senior reviewer"))
	Expect(r.Spec.Description).To(Equal("Reviews and approves videos"))
	expectWrittenBy(r, w.writerName())

	By(d.flavor.name + ": adding, setting and removing its permissions")
	permsStep := func(op string, args map[string]any, want ...string) {
		GinkgoHelper()
		args["organizationId"], args["slug"] = org, "org-reviewer"
		if op == "removeOrganizationRolePermission" {
			d.ok(nil, "writer", op, args)
		} else {
			d.ok(&role, "writer", op, args)
			Expect(role.Permissions).To(ConsistOf(want), "%s answers the role", op)
			Expect(role.Slug).To(Equal("org-reviewer"))
		}
		r := orgRole(ctx, w, "org-reviewer")
		Expect(r.Spec.Permissions).To(ConsistOf(want), "after %s", op)
		expectWrittenBy(r, w.writerName())
	}
	permsStep("addOrganizationRolePermission", map[string]any{"permissionSlug": "videos:review"}, "videos:review")
	permsStep("addOrganizationRolePermission", map[string]any{"permissionSlug": "videos:view"}, "videos:review", "videos:view")
	permsStep("addOrganizationRolePermission", map[string]any{"permissionSlug": "videos:view"}, "videos:review", "videos:view")
	permsStep("setOrganizationRolePermissions", map[string]any{"permissions": []string{"videos:view", "videos:comment"}},
		"videos:view", "videos:comment")
	permsStep("removeOrganizationRolePermission", map[string]any{"permissionSlug": "videos:comment"}, "videos:view")
	Eventually(func(g Gomega) {
		var got sdkWRole
		d.okIn(g, &got, "writer", "getOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer"})
		g.Expect(got.Permissions).To(Equal([]string{"videos:view"}))
		g.Expect(got.Name).To(Equal("Senior reviewer"))
		g.Expect(got.ResourceTypeSlug).To(Equal("organization"))
	}).WithContext(ctx).Should(Succeed())
	var roles []sdkWRole
	d.ok(&roles, "writer", "listOrganizationRoles", map[string]any{"organizationId": org})
	slugs := []string{}
	for _, r := range roles {
		slugs = append(slugs, r.Slug)
		Expect(r.ResourceTypeSlug).To(Equal("organization"), r.Slug)
	}
	Expect(slugs).To(ContainElements("org-reviewer", "org-lead", "admin", "editor", "member", "viewer"))

	By(d.flavor.name + ": an organization role in use is not deleted (409)")
	d.ok(&got, "writer", "updateMembership", map[string]any{"id": id, "roleSlug": "org-reviewer"})
	expectAnswerResolves(got, expectResolved(ctx, w.ns, id, "org-reviewer"), w)
	waitServed(ctx, d, id, "org-reviewer")
	e = d.fails("writer", "deleteOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer"})
	Expect(e.kind()).To(Equal(d.flavor.conflict))
	Expect(e.Status).To(Equal(http.StatusConflict))
	Expect(e.code()).To(Equal("role_has_assignments"))
	Expect(orgRole(ctx, w, "org-reviewer").DeletionTimestamp).To(BeNil())

	mapping := &orgrbacv1alpha1.GroupMapping{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "acme-reviewers"},
		Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "acme", Source: orgrbacv1alpha1.GroupSourceDirectory,
			Group: "reviewers", Role: "org-reviewer"}}
	Expect(k8s.Create(ctx, mapping)).To(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(mapping), mapping)).To(Succeed())
		g.Expect(mapping.Status.ObservedGeneration).To(Equal(mapping.Generation))
	}).WithContext(ctx).Should(Succeed(), "the manager saw the mapping")
	d.ok(&got, "writer", "updateMembership", map[string]any{"id": id, "roleSlug": "viewer"})
	expectAnswerResolves(got, expectResolved(ctx, w.ns, id, "viewer"), w)
	waitServed(ctx, d, id, "viewer")
	e = d.fails("writer", "deleteOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer"})
	Expect(e.kind()).To(Equal(d.flavor.conflict))
	Expect(e.Status).To(Equal(http.StatusConflict))
	Expect(e.code()).To(Equal("role_has_group_role_mappings"))
	Expect(orgRole(ctx, w, "org-reviewer").DeletionTimestamp).To(BeNil())

	By(d.flavor.name + ": deleting the organization role once nothing uses it")
	Expect(k8s.Delete(ctx, mapping)).To(Succeed())
	Eventually(func(g Gomega) {
		// A 409 changes nothing: retried until the API no longer sees the mapping.
		a := d.do("writer", "deleteOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer"})
		g.Expect(a.Error).To(BeNil())
	}).WithContext(ctx).Should(Succeed())
	Eventually(func() *orgrbacv1alpha1.OrganizationRole { return orgRole(ctx, w, "org-reviewer") }).
		WithContext(ctx).Should(BeNil(), "the OrganizationRole is gone")
	Eventually(func(g Gomega) {
		// Retried until the API's cache has seen the deletion.
		a := d.do("writer", "getOrganizationRole", map[string]any{"organizationId": org, "slug": "org-reviewer"})
		g.Expect(a.OK).To(BeFalse(), "the role is still served: %s", a.Value)
		g.Expect(a.Error).NotTo(BeNil())
		g.Expect(a.Error.kind()).To(Equal(d.flavor.notFound))
	}).WithContext(ctx).Should(Succeed())

	By(d.flavor.name + ": deleting the membership")
	d.ok(nil, "writer", "deleteMembership", map[string]any{"id": id})
	Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: id}, &orgrbacv1alpha1.Membership{}))
	}).WithContext(ctx).Should(BeTrue(), "the Membership is gone")
	Expect(membershipsOf(ctx, w, "user_new")).To(BeEmpty())
	Eventually(func(g Gomega) {
		// Retried until the API's cache has seen the deletion.
		a := d.do("writer", "getMembership", map[string]any{"id": id})
		g.Expect(a.OK).To(BeFalse(), "the membership is still served: %s", a.Value)
		g.Expect(a.Error).NotTo(BeNil())
		g.Expect(a.Error.kind()).To(Equal(d.flavor.notFound))
		g.Expect(a.Error.code()).To(Equal("entity_not_found"))
	}).WithContext(ctx).Should(Succeed())

	By(d.flavor.name + ": a caller without the write RBAC gets 403 on every write, and nothing is written")
	before := worldVersions(ctx, w.ns)
	for _, c := range []struct {
		op   string
		args map[string]any
	}{
		{"createMembership", map[string]any{"organizationId": org, "userId": "user_mallory", "roleSlug": "admin"}},
		{"updateMembership", map[string]any{"id": "acme-bob", "roleSlug": "admin"}},
		{"updateMembership", map[string]any{"id": "acme-bob", "roleSlugs": []string{"admin", "editor"}}},
		{"deactivateMembership", map[string]any{"id": "acme-bob"}},
		{"reactivateMembership", map[string]any{"id": "acme-bob"}},
		{"deleteMembership", map[string]any{"id": "acme-bob"}},
		{"createOrganizationRole", map[string]any{"organizationId": org, "slug": "org-mallory", "name": "Mallory"}},
		{"updateOrganizationRole", map[string]any{"organizationId": org, "slug": "org-lead", "name": "Mallory"}},
		{"addOrganizationRolePermission", map[string]any{"organizationId": org, "slug": "org-lead", "permissionSlug": "settings:manage"}},
		{"setOrganizationRolePermissions", map[string]any{"organizationId": org, "slug": "org-lead", "permissions": []string{"settings:manage"}}},
		{"removeOrganizationRolePermission", map[string]any{"organizationId": org, "slug": "org-lead", "permissionSlug": "videos:publish"}},
		{"deleteOrganizationRole", map[string]any{"organizationId": org, "slug": "org-lead"}},
	} {
		e := d.fails("looker", c.op, c.args)
		Expect(e.kind()).To(Equal(d.flavor.forbidden), "%s %v", c.op, c.args)
		Expect(e.Status).To(Equal(http.StatusForbidden), "%s %v", c.op, c.args)
		Expect(e.code()).To(Equal("forbidden"), "%s %v", c.op, c.args)
	}
	Consistently(func() map[string]string { return worldVersions(ctx, w.ns) }).WithContext(ctx).
		WithTimeout(time.Second).Should(Equal(before), "nothing was written")
}

// ids are the ids of SDK memberships.
func ids(ms []sdkWMembership) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// membership2 reads the Membership ns/name.
func memberIn(ctx context.Context, ns, name string) *orgrbacv1alpha1.Membership {
	GinkgoHelper()
	var m orgrbacv1alpha1.Membership
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &m)).To(Succeed())
	return &m
}

// waitServed waits until the API (through the SDK) serves the membership with
// the role: its index follows the cluster within moments.
func waitServed(ctx context.Context, d *sdkDriver, id, role string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var got sdkWMembership
		a := d.do("writer", "getMembership", map[string]any{"id": id})
		g.Expect(a.OK).To(BeTrue())
		g.Expect(json.Unmarshal(snakeKeys(a.Value), &got)).To(Succeed())
		g.Expect(got.Role).To(Equal(&workos.SlugRef{Slug: role}))
	}).WithContext(ctx).Should(Succeed(), "the API serves %s with role %s", id, role)
}

// mint mints an access token through the driver (a plain POST /v1/tokens with
// the caller's bearer) and checks WorkOS's answer shape.
func mint(d *sdkDriver, w *writesWorld, as, user string) string {
	GinkgoHelper()
	var t mintedToken
	d.ok(&t, as, "mintToken", map[string]any{"organization": w.orgID, "user": user})
	Expect(t.Status).To(Equal(http.StatusOK), "POST /v1/tokens as %s: %+v", as, t.Body)
	Expect(t.Body.TokenType).To(Equal("Bearer"))
	Expect(t.Body.ExpiresIn).To(Equal(int64(DefaultTokenTTL / time.Second)))
	Expect(t.Body.OrganizationID).To(Equal(w.orgID))
	Expect(strings.Count(t.Body.AccessToken, ".")).To(Equal(2), "a compact JWS")
	return t.Body.AccessToken
}

// expectClaims checks verified claims against the Membership's status.
func expectClaims(c tokenClaims, w *writesWorld, m *orgrbacv1alpha1.Membership, mintedAt time.Time) {
	GinkgoHelper()
	Expect(c.Issuer).To(Equal(baseURL))
	Expect(c.Subject).To(Equal(m.Spec.User))
	Expect(c.Audience).To(BeElementOf(w.ns, []any{w.ns}), "the audience is the environment's client id")
	Expect(c.OrgID).To(Equal(w.orgID))
	Expect(c.Role).To(Equal(m.Status.Role))
	Expect(c.Roles).To(Equal(m.Status.Roles))
	Expect(c.Permissions).To(Equal(slices.Sorted(slices.Values(m.Status.Permissions))))
	Expect(c.SessionID).NotTo(BeEmpty())
	Expect(c.ID).NotTo(BeEmpty())
	Expect(c.Expiry - c.IssuedAt).To(Equal(int64(DefaultTokenTTL / time.Second)))
	Expect(time.Unix(c.IssuedAt, 0)).To(BeTemporally("~", mintedAt, 5*time.Second))
}

// publicKeyIDs fetches the public key set anonymously, at the URL the SDKs
// build, and returns its key ids.
func publicKeyIDs(ns string) []string {
	GinkgoHelper()
	res, err := httpc.Get(baseURL + "/sso/jwks/" + ns)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	Expect(res.StatusCode).To(Equal(http.StatusOK))
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	Expect(json.NewDecoder(res.Body).Decode(&set)).To(Succeed())
	var kids []string
	for _, k := range set.Keys {
		Expect(k.D).To(BeEmpty(), "no private member is public")
		kids = append(kids, k.Kid)
	}
	sort.Strings(kids)
	return kids
}

// signingKeys reads the key ids and activeFrom times of the signing keys'
// Secret (its documented keys.json), oldest first.
func signingKeys(ctx context.Context) (kids []string, activeFrom []time.Time) {
	GinkgoHelper()
	var s corev1.Secret
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: tokenNS, Name: tokens.DefaultSecretName}, &s)).To(Succeed())
	var set struct {
		Keys []struct {
			Kid        string    `json:"kid"`
			ActiveFrom time.Time `json:"activeFrom"`
		} `json:"keys"`
	}
	Expect(json.Unmarshal(s.Data[tokens.DataKey], &set)).To(Succeed())
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
		activeFrom = append(activeFrom, k.ActiveFrom)
	}
	return kids, activeFrom
}

// stepKeyClock moves the signing keys' clock by d once the Rotator waits on
// it, and waits until it waits again (it has made its pass).
func stepKeyClock(d time.Duration) {
	GinkgoHelper()
	Eventually(keyClock.HasWaiters).Should(BeTrue(), "the Rotator waits for its next pass")
	keyClock.Step(d)
	Eventually(keyClock.HasWaiters).Should(BeTrue(), "the Rotator made its pass")
}

// rotation moves the keys' clock through one rotation of the signing key. It
// calls between(old, new) once the new key signs while the old one is still
// public, and returns the old and new key ids once the old one left the
// public set.
func rotation(ctx context.Context, ns string, between func(oldKid, newKid string)) (string, string) {
	GinkgoHelper()
	kids, activeFrom := signingKeys(ctx)
	Expect(kids).To(HaveLen(1), "one signing key before the rotation")
	oldKid := kids[0]
	Expect(publicKeyIDs(ns)).To(Equal([]string{oldKid}))

	By("the Rotator adds a key, published before it signs")
	due := activeFrom[0].Add(keyRotationPeriod - keyPublishDelay)
	stepKeyClock(due.Sub(keyClock.Now()))
	var newKid string
	Eventually(func(g Gomega) {
		kids, _ := signingKeys(ctx)
		g.Expect(kids).To(HaveLen(2))
		newKid = kids[1]
		g.Expect(publicKeyIDs(ns)).To(ConsistOf(oldKid, newKid))
	}).WithContext(ctx).Should(Succeed(), "the new key is public")

	By("the new key signs; the old one stays public for the overlap")
	stepKeyClock(keyPublishDelay)
	between(oldKid, newKid)

	By("the Rotator removes the old key after the overlap")
	stepKeyClock(keyOverlap)
	Eventually(func(g Gomega) {
		kids, _ := signingKeys(ctx)
		g.Expect(kids).To(Equal([]string{newKid}))
		g.Expect(publicKeyIDs(ns)).To(Equal([]string{newKid}))
	}).WithContext(ctx).Should(Succeed(), "the old key left the public set")
	return oldKid, newKid
}

// jwtHeader decodes a compact JWS's header without verifying anything.
func jwtHeader(token string) (alg, kid string) {
	GinkgoHelper()
	head, _, _ := strings.Cut(token, ".")
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	data, err := base64.RawURLEncoding.DecodeString(head)
	Expect(err).NotTo(HaveOccurred())
	Expect(json.Unmarshal(data, &h)).To(Succeed())
	return h.Alg, h.Kid
}

// nodeMethods names the Node SDK method of each driver operation.
var nodeMethods = map[string]string{
	"createMembership":                 "userManagement.createOrganizationMembership",
	"updateMembership":                 "userManagement.updateOrganizationMembership",
	"deactivateMembership":             "userManagement.deactivateOrganizationMembership",
	"reactivateMembership":             "userManagement.reactivateOrganizationMembership",
	"deleteMembership":                 "userManagement.deleteOrganizationMembership",
	"getMembership":                    "userManagement.getOrganizationMembership",
	"listMemberships":                  "userManagement.listOrganizationMemberships (autoPagination)",
	"createOrganizationRole":           "authorization.createOrganizationRole",
	"updateOrganizationRole":           "authorization.updateOrganizationRole",
	"addOrganizationRolePermission":    "authorization.addOrganizationRolePermission",
	"setOrganizationRolePermissions":   "authorization.setOrganizationRolePermissions",
	"removeOrganizationRolePermission": "authorization.removeOrganizationRolePermission",
	"deleteOrganizationRole":           "authorization.deleteOrganizationRole",
	"getOrganizationRole":              "authorization.getOrganizationRole",
	"listOrganizationRoles":            "authorization.listOrganizationRoles",
	"check":                            "authorization.check",
	"getOrganization":                  "organizations.getOrganization",
	"getOrganizationByExternalId":      "organizations.getOrganizationByExternalId",
	"listOrganizations":                "organizations.listOrganizations (autoPagination)",
	"mintToken":                        "fetch POST /v1/tokens",
	"verifyToken":                      "userManagement.getJwksUrl + jose.createRemoteJWKSet + jose.jwtVerify",
}

var _ = Describe("The official WorkOS Node SDK's writes and access tokens", Ordered, func() {
	var (
		w      *writesWorld
		d      *sdkDriver
		caFile string
	)

	BeforeAll(func(ctx SpecContext) {
		sdkVersion := sdkVersion()
		sdkDir := installSDK(ctx, sdkVersion)
		joseVersion := npmPackage("jose")
		joseDir := installNPM(ctx, "jose", joseVersion)
		AddReportEntry("Node SDK versions", fmt.Sprintf("@workos-inc/node %s, jose %s", sdkVersion, joseVersion))

		w = createWritesWorld(ctx, "sdk-node-writes", "org_01NODEWRITES")
		caFile = filepath.Join(GinkgoT().TempDir(), "ca.crt")
		Expect(os.WriteFile(caFile, srv.CertificatePEM(), 0o600)).To(Succeed())
		_, port, err := net.SplitHostPort(strings.TrimPrefix(baseURL, "https://"))
		Expect(err).NotTo(HaveOccurred())
		tokensJSON, err := json.Marshal(w.tokens)
		Expect(err).NotTo(HaveOccurred())
		// The driver lives as long as the container: not the spec's context.
		cmd := exec.Command("node", filepath.Join(sdkAssets, "writes.mjs"))
		cmd.Env = append(os.Environ(),
			"NODE_EXTRA_CA_CERTS="+caFile,
			"WORKOS_SDK_DIR="+sdkDir,
			"JOSE_DIR="+joseDir,
			"WORKOS_PORT="+port,
			"WORKOS_TOKENS="+string(tokensJSON),
		)
		d = startDriver(sdkFlavor{name: "@workos-inc/node", version: sdkVersion, forbidden: "GenericServerException",
			notFound: "NotFoundException", conflict: "ConflictException", methods: nodeMethods}, cmd)
		var v struct {
			SDK, Jose, Node string
		}
		d.ok(&v, "writer", "version", nil)
		Expect(v.SDK).To(Equal(sdkVersion))
		Expect(v.Jose).To(Equal(joseVersion))
		AddReportEntry("Node.js", v.Node)
		DeferCleanup(d.report)
	}, NodeTimeout(5*time.Minute))

	It("creates, updates, deactivates, reactivates and deletes memberships and organization roles, reads organizations and checks with the organization as resource", func(ctx SpecContext) {
		runWritesScenario(ctx, d, w)
	}, NodeTimeout(5*time.Minute))

	It("mints access tokens that jose verifies against the key set at the SDK's JWKS URL, through a key rotation", func(ctx SpecContext) {
		bob := expectResolved(ctx, w.ns, "acme-bob", "editor")
		verify := func(token string, opts map[string]any) sdkAnswer {
			GinkgoHelper()
			args := map[string]any{"token": token, "clientId": w.ns, "issuer": baseURL, "audience": w.ns}
			for k, v := range opts {
				args[k] = v
			}
			return d.do("writer", "verifyToken", args)
		}
		verified := func(token string) (tokenClaims, string) {
			GinkgoHelper()
			a := verify(token, nil)
			Expect(a.Error).To(BeNil(), "jose verifies the token")
			// The claims keep their names: no snake_case conversion here.
			var out struct {
				JwksURL         string            `json:"jwksUrl"`
				Payload         tokenClaims       `json:"payload"`
				ProtectedHeader map[string]string `json:"protectedHeader"`
			}
			Expect(json.Unmarshal(a.Value, &out)).To(Succeed())
			Expect(out.JwksURL).To(Equal(baseURL+"/sso/jwks/"+w.ns), "the SDK's getJwksUrl(clientId)")
			Expect(out.ProtectedHeader).To(HaveKeyWithValue("alg", "RS256"))
			Expect(out.ProtectedHeader).To(HaveKey("kid"))
			return out.Payload, out.ProtectedHeader["kid"]
		}
		refused := func(token string, opts map[string]any) *sdkCallError {
			GinkgoHelper()
			a := verify(token, opts)
			Expect(a.OK).To(BeFalse(), "jose refuses the token: %s", a.Value)
			return a.Error
		}

		By("minting a token for a member and verifying it")
		start := time.Now()
		t1 := mint(d, w, "minter", "user_bob")
		claims, kid1 := verified(t1)
		expectClaims(claims, w, bob, start)

		By("a caller without create accesstokens gets 403")
		for _, as := range []string{"writer", "looker"} {
			var t mintedToken
			d.ok(&t, as, "mintToken", map[string]any{"organization": w.orgID, "user": "user_bob"})
			Expect(t.Status).To(Equal(http.StatusForbidden), "as %s", as)
			Expect(t.Body.Code).To(Equal("forbidden"))
			Expect(t.Body.AccessToken).To(BeEmpty())
		}

		By("the token is refused after it expires, and for another audience or issuer")
		Expect(refused(t1, map[string]any{"at": claims.Expiry + 1}).code()).To(Equal("ERR_JWT_EXPIRED"))
		_, _ = verified(t1) // still good now
		Expect(verify(t1, map[string]any{"at": claims.Expiry - 1}).OK).To(BeTrue(), "good until it expires")
		Expect(refused(t1, map[string]any{"audience": envNS}).code()).To(Equal("ERR_JWT_CLAIM_VALIDATION_FAILED"))
		Expect(refused(t1, map[string]any{"issuer": "https://elsewhere.example"}).code()).To(Equal("ERR_JWT_CLAIM_VALIDATION_FAILED"))

		var t2 string
		oldKid, newKid := rotation(ctx, w.ns, func(oldKid, newKid string) {
			Expect(oldKid).To(Equal(kid1))
			t2 = mint(d, w, "minter", "user_bob")
			_, kid2 := verified(t2)
			Expect(kid2).To(Equal(newKid), "the new key signs")
			_, kid := verified(t1)
			Expect(kid).To(Equal(oldKid), "a token of the old key verifies during the overlap")
		})
		By("a token of the old key is refused once the key left the set; the new key's still verifies")
		Expect(refused(t1, nil).code()).To(Equal("ERR_JWKS_NO_MATCHING_KEY"))
		_, kid := verified(t2)
		Expect(kid).To(Equal(newKid))
		Expect(newKid).NotTo(Equal(oldKid))
	}, NodeTimeout(5*time.Minute))
})

// readAll reads what kubectl printed.
func readAll(r io.Reader) string {
	GinkgoHelper()
	data, err := io.ReadAll(r)
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}
