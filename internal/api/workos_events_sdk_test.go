//go:build envtest

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/events"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The official SDKs list the change events (GET /events) of a log written
// here as the operator's leader writes it: EventSegments of up to 100 events.
// The namespace has no Environment, so that no emitter writes there.
const eventsNS = "sdk-events"

// The log's events: seq 1..n, one every 100 ms from eventsT0, cycling through
// eventKinds; the organization events and the memberships' belong to acme
// (eventsOrgID) or globex, alternately.
var (
	eventsT0    = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	eventsOrgID = "org_01EVENTS"
	eventKinds  = []string{"organization_membership.created", "organization_membership.updated", "role.updated",
		"organization.updated", "organization_role.created", "organization_membership.deleted"}
)

func sdkEventTime(seq int64) time.Time {
	return eventsT0.Add(time.Duration(seq) * 100 * time.Millisecond)
}

// sdkEvent is the stored event seq, with data in the shape the API serves
// the object in (what the SDKs' deserializers read).
func sdkEvent(seq int64) orgrbacv1alpha1.StoredEvent {
	t := sdkEventTime(seq)
	at := workos.FormatTime(t)
	org := []string{eventsOrgID, "globex"}[seq%2]
	kind := eventKinds[seq%int64(len(eventKinds))]
	var data map[string]any
	switch strings.Split(kind, ".")[0] {
	case "organization_membership":
		data = map[string]any{"object": "organization_membership", "id": fmt.Sprintf("om-%d", seq),
			"user_id": fmt.Sprintf("user_%d", seq%7), "organization_id": org, "organization_name": org, "status": "active",
			"role": map[string]any{"slug": "member"}, "roles": []any{map[string]any{"slug": "member"}},
			"directory_managed": false, "custom_attributes": map[string]any{}, "created_at": at, "updated_at": at}
	case "role":
		org = ""
		data = map[string]any{"object": "role", "slug": "member", "resource_type_slug": "organization",
			"permissions": []any{"videos:view"}, "created_at": at, "updated_at": at}
	case "organization":
		data = map[string]any{"object": "organization", "id": org, "name": org, "external_id": nil,
			"allow_profiles_outside_organization": false, "domains": []any{}, "metadata": map[string]any{},
			"created_at": at, "updated_at": at}
	case "organization_role":
		data = map[string]any{"object": "role", "organization_id": org, "slug": "org-lead", "name": "Lead",
			"description": nil, "resource_type_slug": "organization", "permissions": []any{"videos:publish"},
			"created_at": at, "updated_at": at}
	}
	raw, err := json.Marshal(data)
	Expect(err).NotTo(HaveOccurred())
	return orgrbacv1alpha1.StoredEvent{ID: events.ID(seq, t), Event: kind, Key: fmt.Sprintf("object/%d", seq),
		Digest: fmt.Sprintf("%016x", seq), OrganizationID: org, CreatedAtMillis: t.UnixMilli(),
		Data: runtime.RawExtension{Raw: raw}}
}

// writeEventLog writes events 1..n to eventsNS in segments of 100 (creating
// them, or appending to the last one), as the emitter does, and waits until
// the API serves event n.
func writeEventLog(ctx context.Context, n int64) {
	GinkgoHelper()
	for first := int64(1); first <= n; first += 100 {
		seg := &orgrbacv1alpha1.EventSegment{}
		err := k8s.Get(ctx, client.ObjectKey{Namespace: eventsNS, Name: events.SegmentName(first)}, seg)
		if err != nil {
			seg = &orgrbacv1alpha1.EventSegment{ObjectMeta: metav1.ObjectMeta{Namespace: eventsNS, Name: events.SegmentName(first),
				Labels: map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}},
				Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentEvents, First: new(first)}}
		}
		seg.Spec.Events = nil
		for seq := first; seq <= min(first+99, n); seq++ {
			seg.Spec.Events = append(seg.Spec.Events, sdkEvent(seq))
		}
		if err != nil {
			Expect(k8s.Create(ctx, seg)).To(Succeed())
		} else {
			Expect(k8s.Update(ctx, seg)).To(Succeed())
		}
	}
	// The cache follows.
	Eventually(func(g Gomega) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			baseURL+"/events?limit=1&namespace="+eventsNS+"&after="+sdkEvent(n-1).ID, nil)
		g.Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Authorization", "Bearer "+eventsReaderToken)
		res, err := httpc.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = res.Body.Close() }()
		var l struct{ Data []workos.Event }
		g.Expect(res.StatusCode).To(Equal(http.StatusOK))
		g.Expect(json.NewDecoder(res.Body).Decode(&l)).To(Succeed())
		g.Expect(l.Data).To(HaveLen(1))
		g.Expect(l.Data[0].ID).To(Equal(sdkEvent(n).ID))
	}).Should(Succeed(), "the API serves event %d", n)
}

// eventIDs are the ids of the events seq from..to that keep says to keep.
func eventIDs(from, to int64, keep func(e orgrbacv1alpha1.StoredEvent) bool) []string {
	out := []string{}
	for seq := from; seq <= to; seq++ {
		if e := sdkEvent(seq); keep == nil || keep(e) {
			out = append(out, e.ID)
		}
	}
	return out
}

// The tokens of eventsNS's callers: reader (api-reader), looker (api-caller).
var eventsReaderToken, eventsLookerToken string

// sdkEventPage is a page as events.mjs prints it.
type sdkEventPage struct {
	IDs          []string `json:"ids"`
	ListMetadata struct {
		After *string `json:"after"`
	} `json:"listMetadata"`
}

// pagedIDs checks the pages of a feed (every page but the last, empty one,
// full; each cursor the page's last id, the last one the feed's) and returns
// their ids.
func pagedIDs(pages []sdkEventPage, limit int) []string {
	GinkgoHelper()
	Expect(pages).NotTo(BeEmpty())
	Expect(pages[len(pages)-1].IDs).To(BeEmpty(), "the feed ends with an empty page")
	var ids []string
	for i, p := range pages {
		if i < len(pages)-2 {
			Expect(p.IDs).To(HaveLen(limit), "page %d is full", i)
		}
		if len(p.IDs) > 0 {
			Expect(p.ListMetadata.After).To(Equal(&p.IDs[len(p.IDs)-1]), "page %d's cursor", i)
		} else if i > 0 {
			Expect(p.ListMetadata.After).To(Equal(pages[i-1].ListMetadata.After), "the empty page keeps the cursor")
		}
		ids = append(ids, p.IDs...)
	}
	return ids
}

var _ = Describe("The change events through the official WorkOS SDKs", Ordered, func() {
	const n = 230 // three segments, more than two pages of 100
	types := []string{"organization_membership.created", "organization_membership.deleted"}
	ofTypes := func(e orgrbacv1alpha1.StoredEvent) bool { return slices.Contains(types, e.Event) }
	ofAcme := func(e orgrbacv1alpha1.StoredEvent) bool { return e.OrganizationID == eventsOrgID }
	var caFile, port string

	BeforeAll(func(ctx SpecContext) {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: eventsNS}})).To(Succeed())
		eventsReaderToken = serviceAccount(ctx, eventsNS, "reader", eventsNS, readerRole)
		eventsLookerToken = serviceAccount(ctx, eventsNS, "looker", eventsNS, callerRole)
		writeEventLog(ctx, n)
		caFile = filepath.Join(GinkgoT().TempDir(), "ca.crt")
		Expect(os.WriteFile(caFile, srv.CertificatePEM(), 0o600)).To(Succeed())
		var err error
		_, port, err = net.SplitHostPort(strings.TrimPrefix(baseURL, "https://"))
		Expect(err).NotTo(HaveOccurred())
	}, NodeTimeout(2*time.Minute))

	It("Node: workos.events.listEvents pages through the log, oldest first, with each filter", func(ctx SpecContext) {
		version := sdkVersion()
		sdkDir := installSDK(ctx, version)
		cmd := exec.CommandContext(ctx, "node", filepath.Join(sdkAssets, "events.mjs"))
		cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+caFile, "WORKOS_SDK_DIR="+sdkDir,
			"WORKOS_API_KEY="+eventsReaderToken, "LOOKER_API_KEY="+eventsLookerToken, "WORKOS_PORT="+port,
			"EVENT_TYPES="+strings.Join(types, ","), "ORG_ID="+eventsOrgID,
			"RANGE_START="+sdkEventTime(200).Format(time.RFC3339Nano))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Run()).To(Succeed(), "node events.mjs: %s", stderr.String())
		var out struct {
			SDKVersion     string         `json:"sdkVersion"`
			All            []sdkEventPage `json:"all"`
			ByType         []sdkEventPage `json:"byType"`
			ByOrganization []sdkEventPage `json:"byOrganization"`
			Since          []sdkEventPage `json:"since"`
			First          struct {
				Data []struct {
					ID        string         `json:"id"`
					Event     string         `json:"event"`
					CreatedAt string         `json:"createdAt"`
					Data      map[string]any `json:"data"`
				} `json:"data"`
				ListMetadata map[string]*string `json:"listMetadata"`
			} `json:"first"`
			Forbidden *sdkError `json:"forbidden"`
			Invalid   *sdkError `json:"invalid"`
		}
		Expect(json.Unmarshal(stdout.Bytes(), &out)).To(Succeed(), "output %s", stdout.String())
		Expect(out.SDKVersion).To(Equal(version))
		AddReportEntry("@workos-inc/node calls exercised by events.mjs", "events.listEvents (pages by hand: "+
			"every type, by type, by organization, since range_start; order; 403; 422)")

		By("every event, 100 a page, in emission order across the segments")
		Expect(out.All).To(HaveLen(4))
		Expect(pagedIDs(out.All, 100)).To(Equal(eventIDs(1, n, nil)))
		By("by type (comma-joined), WorkOS's default limit of 10")
		Expect(pagedIDs(out.ByType, 10)).To(Equal(eventIDs(1, n, ofTypes)))
		Expect(len(out.ByType)).To(BeNumerically(">", 7))
		By("by organization and since range_start")
		Expect(pagedIDs(out.ByOrganization, 50)).To(Equal(eventIDs(1, n, ofAcme)))
		Expect(pagedIDs(out.Since, 100)).To(Equal(eventIDs(200, n, nil)))

		By("the SDK's event objects, oldest first whatever order says")
		Expect(out.First.Data).To(HaveLen(3))
		want := eventIDs(1, n, ofTypes)[:3]
		for i, e := range out.First.Data {
			stored := sdkEvent(int64(slices.Index(eventIDs(1, n, nil), want[i])) + 1)
			Expect(e.ID).To(Equal(stored.ID))
			Expect(e.Event).To(Equal(stored.Event))
			Expect(e.CreatedAt).To(Equal(workos.FormatTime(time.UnixMilli(stored.CreatedAtMillis))))
			// Deserialized by the SDK: organizationId, not organization_id.
			Expect(e.Data).To(HaveKeyWithValue("organizationId", stored.OrganizationID))
			Expect(e.Data).To(HaveKeyWithValue("object", "organization_membership"))
		}
		Expect(out.First.ListMetadata).To(Equal(map[string]*string{"after": &want[2]}))

		By("errors")
		Expect(out.Forbidden).NotTo(BeNil())
		Expect(out.Forbidden.Status).To(Equal(http.StatusForbidden))
		Expect(out.Invalid).NotTo(BeNil())
		Expect(out.Invalid.Status).To(Equal(http.StatusUnprocessableEntity))
		Expect(out.Invalid.Name).To(Equal("UnprocessableEntityException"))
	}, NodeTimeout(3*time.Minute))

	It("Go: Events().List's iterator pages through the log, and its cursor polls what comes next", func(ctx SpecContext) {
		version := goSDKVersion()
		bin := buildGoSDKDriver(ctx)
		cmd := exec.Command(bin)
		tokensJSON, err := json.Marshal(map[string]string{"reader": eventsReaderToken, "looker": eventsLookerToken})
		Expect(err).NotTo(HaveOccurred())
		cmd.Env = append(os.Environ(), "WORKOS_PORT="+port, "WORKOS_CA_FILE="+caFile, "WORKOS_TOKENS="+string(tokensJSON))
		d := startDriver(sdkFlavor{name: "workos-go", version: version, forbidden: "*workos.APIError",
			methods: map[string]string{"listEvents": "Events().List (Iterator)"}}, cmd)
		DeferCleanup(d.report)

		type feed struct {
			Data []struct {
				Object    string         `json:"object"`
				ID        string         `json:"id"`
				Event     string         `json:"event"`
				CreatedAt string         `json:"created_at"`
				Data      map[string]any `json:"data"`
			} `json:"data"`
			Cursor *string `json:"cursor"`
		}
		ids := func(f feed) []string {
			out := []string{}
			for _, e := range f.Data {
				out = append(out, e.ID)
			}
			return out
		}

		By("every event, 100 a page (the SDK sends order=desc: oldest first all the same)")
		var all feed
		d.ok(&all, "reader", "listEvents", map[string]any{"limit": 100})
		Expect(ids(all)).To(Equal(eventIDs(1, n, nil)))
		Expect(all.Cursor).To(Equal(new(sdkEvent(n).ID)))
		e := all.Data[41]
		Expect(e.Object).To(Equal("event"))
		Expect(e.Event).To(Equal(sdkEvent(42).Event))
		Expect(e.CreatedAt).To(Equal(workos.FormatTime(sdkEventTime(42))))
		Expect(e.Data).To(HaveKeyWithValue("organization_id", sdkEvent(42).OrganizationID))

		By("by type (the parameter repeated), the default limit")
		var byType feed
		d.ok(&byType, "reader", "listEvents", map[string]any{"events": types})
		Expect(ids(byType)).To(Equal(eventIDs(1, n, ofTypes)))
		By("by organization, and from range_start (the iterator sends it with after)")
		var byOrg, since feed
		d.ok(&byOrg, "reader", "listEvents", map[string]any{"organizationId": eventsOrgID, "limit": 30})
		Expect(ids(byOrg)).To(Equal(eventIDs(1, n, ofAcme)))
		d.ok(&since, "reader", "listEvents", map[string]any{"rangeStart": sdkEventTime(150).Format(time.RFC3339Nano),
			"rangeEnd": sdkEventTime(221).Format(time.RFC3339Nano), "limit": 20})
		Expect(ids(since)).To(Equal(eventIDs(150, 220, nil)))

		By("polling from the cursor: nothing new, then the events appended since")
		var none feed
		d.ok(&none, "reader", "listEvents", map[string]any{"after": *all.Cursor, "limit": 100})
		Expect(none.Data).To(BeEmpty())
		Expect(none.Cursor).To(Equal(all.Cursor))
		writeEventLog(ctx, n+25)
		var next feed
		d.ok(&next, "reader", "listEvents", map[string]any{"after": *all.Cursor, "limit": 10})
		Expect(ids(next)).To(Equal(eventIDs(n+1, n+25, nil)))
		Expect(next.Cursor).To(Equal(new(sdkEvent(n + 25).ID)))

		By("errors")
		forbidden := d.fails("looker", "listEvents", map[string]any{})
		Expect(forbidden.Status).To(Equal(http.StatusForbidden))
		invalid := d.fails("reader", "listEvents", map[string]any{"after": "not-an-event"})
		Expect(invalid.Status).To(Equal(http.StatusUnprocessableEntity))
		Expect(invalid.Type).To(Equal("*workos.UnprocessableEntityError"))
	}, NodeTimeout(5*time.Minute))
})
