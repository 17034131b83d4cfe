//go:build envtest

package events

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

var (
	env *testenv.Env
	k8s client.Client
	// stopManager stops the running manager and waits for it to exit.
	stopManager func()
)

// suiteMaxEvents is the retention of the suite's environments that set none:
// small, so that the retention spec prunes (the others set spec.events).
const suiteMaxEvents = 60

// suiteSegmentEvents is the suite's segment size, small so that logs span
// several segments.
const suiteSegmentEvents = 50

func TestEvents(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Event log suite")
}

var _ = BeforeSuite(func(_ SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	EnforceDefaultTimeoutsWhenUsingContexts()
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	var err error
	env, err = testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	k8s = env.Client
	stopManager = startManager()
	DeferCleanup(func() { stopManager() })
}, NodeTimeout(3*time.Minute))

// startManager starts a manager running every controller and the emitter
// (with its own read model), and returns a function that stops it.
func startManager() func() {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(env.Config, env.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	// Wired as the manager wires it: emissions wait while memberships settle
	// (for at most 2 s here).
	tally := &controller.Tally{}
	Expect(controller.Setup(ctx, mgr, controller.Options{MaxConcurrentReconciles: 4, Tally: tally})).To(Succeed())
	Expect(Setup(mgr, nil, Options{Logger: ctrl.Log.WithName("events"), Interval: 100 * time.Millisecond,
		RetentionInterval: 2 * time.Second, MaxEvents: suiteMaxEvents, SegmentEvents: suiteSegmentEvents,
		Settling: tally.Settling, SettleMax: 2 * time.Second})).To(Succeed())
	stop := testenv.StartManager(ctx, mgr)
	return func() {
		cancel()
		Expect(stop()).To(Succeed(), "the manager stopped")
	}
}

// restart stops the manager and starts a new one: a new leader.
func restart() {
	GinkgoHelper()
	stopManager()
	stopManager = startManager()
}

// newEnvironment creates a namespace with an Environment (retention
// maxEvents, 0: the suite's default), roles member (the default) and admin,
// and organization acme.
func newEnvironment(ctx context.Context, maxEvents int32) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "events-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	e := testobj.Environment("env", "member", false, "admin", "member")
	e.Spec.Events.MaxEvents = maxEvents
	create(ctx, ns.Name, e, testobj.Role("member", "videos:view"), testobj.Role("admin", "videos:view", "videos:delete"),
		testobj.Organization("acme", ""))
	return ns.Name
}

// create creates objects in namespace ns.
func create(ctx context.Context, ns string, objs ...client.Object) {
	GinkgoHelper()
	for _, o := range objs {
		o.SetNamespace(ns)
		Expect(k8s.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
	}
}

// logOf reads the stored events of ns from the API server.
func logOf(ctx context.Context, ns string) []orgrbacv1alpha1.StoredEvent {
	GinkgoHelper()
	evs, err := Read(ctx, k8s, ns)
	Expect(err).NotTo(HaveOccurred())
	return evs
}

// about returns `event` of each event about key, in order.
func about(evs []orgrbacv1alpha1.StoredEvent, key string) []string {
	var out []string
	for _, e := range evs {
		if e.Key == key {
			out = append(out, e.Event)
		}
	}
	return out
}

// lastData decodes the data of the last event about key.
func lastData(evs []orgrbacv1alpha1.StoredEvent, key string) map[string]any {
	GinkgoHelper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Key == key {
			var out map[string]any
			Expect(json.Unmarshal(evs[i].Data.Raw, &out)).To(Succeed())
			return out
		}
	}
	Fail("no event about " + key)
	return nil
}

// expectEvents waits until the events about key are want, and checks that
// they stay so for a second.
func expectEvents(ctx context.Context, ns, key string, want ...string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		evs, err := Read(ctx, k8s, ns)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(about(evs, key)).To(Equal(want), func() string { return describe(ctx, ns, evs) })
	}).WithContext(ctx).Should(Succeed(), "events about %s", key)
	Consistently(func(g Gomega) {
		evs, err := Read(ctx, k8s, ns)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(about(evs, key)).To(Equal(want))
	}).WithContext(ctx).WithTimeout(time.Second).Should(Succeed(), "events about %s stay", key)
}

// describe shows the log and the memberships of ns, for a failure message.
func describe(ctx context.Context, ns string, evs []orgrbacv1alpha1.StoredEvent) string {
	out := "log:\n"
	for _, e := range evs {
		out += fmt.Sprintf("  %s %s %s\n", e.Event, e.Key, e.Digest)
	}
	var ms orgrbacv1alpha1.MembershipList
	if err := k8s.List(ctx, &ms, client.InNamespace(ns)); err == nil {
		for i := range ms.Items {
			out += fmt.Sprintf("membership %s: %+v\n", ms.Items[i].Name, ms.Items[i].Status)
		}
	}
	return out
}

// segments lists the EventSegments of ns of type typ, by name.
func segments(ctx context.Context, ns string, typ orgrbacv1alpha1.EventSegmentType) []orgrbacv1alpha1.EventSegment {
	GinkgoHelper()
	var l orgrbacv1alpha1.EventSegmentList
	Expect(k8s.List(ctx, &l, client.InNamespace(ns),
		client.MatchingLabels{orgrbacv1alpha1.LabelEventSegment: string(typ)})).To(Succeed())
	return l.Items
}

// expectWellFormed checks the stored log of ns: contiguous segments with
// increasing sequence numbers and ids, no key emitted twice in a row with
// the same digest, created only for a key not described, and returns its
// described state (checkpoint folded with the events).
func expectWellFormed(ctx context.Context, ns string) State {
	GinkgoHelper()
	state := State{}
	next := int64(1)
	if cps := segments(ctx, ns, orgrbacv1alpha1.EventSegmentCheckpoint); len(cps) > 0 {
		through := first(&cps[0])
		for i := range cps {
			Expect(first(&cps[i])).To(Equal(through), "one checkpoint")
			Expect(LoadCheckpoint(state, cps[i].Spec.State)).To(Succeed())
		}
		Expect(cps).To(HaveLen(int(cps[0].Spec.Parts)), "all parts of the checkpoint")
		next = through + 1
	}
	segs := segments(ctx, ns, orgrbacv1alpha1.EventSegmentEvents)
	prevID := ""
	for i := range segs {
		s := &segs[i]
		Expect(first(s)).To(Equal(next), "segment %s continues the log", s.Name)
		Expect(len(s.Spec.Events)).To(BeNumerically("<=", suiteSegmentEvents))
		for j := range s.Spec.Events {
			ev := &s.Spec.Events[j]
			Expect(ev.ID > prevID).To(BeTrue(), "id %s sorts after %s", ev.ID, prevID)
			prevID = ev.ID
			old, had := state[ev.Key]
			switch {
			case ev.Digest == "":
				Expect(had).To(BeTrue(), "%s deleted while not described", ev.Key)
			case had:
				Expect(FormatDigest(old.Digest)).NotTo(Equal(ev.Digest), "%s emitted twice with one digest", ev.Key)
				Expect(ev.Event).To(HaveSuffix(".updated"), ev.Key)
			default:
				Expect(ev.Event).To(HaveSuffix(".created"), ev.Key)
			}
			Expect(state.Apply(ev, next)).To(Succeed())
			next++
		}
	}
	return state
}

var _ = Describe("The event log", func() {
	It("emits one created per membership, one updated per resolved role change, one role.updated per role edit",
		func(ctx SpecContext) {
			ns := newEnvironment(ctx, 100000)
			create(ctx, ns, testobj.Membership("m1", "acme", "u1", testobj.WithDirectory("eng")))
			expectEvents(ctx, ns, "membership/m1", "organization_membership.created")
			evs := logOf(ctx, ns)
			Expect(lastData(evs, "membership/m1")).To(And(HaveKeyWithValue("object", "organization_membership"),
				HaveKeyWithValue("id", "m1"), HaveKeyWithValue("organization_id", "acme"),
				HaveKeyWithValue("role", map[string]any{"slug": "member"})))
			Expect(about(evs, "role/member")).To(Equal([]string{"role.created"}))
			Expect(about(evs, "organization/acme")).To(Equal([]string{"organization.created"}))

			By("a GroupMapping changes its role")
			create(ctx, ns, testobj.GroupMapping("eng-admins", "acme", orgrbacv1alpha1.GroupSourceDirectory, "eng", "admin"))
			expectEvents(ctx, ns, "membership/m1", "organization_membership.created", "organization_membership.updated")
			Expect(lastData(logOf(ctx, ns), "membership/m1")).To(And(
				HaveKeyWithValue("role", map[string]any{"slug": "admin"}), HaveKeyWithValue("directory_managed", true)))

			By("a role's permissions change: one role.updated, no membership event")
			before := len(logOf(ctx, ns))
			var admin orgrbacv1alpha1.Role
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "admin"}, &admin)).To(Succeed())
			admin.Spec.Permissions = append(admin.Spec.Permissions, "videos:share")
			Expect(k8s.Update(ctx, &admin)).To(Succeed())
			expectEvents(ctx, ns, "role/admin", "role.created", "role.updated")
			evs = logOf(ctx, ns)
			Expect(evs[before:]).To(HaveLen(1), "only the role.updated")
			Expect(lastData(evs, "role/admin")).To(HaveKeyWithValue("permissions",
				[]any{"videos:delete", "videos:share", "videos:view"}))
			expectWellFormed(ctx, ns)
		})

	It("emits organization_role.deleted when an organization role goes, after the memberships it reassigns",
		func(ctx SpecContext) {
			ns := newEnvironment(ctx, 100000)
			create(ctx, ns, testobj.OrganizationRole("acme-ops", "acme", "org-ops", "videos:view"),
				testobj.Membership("m2", "acme", "u2", testobj.WithRoles("org-ops")))
			expectEvents(ctx, ns, "membership/m2", "organization_membership.created")
			Expect(lastData(logOf(ctx, ns), "membership/m2")).To(HaveKeyWithValue("role", map[string]any{"slug": "org-ops"}))
			Expect(lastData(logOf(ctx, ns), "organization_role/acme/org-ops")).To(And(
				HaveKeyWithValue("object", "organization_role"), HaveKeyWithValue("organization_id", "acme"),
				HaveKeyWithValue("slug", "org-ops")))

			Expect(k8s.Delete(ctx, &orgrbacv1alpha1.OrganizationRole{ObjectMeta: metav1.ObjectMeta{
				Namespace: ns, Name: "acme-ops"}})).To(Succeed())
			expectEvents(ctx, ns, "organization_role/acme/org-ops", "organization_role.created", "organization_role.deleted")
			evs := logOf(ctx, ns)
			last := evs[len(evs)-1]
			Expect(last.Event).To(Equal("organization_role.deleted"))
			Expect(lastData(evs, "organization_role/acme/org-ops")).To(HaveKeyWithValue("slug", "org-ops"),
				"the deletion carries the role as clients last saw it")
			Expect(last.OrganizationID).To(Equal("acme"))
			expectWellFormed(ctx, ns)
		})

	It("keeps the log whole across a new leader in the middle of a burst", func(ctx SpecContext) {
		ns := newEnvironment(ctx, 100000)
		const n = 300
		for i := range n {
			if i == n/2 {
				By("a new leader takes over")
				restart()
			}
			create(ctx, ns, testobj.Membership(fmt.Sprintf("m%03d", i), "acme", fmt.Sprintf("u%03d", i)))
		}
		Eventually(func(g Gomega) {
			evs, err := Read(ctx, k8s, ns)
			g.Expect(err).NotTo(HaveOccurred())
			created := 0
			for _, e := range evs {
				if e.Event == "organization_membership.created" {
					created++
				}
			}
			g.Expect(created).To(BeNumerically(">=", n))
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		state := expectWellFormed(ctx, ns)
		evs := logOf(ctx, ns)
		for i := range n {
			key := fmt.Sprintf("membership/m%03d", i)
			Expect(about(evs, key)).To(Equal([]string{"organization_membership.created"}), key)
			Expect(state).To(HaveKey(key))
		}
		Expect(len(segments(ctx, ns, orgrbacv1alpha1.EventSegmentEvents))).To(BeNumerically(">", 1))
	}, NodeTimeout(4*time.Minute))

	It("starts the logs, at the first start in the cluster, from the objects that existed; a later namespace gets every created event",
		func(ctx SpecContext) {
			By("a cluster where no manager ever emitted: no EventSegment anywhere")
			stopManager()
			stopManager = func() {}
			var all orgrbacv1alpha1.EventSegmentList
			Expect(k8s.List(ctx, &all)).To(Succeed())
			for i := range all.Items {
				Expect(k8s.Delete(ctx, &all.Items[i])).To(Succeed())
			}
			ns := newEnvironment(ctx, 100000)
			time.Sleep(1100 * time.Millisecond) // creation times have seconds
			stopManager = startManager()
			Eventually(func(g Gomega) {
				var cps orgrbacv1alpha1.EventSegmentList
				g.Expect(k8s.List(ctx, &cps, client.InNamespace(ns))).To(Succeed())
				g.Expect(cps.Items).To(HaveLen(1))
				g.Expect(cps.Items[0].Name).To(Equal(CheckpointName(0, 0)))
				g.Expect(cps.Items[0].Spec.State).To(ContainElements(HavePrefix("role/admin "), HavePrefix("role/member "),
					HavePrefix("organization/acme ")))
			}).WithContext(ctx).Should(Succeed())
			create(ctx, ns, testobj.Membership("late", "acme", "u-late"))
			expectEvents(ctx, ns, "membership/late", "organization_membership.created")
			Expect(logOf(ctx, ns)).To(HaveLen(1), "no event for the objects that existed")
			expectWellFormed(ctx, ns)

			By("a namespace filled while no manager runs, once logs exist: every object gets its created event")
			stopManager()
			stopManager = func() {}
			later := newEnvironment(ctx, 100000)
			time.Sleep(1100 * time.Millisecond)
			stopManager = startManager()
			expectEvents(ctx, later, "role/admin", "role.created")
			expectEvents(ctx, later, "organization/acme", "organization.created")
			var cps orgrbacv1alpha1.EventSegmentList
			Expect(k8s.List(ctx, &cps, client.InNamespace(later), client.MatchingLabels{
				orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)})).To(Succeed())
			Expect(cps.Items).To(BeEmpty(), "no baseline")
			expectWellFormed(ctx, later)
		})

	It("prunes by retention behind a checkpoint, and a new leader emits nothing again", func(ctx SpecContext) {
		ns := newEnvironment(ctx, 0) // the suite's default: 60 events
		const n = 130
		for i := range n {
			create(ctx, ns, testobj.Membership(fmt.Sprintf("r%03d", i), "acme", fmt.Sprintf("u%03d", i)))
		}
		Eventually(func(g Gomega) {
			var cps orgrbacv1alpha1.EventSegmentList
			g.Expect(k8s.List(ctx, &cps, client.InNamespace(ns), client.MatchingLabels{
				orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)})).To(Succeed())
			g.Expect(cps.Items).NotTo(BeEmpty())
			g.Expect(cps.Items[0].Spec.First).NotTo(BeNil())
			g.Expect(*cps.Items[0].Spec.First).To(BeNumerically(">", 0))
			st := State{}
			for i := range cps.Items {
				g.Expect(LoadCheckpoint(st, cps.Items[i].Spec.State)).To(Succeed())
			}
			evs, err := Read(ctx, k8s, ns)
			g.Expect(err).NotTo(HaveOccurred())
			for i := range evs {
				g.Expect(st.Apply(&evs[i], 0)).To(Succeed())
			}
			for i := range n {
				g.Expect(st).To(HaveKey(fmt.Sprintf("membership/r%03d", i)))
			}
			g.Expect(len(evs)).To(BeNumerically("<", n))
			g.Expect(len(evs)).To(BeNumerically(">=", suiteMaxEvents))
		}).WithContext(ctx).Should(Succeed())
		state := expectWellFormed(ctx, ns)
		segs := segments(ctx, ns, orgrbacv1alpha1.EventSegmentEvents)

		By("a new leader loads the pruned log and emits nothing")
		restart()
		Consistently(func(g Gomega) {
			var now orgrbacv1alpha1.EventSegmentList
			g.Expect(k8s.List(ctx, &now, client.InNamespace(ns), client.MatchingLabels{
				orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)})).To(Succeed())
			g.Expect(now.Items).To(HaveLen(len(segs)))
			for i := range now.Items {
				g.Expect(now.Items[i].Spec.Events).To(HaveLen(len(segs[i].Spec.Events)))
			}
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
		Expect(expectWellFormed(ctx, ns)).To(Equal(state))
	}, NodeTimeout(3*time.Minute))
})
