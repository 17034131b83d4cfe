//go:build envtest

package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

// goSDKModule is the module of the Go SDK driver (its own module, so the
// operator's module does not depend on the SDK).
var goSDKModule = filepath.Join("..", "..", "test", "workos-go")

// goSDKVersion reads the workos-go version test/workos-go/go.mod requires.
func goSDKVersion() string {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(goSDKModule, "go.mod"))
	Expect(err).NotTo(HaveOccurred())
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/workos/workos-go/v9 (v\S+)$`).FindSubmatch(data)
	Expect(m).NotTo(BeNil(), "test/workos-go/go.mod requires workos-go v9")
	return string(m[1])
}

// buildGoSDKDriver builds the driver with the go command running the suite,
// from the committed go.mod and go.sum only (-mod=readonly: a missing sum
// fails instead of being looked up), and returns the binary.
func buildGoSDKDriver(ctx context.Context) string {
	GinkgoHelper()
	bin := filepath.Join(GinkgoT().TempDir(), "workos-go")
	Expect(testenv.BuildWorkOSGo(ctx, bin)).To(Succeed())
	return bin
}

// goMethods names the Go SDK method of each driver operation.
var goMethods = map[string]string{
	"createMembership":                 "OrganizationMembership().Create",
	"updateMembership":                 "OrganizationMembership().Update",
	"deactivateMembership":             "OrganizationMembership().Deactivate",
	"reactivateMembership":             "OrganizationMembership().Reactivate",
	"deleteMembership":                 "OrganizationMembership().Delete",
	"getMembership":                    "OrganizationMembership().Get",
	"listMemberships":                  "OrganizationMembership().List (Iterator)",
	"createOrganizationRole":           "Authorization().CreateOrganizationRole",
	"updateOrganizationRole":           "Authorization().UpdateOrganizationRole",
	"addOrganizationRolePermission":    "Authorization().AddOrganizationRolePermission",
	"setOrganizationRolePermissions":   "Authorization().SetOrganizationRolePermissions",
	"removeOrganizationRolePermission": "Authorization().RemoveOrganizationRolePermission",
	"deleteOrganizationRole":           "Authorization().DeleteOrganizationRole",
	"getOrganizationRole":              "Authorization().GetOrganizationRole",
	"listOrganizationRoles":            "Authorization().ListOrganizationRoles",
	"check":                            "Authorization().Check",
	"getOrganization":                  "Organizations().Get",
	"getOrganizationByExternalId":      "Organizations().GetByExternalID",
	"listOrganizations":                "Organizations().List (Iterator)",
	"jwksUrl":                          "workos.GetJWKSURL, Client.JWKSURLFromClient",
	"getJwks":                          "UserManagement().GetJWKS",
	"mintToken":                        "net/http POST /v1/tokens",
}

var _ = Describe("The official WorkOS Go SDK", Ordered, func() {
	var (
		w *writesWorld
		d *sdkDriver
	)

	BeforeAll(func(ctx SpecContext) {
		version := goSDKVersion()
		bin := buildGoSDKDriver(ctx)
		AddReportEntry("WorkOS Go SDK", "github.com/workos/workos-go/v9 "+version)

		w = createWritesWorld(ctx, "sdk-go-writes", "org_01GOWRITES")
		caFile := filepath.Join(GinkgoT().TempDir(), "ca.crt")
		Expect(os.WriteFile(caFile, srv.CertificatePEM(), 0o600)).To(Succeed())
		_, port, err := net.SplitHostPort(strings.TrimPrefix(baseURL, "https://"))
		Expect(err).NotTo(HaveOccurred())
		tokensJSON, err := json.Marshal(w.tokens)
		Expect(err).NotTo(HaveOccurred())
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "WORKOS_PORT="+port, "WORKOS_CA_FILE="+caFile, "WORKOS_TOKENS="+string(tokensJSON))
		d = startDriver(sdkFlavor{name: "workos-go", version: version, forbidden: "*workos.APIError",
			notFound: "*workos.NotFoundError", conflict: "*workos.APIError", methods: goMethods}, cmd)
		var v struct{ SDK string }
		d.ok(&v, "writer", "version", nil)
		Expect(v.SDK).To(Equal(version))
		DeferCleanup(d.report)
	}, NodeTimeout(5*time.Minute))

	It("creates, updates, deactivates, reactivates and deletes memberships and organization roles, reads organizations and checks with the organization as resource", func(ctx SpecContext) {
		runWritesScenario(ctx, d, w)
	}, NodeTimeout(5*time.Minute))

	It("mints access tokens that pkg/authz verifies against the key set at the SDK's JWKS URL, through a key rotation", func(ctx SpecContext) {
		bob := expectResolved(ctx, w.ns, "acme-bob", "editor")

		By("the SDK builds the key set's URL and reads the public keys there")
		var urls struct {
			URL        string `json:"url"`
			FromClient string `json:"from_client"`
		}
		d.ok(&urls, "writer", "jwksUrl", map[string]any{"clientId": w.ns})
		Expect(urls.URL).To(Equal(baseURL + "/sso/jwks/" + w.ns))
		Expect(urls.FromClient).To(Equal(urls.URL))
		var set struct {
			Keys []struct {
				Alg, Kty, Use, N, E string
			} `json:"keys"`
		}
		d.ok(&set, "writer", "getJwks", map[string]any{"clientId": w.ns})
		Expect(set.Keys).To(HaveLen(len(publicKeyIDs(w.ns))))
		for _, k := range set.Keys {
			Expect(k.Alg).To(Equal("RS256"))
			Expect(k.Kty).To(Equal("RSA"))
			Expect(k.Use).To(Equal("sig"))
			Expect(k.N).NotTo(BeEmpty())
			Expect(k.E).NotTo(BeEmpty())
		}

		verifier, err := authz.NewTokenVerifier(authz.VerifierOptions{JWKSURL: urls.URL, Issuer: baseURL, Audience: w.ns,
			HTTPClient: httpc})
		Expect(err).NotTo(HaveOccurred())
		verified := func(token string) (tokenClaims, string) {
			GinkgoHelper()
			c, err := verifier.Verify(ctx, token)
			Expect(err).NotTo(HaveOccurred(), "pkg/authz verifies the token")
			_, kid := jwtHeader(token)
			return tokenClaims{Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, OrgID: c.OrgID, Role: c.Role,
				Roles: c.Roles, Permissions: c.Permissions, SessionID: c.SessionID, ID: c.ID, IssuedAt: c.IssuedAt,
				Expiry: c.Expiry}, kid
		}

		By("minting a token for a member and verifying it")
		start := time.Now()
		t1 := mint(d, w, "minter", "user_bob")
		claims, kid1 := verified(t1)
		expectClaims(claims, w, bob, start)
		alg, _ := jwtHeader(t1)
		Expect(alg).To(Equal("RS256"))

		By("a caller without create accesstokens gets 403")
		for _, as := range []string{"writer", "looker"} {
			var t mintedToken
			d.ok(&t, as, "mintToken", map[string]any{"organization": w.orgID, "user": "user_bob"})
			Expect(t.Status).To(Equal(http.StatusForbidden), "as %s", as)
			Expect(t.Body.Code).To(Equal("forbidden"))
		}

		By("the token is refused after it expires")
		at := func(unix int64) authz.VerifierOptions {
			return authz.VerifierOptions{JWKSURL: urls.URL, Issuer: baseURL, Audience: w.ns, HTTPClient: httpc,
				Leeway: -1, Clock: func() time.Time { return time.Unix(unix, 0) }}
		}
		late, err := authz.NewTokenVerifier(at(claims.Expiry + 1))
		Expect(err).NotTo(HaveOccurred())
		_, err = late.Verify(ctx, t1)
		Expect(err).To(MatchError(authz.ErrInvalidToken))
		Expect(err).To(MatchError(ContainSubstring("expired")))
		inTime, err := authz.NewTokenVerifier(at(claims.Expiry - 1))
		Expect(err).NotTo(HaveOccurred())
		_, err = inTime.Verify(ctx, t1)
		Expect(err).NotTo(HaveOccurred(), "good until it expires")

		By("a verifier for another audience or issuer refuses it")
		for _, o := range []authz.VerifierOptions{
			{JWKSURL: urls.URL, Issuer: baseURL, Audience: envNS, HTTPClient: httpc},
			{JWKSURL: urls.URL, Issuer: "https://elsewhere.example", Audience: w.ns, HTTPClient: httpc},
		} {
			other, err := authz.NewTokenVerifier(o)
			Expect(err).NotTo(HaveOccurred())
			_, err = other.Verify(ctx, t1)
			Expect(err).To(MatchError(authz.ErrInvalidToken), "audience %s, issuer %s", o.Audience, o.Issuer)
		}

		var t2 string
		oldKid, newKid := rotation(ctx, w.ns, func(oldKid, newKid string) {
			Expect(oldKid).To(Equal(kid1))
			t2 = mint(d, w, "minter", "user_bob")
			Expect(verifier.Refresh(ctx)).To(Succeed())
			_, kid2 := verified(t2)
			Expect(kid2).To(Equal(newKid), "the new key signs")
			_, kid := verified(t1)
			Expect(kid).To(Equal(oldKid), "a token of the old key verifies during the overlap")
		})
		By("a token of the old key is refused once the key left the set; the new key's still verifies")
		Expect(verifier.Refresh(ctx)).To(Succeed())
		_, err = verifier.Verify(ctx, t1)
		Expect(err).To(MatchError(authz.ErrInvalidToken), "the old key is no longer trusted")
		Expect(err).To(MatchError(ContainSubstring("unknown kid")))
		_, kid := verified(t2)
		Expect(kid).To(Equal(newKid))
		Expect(newKid).NotTo(Equal(oldKid))
	}, NodeTimeout(5*time.Minute))
})
