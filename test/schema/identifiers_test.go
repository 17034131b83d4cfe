//go:build envtest

package schema

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// identifierObject is a Membership (with spec merged over organization acme,
// user user_alice) or a GroupMapping (with group set), built in Go so that any
// string, NUL included, reaches the API server as JSON.
func identifierObject(kind string, spec map[string]any) *unstructured.Unstructured {
	base := map[string]any{"organization": "acme"}
	switch kind {
	case "Membership":
		base["user"] = "user_alice"
	case "GroupMapping":
		base["source"], base["role"] = "SSO", "admin"
	}
	for k, v := range spec {
		base[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "orgrbac.dev/v1alpha1", "kind": kind,
		"metadata": map[string]any{"generateName": "id-"}, "spec": base}}
}

func createIdentifier(kind string, spec map[string]any) error {
	ctx := context.Background()
	obj := identifierObject(kind, spec)
	obj.SetNamespace(newNamespace(ctx))
	return k8s.Create(ctx, obj)
}

const (
	userMessage  = "user must be printable ASCII characters without spaces"
	emailMessage = "email must be an address like name@example.com"
	groupMessage = "must be printable characters, with single spaces between words"
)

// Security review L4: user ids, emails and group ids refuse control
// characters, misplaced whitespace and look-alikes, in the schema (so even
// without the webhook), each with a clear message.
var _ = DescribeTable("identifiers with invisible or look-alike characters are refused",
	func(kind string, spec map[string]any, field, message string) {
		err := createIdentifier(kind, spec)
		Expect(err).To(HaveOccurred(), "the API server accepted %s %v", kind, spec)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
		Expect(err.Error()).To(And(ContainSubstring(field), ContainSubstring(message)))
	},
	// The review's proofs.
	Entry("user with a trailing space", "Membership", map[string]any{"user": "user_alice "}, "spec.user", userMessage),
	Entry("user with a zero-width space", "Membership", map[string]any{"user": "user_\u200balice"}, "spec.user", userMessage),
	Entry("user with a NUL", "Membership", map[string]any{"user": "user_alice\u0000"}, "spec.user", userMessage),
	Entry("email with a newline", "Membership", map[string]any{"email": "alice@acme.example\nBcc: eve@evil.example"}, "spec.email", emailMessage),
	Entry("group mapping group with a NUL", "GroupMapping", map[string]any{"group": "admins\u0000"}, "spec.group", groupMessage),
	// More of the same kinds.
	Entry("user with a leading space", "Membership", map[string]any{"user": " user_alice"}, "spec.user", userMessage),
	Entry("user with an inner space", "Membership", map[string]any{"user": "user alice"}, "spec.user", userMessage),
	Entry("user with a tab", "Membership", map[string]any{"user": "user_alice\t"}, "spec.user", userMessage),
	Entry("user with a no-break space", "Membership", map[string]any{"user": "user_\u00a0alice"}, "spec.user", userMessage),
	Entry("user with a Cyrillic look-alike", "Membership", map[string]any{"user": "user_\u0430lice"}, "spec.user", userMessage),
	Entry("user with a right-to-left override", "Membership", map[string]any{"user": "user_\u202ealice"}, "spec.user", userMessage),
	Entry("user with a DEL", "Membership", map[string]any{"user": "user_alice\u007f"}, "spec.user", userMessage),
	Entry("email with a space", "Membership", map[string]any{"email": "alice @acme.example"}, "spec.email", emailMessage),
	Entry("email without @", "Membership", map[string]any{"email": "alice.acme.example"}, "spec.email", emailMessage),
	Entry("email with two @", "Membership", map[string]any{"email": "alice@evil@acme.example"}, "spec.email", emailMessage),
	Entry("email with a zero-width joiner", "Membership", map[string]any{"email": "alice\u200d@acme.example"}, "spec.email", emailMessage),
	Entry("email with a NUL", "Membership", map[string]any{"email": "alice@acme.example\u0000"}, "spec.email", emailMessage),
	Entry("directory group with a NUL", "Membership", map[string]any{"directoryGroups": []any{"eng\u0000"}}, "spec.directoryGroups[0]", groupMessage),
	Entry("directory group with a zero-width space", "Membership", map[string]any{"directoryGroups": []any{"ok", "eng\u200badmins"}}, "spec.directoryGroups[1]", groupMessage),
	Entry("SSO group with a leading space", "Membership", map[string]any{"ssoGroups": []any{" admins"}}, "spec.ssoGroups[0]", groupMessage),
	Entry("SSO group with a trailing space", "Membership", map[string]any{"ssoGroups": []any{"admins "}}, "spec.ssoGroups[0]", groupMessage),
	Entry("SSO group with two spaces", "Membership", map[string]any{"ssoGroups": []any{"eng  admins"}}, "spec.ssoGroups[0]", groupMessage),
	Entry("SSO group with a tab", "Membership", map[string]any{"ssoGroups": []any{"eng\tadmins"}}, "spec.ssoGroups[0]", groupMessage),
	Entry("group mapping group with a line separator", "GroupMapping", map[string]any{"group": "eng\u2028admins"}, "spec.group", groupMessage),
	Entry("group mapping group with a no-break space", "GroupMapping", map[string]any{"group": "eng\u00a0admins"}, "spec.group", groupMessage),
	Entry("group mapping group with a byte order mark", "GroupMapping", map[string]any{"group": "\ufeffadmins"}, "spec.group", groupMessage),
	Entry("group mapping group with a private-use character", "GroupMapping", map[string]any{"group": "admins\ue000"}, "spec.group", groupMessage),
)

var _ = DescribeTable("identifiers IdPs use are accepted",
	func(kind string, spec map[string]any) {
		Expect(createIdentifier(kind, spec)).To(Succeed())
	},
	Entry("a WorkOS user id", "Membership", map[string]any{"user": "user_01HXYZABCDEF"}),
	Entry("an email as user id", "Membership", map[string]any{"user": "alice+videos@acme.example"}),
	Entry("an IdP subject with punctuation", "Membership", map[string]any{"user": "auth0|5f7c8ec7c33c6c004bbafe82"}),
	Entry("an email with a tag and subdomain", "Membership", map[string]any{"email": "a.b+tag@mail.acme.example"}),
	Entry("an empty email", "Membership", map[string]any{"email": ""}),
	Entry("group ids that are display names", "Membership", map[string]any{
		"directoryGroups": []any{"Engineering Admins", "Ingeniería", "CN=Admins,OU=Groups,DC=acme,DC=com", "直接グループ"},
		"ssoGroups":       []any{"directory_group_01HXYZ", "a b c"}}),
	Entry("a group mapping of a display name", "GroupMapping", map[string]any{"group": "Video Team (EU)"}),
)
