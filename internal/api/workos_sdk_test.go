//go:build envtest

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// sdkAssets holds the Node script and the pinned SDK version.
var sdkAssets = filepath.Join("..", "..", "test", "workos-sdk")

// sdkVersion reads the pinned @workos-inc/node version from test/workos-sdk/package.json.
func sdkVersion() string {
	GinkgoHelper()
	return npmPackage("@workos-inc/node")
}

// npmPackage reads the pinned version of a dependency of test/workos-sdk/package.json.
func npmPackage(name string) string {
	GinkgoHelper()
	v, err := testenv.NPMPin(name)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// installSDK installs the pinned SDK from npm into the cache (once) and returns
// its npm prefix. A missing node or npm, or an unreachable registry, fails the
// test: it never skips.
func installSDK(ctx context.Context, version string) string {
	GinkgoHelper()
	return installNPM(ctx, "@workos-inc/node", version)
}

// installNPM installs the npm package name at version (testenv.InstallNPM).
func installNPM(ctx context.Context, name, version string) string {
	GinkgoHelper()
	dir, err := testenv.InstallNPM(ctx, name, version)
	Expect(err).NotTo(HaveOccurred())
	return dir
}

// The SDK's deserialized objects, as check.mjs prints them.
type sdkMembership struct {
	Object           string           `json:"object"`
	ID               string           `json:"id"`
	UserID           string           `json:"userId"`
	OrganizationID   string           `json:"organizationId"`
	OrganizationName string           `json:"organizationName"`
	Status           string           `json:"status"`
	Role             *workos.SlugRef  `json:"role"`
	Roles            []workos.SlugRef `json:"roles"`
	DirectoryManaged bool             `json:"directoryManaged"`
	CreatedAt        string           `json:"createdAt"`
	UpdatedAt        string           `json:"updatedAt"`
}

type sdkRole struct {
	Object      string   `json:"object"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Slug        string   `json:"slug"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	// ResourceTypeSlug is "organization", as WorkOS's (SDK 11 maps it).
	ResourceTypeSlug string `json:"resourceTypeSlug"`
	Type             string `json:"type"`
	CreatedAt        string `json:"createdAt"`
}

type sdkError struct {
	Name   string  `json:"name"`
	Status int     `json:"status"`
	Code   *string `json:"code"`
}

type sdkOutput struct {
	SDKVersion string `json:"sdkVersion"`
	Pages      []struct {
		IDs          []string `json:"ids"`
		ListMetadata struct {
			Before *string `json:"before"`
			After  *string `json:"after"`
		} `json:"listMetadata"`
	} `json:"pages"`
	ByOrganization    []sdkMembership `json:"byOrganization"`
	ByUser            []sdkMembership `json:"byUser"`
	Inactive          []string        `json:"inactive"`
	Membership        sdkMembership   `json:"membership"`
	EnvironmentRoles  []sdkRole       `json:"environmentRoles"`
	EnvironmentRole   sdkRole         `json:"environmentRole"`
	OrganizationRoles []sdkRole       `json:"organizationRoles"`
	OrganizationRole  sdkRole         `json:"organizationRole"`
	Checks            map[string]bool `json:"checks"`
	NotFound          *sdkError       `json:"notFound"`
	Unauthorized      *sdkError       `json:"unauthorized"`
}

var _ = Describe("The official WorkOS Node SDK", func() {
	It("works unchanged against the API, with answers equal to the Membership statuses", func(ctx SpecContext) {
		version := sdkVersion()
		sdkDir := installSDK(ctx, version)

		caFile := filepath.Join(GinkgoT().TempDir(), "ca.crt")
		Expect(os.WriteFile(caFile, srv.CertificatePEM(), 0o600)).To(Succeed())
		_, port, err := net.SplitHostPort(strings.TrimPrefix(baseURL, "https://"))
		Expect(err).NotTo(HaveOccurred())

		var ms orgrbacv1alpha1.MembershipList
		Expect(k8s.List(ctx, &ms, client.InNamespace(envNS))).To(Succeed())
		byName := map[string]*orgrbacv1alpha1.Membership{}
		var acme []*orgrbacv1alpha1.Membership
		for i := range ms.Items {
			m := &ms.Items[i]
			byName[m.Name] = m
			if m.Spec.Organization == "acme" {
				acme = append(acme, m)
			}
		}
		// WorkOS lists newest first by default.
		slices.SortFunc(acme, func(a, b *orgrbacv1alpha1.Membership) int {
			if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(b.Name, a.Name)
		})
		var acmeIDs, checks []string
		for _, m := range acme {
			// The default list holds the active memberships only, as WorkOS's:
			// the inactive and pending ones are listed when statuses asks. Every
			// membership is checked.
			if m.Spec.State == "" || m.Spec.State == orgrbacv1alpha1.MembershipActive {
				acmeIDs = append(acmeIDs, m.Name)
			}
			for _, p := range []string{"settings:manage", "videos:create", "videos:publish", "videos:view"} {
				checks = append(checks, m.Name+"/"+p)
			}
		}

		cmd := exec.CommandContext(ctx, "node", filepath.Join(sdkAssets, "check.mjs"))
		cmd.Env = append(os.Environ(),
			"NODE_EXTRA_CA_CERTS="+caFile,
			"WORKOS_SDK_DIR="+sdkDir,
			"WORKOS_API_KEY="+appToken,
			"WORKOS_PORT="+port,
			"ORG_ID="+acmeID,
			"USER_ID=user_alice",
			"MEMBERSHIP_ID=acme-bob",
			"ORG_ROLE=org-video-producer",
			"ENV_ROLE=admin",
			"CHECKS="+strings.Join(checks, ","),
		)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		Expect(cmd.Run()).To(Succeed(), "node check.mjs: %s", stderr.String())
		AddReportEntry("WorkOS SDK script duration", time.Since(start).String())
		var out sdkOutput
		Expect(json.Unmarshal(stdout.Bytes(), &out)).To(Succeed(), "output %s", stdout.String())
		Expect(out.SDKVersion).To(Equal(version))
		AddReportEntry("WorkOS Node SDK", "@workos-inc/node "+version)
		AddReportEntry("@workos-inc/node calls exercised by check.mjs", strings.Join([]string{
			"userManagement.listOrganizationMemberships (pages by hand, autoPagination, by user, statuses)",
			"userManagement.getOrganizationMembership", "authorization.listEnvironmentRoles",
			"authorization.getEnvironmentRole", "authorization.listOrganizationRoles", "authorization.getOrganizationRole",
			"authorization.check"}, "\n"))

		expectMembership := func(got sdkMembership) {
			GinkgoHelper()
			m := byName[got.ID]
			Expect(m).NotTo(BeNil(), "membership %s exists", got.ID)
			Expect(got.Object).To(Equal("organization_membership"))
			Expect(got.UserID).To(Equal(m.Spec.User))
			wantStatus := map[orgrbacv1alpha1.MembershipState]string{"": "active", "Active": "active",
				"Inactive": "inactive", "Pending": "pending"}[m.Spec.State]
			Expect(got.Status).To(Equal(wantStatus), got.ID)
			Expect(got.Role).To(Equal(&workos.SlugRef{Slug: m.Status.Role}), got.ID)
			var roles []string
			for _, r := range got.Roles {
				roles = append(roles, r.Slug)
			}
			Expect(roles).To(Equal(m.Status.Roles), got.ID)
			Expect(got.CreatedAt).To(Equal(m.CreationTimestamp.UTC().Format(workos.TimeFormat)))
			Expect(got.UpdatedAt).NotTo(BeEmpty())
			if m.Spec.Organization == "acme" {
				Expect(got.OrganizationID).To(Equal(acmeID))
				Expect(got.OrganizationName).To(Equal("Acme Inc."))
			}
		}

		By("listing memberships by organization, page by page and with auto-pagination")
		var paged []string
		for i, p := range out.Pages {
			paged = append(paged, p.IDs...)
			Expect(p.ListMetadata.Before == nil).To(Equal(i == 0), "page %d before cursor", i)
			Expect(p.ListMetadata.After == nil).To(Equal(i == len(out.Pages)-1), "page %d after cursor", i)
		}
		Expect(out.Pages).To(HaveLen(3)) // 5 active memberships of acme, 2 a page
		Expect(paged).To(Equal(acmeIDs))
		var all []string
		for _, m := range out.ByOrganization {
			expectMembership(m)
			all = append(all, m.ID)
		}
		Expect(all).To(Equal(acmeIDs))
		Expect(out.Inactive).To(Equal([]string{"acme-erin"}))

		By("listing memberships by user and getting one")
		Expect(out.ByUser).To(HaveLen(2))
		for _, m := range out.ByUser {
			expectMembership(m)
			Expect(m.UserID).To(Equal("user_alice"))
		}
		expectMembership(out.Membership)
		Expect(out.Membership.ID).To(Equal("acme-bob"))

		By("listing environment and organization roles")
		var roles orgrbacv1alpha1.RoleList
		Expect(k8s.List(ctx, &roles, client.InNamespace(envNS))).To(Succeed())
		rolePerms := map[string][]string{}
		for _, r := range roles.Items {
			rolePerms[r.EffectiveSlug()] = slices.Sorted(slices.Values(r.Spec.Permissions))
		}
		var slugs []string
		for _, r := range out.EnvironmentRoles {
			slugs = append(slugs, r.Slug)
			Expect(r.Object).To(Equal("role"))
			Expect(r.Type).To(Equal("EnvironmentRole"))
			Expect(r.ResourceTypeSlug).To(Equal("organization"), r.Slug)
			Expect(r.Permissions).To(Equal(rolePerms[r.Slug]), r.Slug)
		}
		Expect(slugs).To(Equal([]string{"admin", "editor", "member", "viewer"}))
		Expect(out.EnvironmentRole.Slug).To(Equal("admin"))
		Expect(out.EnvironmentRole.Name).To(Equal("Admin"))
		Expect(out.EnvironmentRole.Permissions).To(Equal(rolePerms["admin"]))
		slugs = nil
		for _, r := range out.OrganizationRoles {
			slugs = append(slugs, r.Slug)
			Expect(r.ResourceTypeSlug).To(Equal("organization"), r.Slug)
		}
		Expect(slugs).To(Equal([]string{"org-video-producer", "admin", "editor", "member", "viewer"}))
		Expect(out.OrganizationRole).To(Equal(sdkRole{Object: "role", ID: "acme-producer", Name: "Video producer",
			Slug: "org-video-producer", Permissions: []string{"videos:create", "videos:publish"}, ResourceTypeSlug: "organization",
			Type: "OrganizationRole", CreatedAt: out.OrganizationRole.CreatedAt}))

		By("checking permissions")
		Expect(out.Checks).To(HaveLen(len(checks)))
		granted := 0
		for key, authorized := range out.Checks {
			name, perm, _ := strings.Cut(key, "/")
			Expect(authorized).To(Equal(allowedByStatus(byName[name], perm)), key)
			if authorized {
				granted++
			}
		}
		Expect(granted).To(BeNumerically(">", 0))
		Expect(granted).To(BeNumerically("<", len(checks)))

		By("mapping errors to the SDK's exceptions")
		Expect(out.NotFound).To(Equal(&sdkError{Name: "NotFoundException", Status: 404, Code: new("entity_not_found")}))
		Expect(out.Unauthorized).NotTo(BeNil())
		Expect(out.Unauthorized.Name).To(Equal("UnauthorizedException"))
		Expect(out.Unauthorized.Status).To(Equal(401))
		GinkgoWriter.Println(fmt.Sprintf("@workos-inc/node %s: %d memberships, %d checks", version, len(all), len(checks)))
	}, NodeTimeout(4*time.Minute))
})
