//go:build envtest

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

// expectWorkOSWrites: a writer creates a Membership through the WorkOS route,
// which kubectl shows with its caller; a caller without the role is refused
// and nothing is written.
func expectWorkOSWrites(ctx context.Context, leader *manager) {
	GinkgoHelper()
	{
		kubectl("create", "serviceaccount", "-n", "videos", "signup")
		kubectl("create", "serviceaccount", "-n", "videos", "reader-only")
		for _, role := range []string{"orgrbac-api-writer", "orgrbac-api-reader"} {
			kubectl("create", "rolebinding", "-n", "videos", "signup-"+role, "--clusterrole="+role, "--serviceaccount=videos:signup")
		}
		kubectl("create", "rolebinding", "-n", "videos", "reader-only", "--clusterrole=orgrbac-api-reader", "--serviceaccount=videos:reader-only")
		writer := kubectl("create", "token", "-n", "videos", "signup", "--audience="+apiAudience)
		reader := kubectl("create", "token", "-n", "videos", "reader-only", "--audience="+apiAudience)
		url := fmt.Sprintf("https://127.0.0.1:%d/user_management/organization_memberships", leader.apiPort)
		body := `{"user_id":"user_grace","organization_id":"acme","role_slug":"viewer"}`

		before := kubectl("get", "memberships.orgrbac.dev", "-n", "videos", "-o", "name")
		code, answer := httpPost(ctx, url, reader, body)
		Expect(code).To(Equal(http.StatusForbidden), answer)
		Expect(answer).To(ContainSubstring("may not create memberships.orgrbac.dev"))
		Expect(kubectl("get", "memberships.orgrbac.dev", "-n", "videos", "-o", "name")).To(Equal(before), "nothing written")

		var created struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Role   struct {
				Slug string `json:"slug"`
			} `json:"role"`
		}
		Eventually(func(g Gomega) {
			code, answer = httpPost(ctx, url, writer, body)
			g.Expect(code).To(Equal(http.StatusCreated), answer)
		}).WithContext(ctx).Should(Succeed())
		Expect(json.Unmarshal([]byte(answer), &created)).To(Succeed())
		Expect(created.Role.Slug).To(Equal("viewer"))
		Expect(created.Status).To(Equal("active"))

		// kubectl shows it, with who wrote it (the wide output's Written By).
		Eventually(func() string { return membershipField("videos", created.ID, "{.status.role}") }).WithContext(ctx).Should(Equal("viewer"))
		wide := kubectl("get", "memberships.orgrbac.dev", "-n", "videos", created.ID, "-o", "wide")
		Expect(wide).To(ContainSubstring("system:serviceaccount:videos:signup"), wide)
		Expect(wide).To(ContainSubstring("user_grace"))
		// The object's field managers include the API's (the controller's owner
		// reference and status are "manager"'s).
		Expect(strings.Fields(membershipField("videos", created.ID, `{.metadata.managedFields[*].manager}`))).
			To(ContainElement("orgrbac-decision-api"))

		// The same user again: WorkOS's conflict, and nothing more written.
		code, answer = httpPost(ctx, url, writer, body)
		Expect(code).To(Equal(http.StatusConflict), answer)
		Expect(strings.Count(kubectl("get", "memberships.orgrbac.dev", "-n", "videos", "-o", "name"), "\n")).
			To(Equal(strings.Count(before, "\n") + 1))
	}
}

// expectAccessTokens: a minter gets an access token for a member, which
// verifies offline against the key set the API serves; others get none.
func expectAccessTokens(ctx context.Context, leader *manager) {
	GinkgoHelper()
	{
		kubectl("create", "serviceaccount", "-n", "videos", "login")
		kubectl("create", "rolebinding", "-n", "videos", "login-minter", "--clusterrole=orgrbac-api-token-minter", "--serviceaccount=videos:login")
		minter := kubectl("create", "token", "-n", "videos", "login", "--audience="+apiAudience)
		url := fmt.Sprintf("https://127.0.0.1:%d/v1/tokens", leader.apiPort)
		var minted struct {
			AccessToken string `json:"access_token"`
		}
		Eventually(func(g Gomega) {
			code, answer := httpPost(ctx, url, minter, `{"organization":"acme","user":"user_alice"}`)
			g.Expect(code).To(Equal(http.StatusOK), answer)
			g.Expect(json.Unmarshal([]byte(answer), &minted)).To(Succeed())
		}).WithContext(ctx).Should(Succeed())

		v, err := authz.NewTokenVerifier(authz.VerifierOptions{
			JWKSURL:    fmt.Sprintf("https://127.0.0.1:%d/sso/jwks/videos", leader.apiPort),
			Issuer:     "https://orgrbac-api.orgrbac-system.svc", // the default without --api-service
			Audience:   "videos",
			HTTPClient: verifiedClient(),
		})
		Expect(err).NotTo(HaveOccurred())
		claims, err := v.Verify(context.Background(), minted.AccessToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(claims.Subject).To(Equal("user_alice"))
		Expect(claims.Role).To(Equal(membershipField("videos", "acme-alice", "{.status.role}")))
		Expect(claims.HasPermission("videos:delete")).To(BeTrue())

		// A caller without the minter role gets none.
		code, answer := httpPost(ctx, url, kubectl("create", "token", "-n", "videos", "reader-only", "--audience="+apiAudience),
			`{"organization":"acme","user":"user_alice"}`)
		Expect(code).To(Equal(http.StatusForbidden), answer)
		Expect(answer).NotTo(ContainSubstring("access_token"))
	}
}
