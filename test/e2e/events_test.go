//go:build envtest

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testenv"
)

// The change-event story (docs/events.md) on the built manager: the samples,
// then a membership created, moved by a group mapping, a role's permissions
// edited, an organization role deleted, and a burst of 1,000 memberships
// during which the leader is killed. The stored log must have no gap and no
// duplicate; both official SDKs' listEvents must read exactly it; both SDKs'
// webhook verification must accept every delivery, at least once each.

// eventsNamespace is the story's environment.
const eventsNamespace = "events"

// burstSize is how many memberships the burst creates.
const burstSize = 1000

// loggedEvent is a stored event with its sequence number.
type loggedEvent struct {
	seq int64
	orgrbacv1alpha1.StoredEvent
}

// readEventLog reads the stored log of ns with kubectl and checks that its
// segments hold consecutive sequence numbers from 1 without gaps or overlaps
// (the checkpoint through 0 aside: nothing is pruned in this story).
func readEventLog(g Gomega, ns string) []loggedEvent {
	out, err := kubectlErr("get", "eventsegments.orgrbac.dev", "-n", ns, "-l",
		orgrbacv1alpha1.LabelEventSegment+"="+string(orgrbacv1alpha1.EventSegmentEvents), "-o", "json")
	g.Expect(err).NotTo(HaveOccurred())
	var list orgrbacv1alpha1.EventSegmentList
	g.Expect(json.Unmarshal([]byte(out), &list)).To(Succeed())
	slices.SortFunc(list.Items, func(a, b orgrbacv1alpha1.EventSegment) int {
		return int(*a.Spec.First - *b.Spec.First)
	})
	var log []loggedEvent
	next := int64(1)
	for _, s := range list.Items {
		g.Expect(*s.Spec.First).To(Equal(next), "segment %s starts where the previous one ended", s.Name)
		for _, e := range s.Spec.Events {
			log = append(log, loggedEvent{seq: next, StoredEvent: e})
			next++
		}
	}
	return log
}

// keyEvents are the types of the log's events about key, in order.
func keyEvents(log []loggedEvent, key string) []string {
	var out []string
	for _, e := range log {
		if e.Key == key {
			out = append(out, e.Event)
		}
	}
	return out
}

// keyHistory describes the log's events about key, their data included, for
// failure messages.
func keyHistory(log []loggedEvent, key string) string {
	var b strings.Builder
	for _, e := range log {
		if e.Key == key {
			fmt.Fprintf(&b, "\n%d %s %s %s", e.seq, e.ID, e.Event, e.Data.Raw)
		}
	}
	return b.String()
}

// membershipData decodes an organization_membership event's data.
func membershipData(g Gomega, e loggedEvent) (status string, role string) {
	var data struct {
		Status string `json:"status"`
		Role   *struct {
			Slug string `json:"slug"`
		} `json:"role"`
	}
	g.Expect(json.Unmarshal(e.Data.Raw, &data)).To(Succeed())
	if data.Role != nil {
		role = data.Role.Slug
	}
	return data.Status, role
}

// startSDKReceiver starts a webhook receiver verifying with one official SDK
// (testenv.WebhookReceiver); it is stopped at the spec's end.
func startSDKReceiver(cmd *exec.Cmd, sdk, secret string) *testenv.WebhookReceiver {
	GinkgoHelper()
	cmd.Stderr = GinkgoWriter
	r, err := testenv.StartWebhookReceiver(cmd, sdk, secret, 0)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(r.Stop)
	return r
}

// burstManifest is a List of n memberships of acme, burst-0000 to burst-(n-1).
func burstManifest(n int) string {
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"apiVersion": "orgrbac.dev/v1alpha1", "kind": "Membership",
			"metadata": map[string]any{"name": fmt.Sprintf("burst-%04d", i)},
			"spec":     map[string]any{"organization": "acme", "user": fmt.Sprintf("user_burst_%04d", i)}}
	}
	data, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(work, "burst.json")
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}

// expectEventsAcrossLeaderKill runs the story with leader and a new standby,
// kills leader in the middle of the burst and returns the new leader.
func expectEventsAcrossLeaderKill(ctx context.Context, previous *manager) *manager {
	GinkgoHelper()
	// Two managers of its own: the story's leader is the one it kills. The
	// previous leader steps down (a stopped one stays stopped).
	previous.stop()
	leader := startManager(ctx, "events-a")
	Eventually(func() (string, error) {
		data, err := os.ReadFile(leader.log)
		return string(data), err
	}).WithTimeout(90*time.Second).Should(ContainSubstring("Successfully acquired lease"), "events-a leads")
	pointWebhooksAt(leader)
	standby := startManager(ctx, "events-b")
	dumpOnFailure(eventsNamespace, leader, standby)

	By("installing the pinned SDKs: the Node SDK from npm, the Go SDK's receiver and driver")
	version, err := testenv.NPMPin("@workos-inc/node")
	Expect(err).NotTo(HaveOccurred())
	sdkDir, err := testenv.InstallNPM(ctx, "@workos-inc/node", version)
	Expect(err).NotTo(HaveOccurred())
	goSDK := filepath.Join(work, "workos-go")
	Expect(testenv.BuildWorkOSGo(ctx, goSDK)).To(Succeed())

	By("an environment, and two WebhookEndpoints whose receivers verify with the official SDKs")
	applySamples(eventsNamespace)
	waitMembershipsReady(eventsNamespace)
	const secret = "whsec-e2e-0123456789abcdef"
	kubectl("create", "secret", "generic", "-n", eventsNamespace, "hooks", "--from-literal=secret="+secret)
	kubectl("create", "rolebinding", "-n", eventsNamespace, "orgrbac-webhook-secrets",
		"--clusterrole=orgrbac-webhook-secret-reader", "--serviceaccount="+systemNamespace+":"+serviceAccount)
	nodeCmd := exec.Command("node", filepath.Join(root, "test", "workos-sdk", "receiver.mjs"))
	nodeCmd.Env = append(os.Environ(), "WORKOS_SDK_DIR="+sdkDir)
	goCmd := exec.Command(goSDK, "receive")
	goCmd.Env = os.Environ()
	receivers := []*testenv.WebhookReceiver{startSDKReceiver(nodeCmd, "node", secret), startSDKReceiver(goCmd, "go", secret)}
	for _, r := range receivers {
		kubectlStdin(fmt.Sprintf(`{"apiVersion":"orgrbac.dev/v1alpha1","kind":"WebhookEndpoint",
"metadata":{"name":"%s","namespace":"%s"},
"spec":{"url":"%s","secretRef":{"name":"hooks"}}}`, r.SDK, eventsNamespace, r.URL()), "apply", "-f", "-")
	}
	endpointsCreated := time.Now()
	var log []loggedEvent
	waitLog := func(desc string, f func(g Gomega, log []loggedEvent)) {
		GinkgoHelper()
		By(desc)
		Eventually(func(g Gomega) {
			log = readEventLog(g, eventsNamespace)
			f(g, log)
		}).WithTimeout(90 * time.Second).Should(Succeed())
	}
	// kubectl applies the samples' files in name order, memberships before the
	// roles they get: a membership is created unresolved (role null, as the API
	// serves it then) and updated once its role exists.
	waitLog("the samples' objects are in the log", func(g Gomega, log []loggedEvent) {
		g.Expect(keyEvents(log, "role/viewer")).To(Equal([]string{"role.created"}))
		g.Expect(keyEvents(log, "organization/acme")).To(Equal([]string{"organization.created"}))
		dave := keyEvents(log, "membership/acme-dave")
		g.Expect(dave).NotTo(BeEmpty())
		g.Expect(dave[0]).To(Equal("organization_membership.created"))
		g.Expect(dave[1:]).To(HaveEach("organization_membership.updated"))
		var lastDave loggedEvent
		for _, e := range log {
			if e.Key == "membership/acme-dave" {
				lastDave = e
			}
		}
		_, role := membershipData(g, lastDave)
		g.Expect(role).To(Equal("viewer"))
	})

	By("creating a membership: one organization_membership.created, with its resolved role")
	kubectlStdin(`{"apiVersion":"orgrbac.dev/v1alpha1","kind":"Membership","metadata":{"name":"acme-zoe"},
"spec":{"organization":"acme","user":"user_zoe"}}`, "apply", "-n", eventsNamespace, "-f", "-")
	waitLog("zoe's membership is created in the log", func(g Gomega, log []loggedEvent) {
		g.Expect(keyEvents(log, "membership/acme-zoe")).To(Equal([]string{"organization_membership.created"}),
			keyHistory(log, "membership/acme-zoe"))
	})
	created := log[len(log)-1]
	Expect(created.Key).To(Equal("membership/acme-zoe"))
	_, role := membershipData(Default, created)
	Expect(role).To(Equal("viewer"), "acme's default role")

	By("moving zoe through an SSO group mapping: one organization_membership.updated")
	kubectl("patch", "memberships.orgrbac.dev", "-n", eventsNamespace, "acme-zoe", "--type=merge",
		"-p", `{"spec":{"ssoGroups":["video-team"]}}`)
	waitLog("zoe's new role is in the log", func(g Gomega, log []loggedEvent) {
		g.Expect(keyEvents(log, "membership/acme-zoe")).To(Equal([]string{
			"organization_membership.created", "organization_membership.updated"}))
		_, role := membershipData(g, log[len(log)-1])
		g.Expect(role).To(Equal("org-video-producer"))
	})

	By("editing the permissions of viewer, held by dave: one role.updated, no membership event")
	before := len(log)
	kubectl("patch", "roles.orgrbac.dev", "-n", eventsNamespace, "viewer", "--type=merge",
		"-p", `{"spec":{"permissions":["videos:view","videos:comment"]}}`)
	waitLog("the role's new permissions are in the log", func(g Gomega, log []loggedEvent) {
		g.Expect(keyEvents(log, "role/viewer")).To(Equal([]string{"role.created", "role.updated"}))
	})
	Eventually(func() string {
		return membershipField(eventsNamespace, "acme-dave", `{.status.permissions[*]}`)
	}).Should(Equal("videos:comment videos:view"), "dave's status follows")
	Consistently(func(g Gomega) {
		log = readEventLog(g, eventsNamespace)
		var added []string
		for _, e := range log[before:] {
			added = append(added, e.Event+" "+e.Key)
		}
		g.Expect(added).To(Equal([]string{"role.updated role/viewer"}))
	}).WithTimeout(3 * time.Second).Should(Succeed())

	By("deleting the organization role zoe and bob get from the mapping: organization_role.deleted")
	kubectl("delete", "organizationroles.orgrbac.dev", "-n", eventsNamespace, "acme-video-producer", "--wait=false")
	waitLog("the deletion is in the log, and the reassigned members' updates", func(g Gomega, log []loggedEvent) {
		evs := keyEvents(log, "organization_role/acme/org-video-producer")
		g.Expect(evs).To(HaveLen(2))
		g.Expect(evs[1]).To(Equal("organization_role.deleted"))
		zoe := keyEvents(log, "membership/acme-zoe")
		g.Expect(zoe).To(HaveLen(3), "created, moved by the mapping, moved off the deleted role")
		for _, e := range log {
			if e.Key == "membership/acme-zoe" && e.Event == "organization_membership.updated" {
				_, role := membershipData(g, e)
				g.Expect(role).NotTo(BeEmpty())
			}
		}
	})

	By(fmt.Sprintf("a burst of %d memberships, killing the leader in its middle", burstSize))
	beforeBurst := len(log)
	burst := burstManifest(burstSize)
	applied := make(chan error, 1)
	go func() {
		_, err := runKubectl(adminKube, "", "apply", "-n", eventsNamespace, "-f", burst)
		applied <- err
	}()
	burstCreated := func(log []loggedEvent) int {
		n := 0
		for _, e := range log {
			if strings.HasPrefix(e.Key, "membership/burst-") && e.Event == "organization_membership.created" {
				n++
			}
		}
		return n
	}
	Eventually(func(g Gomega) {
		log = readEventLog(g, eventsNamespace)
		g.Expect(burstCreated(log)).To(BeNumerically(">=", burstSize/5))
	}).WithTimeout(3 * time.Minute).WithPolling(100 * time.Millisecond).Should(Succeed())
	killedAt := burstCreated(log)
	// The admission webhooks move to the standby first, as a Service would
	// route them: the burst's remaining creations need them.
	pointWebhooksAt(standby)
	leader.kill()
	GinkgoWriter.Printf("Killed the leader with %d of the burst's %d created events in the log\n", killedAt, burstSize)
	Expect(killedAt).To(BeNumerically("<", burstSize), "the leader was killed in the middle of the burst")
	Eventually(applied).WithTimeout(3 * time.Minute).Should(Receive(BeNil()))
	waitLog("the new leader completes the log: every burst membership created exactly once", func(g Gomega, log []loggedEvent) {
		g.Expect(burstCreated(log)).To(Equal(burstSize))
	})
	Eventually(func(g Gomega) {
		out, err := kubectlErr("get", "memberships.orgrbac.dev", "-n", eventsNamespace, "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		g.Expect(err).NotTo(HaveOccurred())
		lines := strings.Fields(out)
		g.Expect(lines).To(HaveLen(burstSize+8), "the samples' 7, zoe and the burst")
		g.Expect(lines).To(HaveEach(HaveSuffix("=True")))
	}).WithTimeout(3*time.Minute).Should(Succeed(), "every membership is Ready")

	By("the stored log: no gap, no duplicate, and no object emitted twice for the same state")
	Consistently(func(g Gomega) { log = readEventLog(g, eventsNamespace) }).WithTimeout(3 * time.Second).Should(Succeed())
	ids := map[string]bool{}
	last := map[string]string{}
	for i, e := range log {
		Expect(ids[e.ID]).To(BeFalse(), "event %s is stored once", e.ID)
		ids[e.ID] = true
		if i > 0 {
			Expect(e.ID > log[i-1].ID).To(BeTrue(), "ids sort in emission order: %s after %s", e.ID, log[i-1].ID)
		}
		if e.Digest != "" {
			Expect(last[e.Key]).NotTo(Equal(e.Digest), "event %d repeats the state of %s", e.seq, e.Key)
		}
		last[e.Key] = e.Digest
	}
	for i := range burstSize {
		Expect(keyEvents(log, fmt.Sprintf("membership/burst-%04d", i))).To(
			Equal([]string{"organization_membership.created"}), "burst-%04d", i)
	}

	By("both SDKs' listEvents read exactly the stored log, oldest first")
	kubectl("create", "serviceaccount", "-n", eventsNamespace, "feed")
	kubectl("create", "rolebinding", "-n", eventsNamespace, "feed-reader", "--clusterrole=orgrbac-api-reader",
		"--serviceaccount="+eventsNamespace+":feed")
	token := kubectl("create", "token", "-n", eventsNamespace, "feed", "--audience="+apiAudience)
	caFile := filepath.Join(work, "api-ca.pem")
	Expect(os.WriteFile(caFile, webhookCA, 0o600)).To(Succeed())
	port := fmt.Sprint(standby.apiPort)
	want := make([]string, len(log))
	for i, e := range log {
		want[i] = e.ID
	}

	node := exec.CommandContext(ctx, "node", filepath.Join(root, "test", "workos-sdk", "feed.mjs"))
	node.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+caFile, "WORKOS_SDK_DIR="+sdkDir,
		"WORKOS_API_KEY="+token, "WORKOS_PORT="+port)
	node.Stderr = GinkgoWriter
	out, err := node.Output()
	Expect(err).NotTo(HaveOccurred(), "node feed.mjs")
	var nodeFeed struct {
		SDKVersion string `json:"sdkVersion"`
		Events     []struct {
			ID, Event, Object string
		} `json:"events"`
	}
	Expect(json.Unmarshal(out, &nodeFeed)).To(Succeed())
	var nodeIDs []string
	for i, e := range nodeFeed.Events {
		nodeIDs = append(nodeIDs, e.ID)
		Expect(e.Event).To(Equal(log[min(i, len(log)-1)].Event))
	}
	Expect(nodeIDs).To(Equal(want), "@workos-inc/node %s listEvents", nodeFeed.SDKVersion)

	tokens, err := json.Marshal(map[string]string{"feed": token})
	Expect(err).NotTo(HaveOccurred())
	driver := exec.CommandContext(ctx, goSDK)
	driver.Env = append(os.Environ(), "WORKOS_PORT="+port, "WORKOS_CA_FILE="+caFile, "WORKOS_TOKENS="+string(tokens))
	driver.Stdin = strings.NewReader(`{"as":"feed","op":"listEvents","args":{"limit":100}}` + "\n")
	driver.Stderr = GinkgoWriter
	out, err = driver.Output()
	Expect(err).NotTo(HaveOccurred(), "workos-go listEvents")
	var answer struct {
		OK    bool `json:"ok"`
		Value struct {
			Data []struct {
				ID    string `json:"id"`
				Event string `json:"event"`
			} `json:"data"`
		} `json:"value"`
		Error json.RawMessage `json:"error"`
	}
	Expect(json.Unmarshal(out, &answer)).To(Succeed(), string(out))
	Expect(answer.OK).To(BeTrue(), string(answer.Error))
	var goIDs []string
	for _, e := range answer.Value.Data {
		goIDs = append(goIDs, e.ID)
	}
	Expect(goIDs).To(Equal(want), "workos-go Events().List")

	By("both receivers verified every delivery with their SDK: at least once each, in order, none lost")
	var delivered []string
	for _, e := range log {
		if e.CreatedAtMillis >= endpointsCreated.Add(-time.Second).UnixMilli() {
			delivered = append(delivered, e.ID)
		}
	}
	for _, r := range receivers {
		var s testenv.ReceiverStats
		Eventually(func(g Gomega) {
			var err error
			s, err = r.Stats()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(s.Rejected).To(BeZero(), "%s rejected a delivery", r.SDK)
			seen := map[string]bool{}
			for _, id := range s.IDs {
				seen[id] = true
			}
			var lost []string
			for _, id := range delivered {
				if !seen[id] {
					lost = append(lost, id)
				}
			}
			g.Expect(lost).To(BeEmpty(), "%s lost deliveries", r.SDK)
		}).WithTimeout(3 * time.Minute).Should(Succeed())
		// In order: the first delivery of each event follows the log's order.
		first := map[string]int{}
		for i, id := range s.IDs {
			if _, ok := first[id]; !ok {
				first[id] = i
			}
		}
		for i := 1; i < len(delivered); i++ {
			Expect(first[delivered[i]]).To(BeNumerically(">", first[delivered[i-1]]),
				"%s got %s before %s", r.SDK, delivered[i], delivered[i-1])
		}
		duplicates := len(s.IDs) - len(first)
		msg := fmt.Sprintf("%s receiver (%s): emitted %d (%d of the burst, leader killed after %d), delivered %d, "+
			"duplicates delivered %d, lost 0", r.SDK, s.SDKVersion, len(log), len(log)-beforeBurst, killedAt,
			len(s.IDs), duplicates)
		GinkgoWriter.Println(msg)
		AddReportEntry("change events: "+r.SDK, msg)
	}
	return standby
}

// kubectlStdin runs kubectl as the admin with stdin.
func kubectlStdin(stdin string, args ...string) string {
	GinkgoHelper()
	out, err := runKubectl(adminKube, stdin, args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}
