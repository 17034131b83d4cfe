//go:build envtest

package webhooks

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

var _ = Describe("Webhook deliveries", func() {
	It("delivers every event after the endpoint's creation, in order, verified by both official SDKs", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		const secret = "whsec_orgrbac-test-secret"
		createSecret(ctx, ns, "hook-secret", "secret", secret)
		em := &emitter{ns: ns}
		before := em.emit(ctx, 3, time.Minute) // older than the endpoints: never delivered
		nodeR, goR := startReceiver("node", secret, 0), startReceiver("go", secret, 0)
		createEndpoint(ctx, ns, "node", nodeR.url(), "hook-secret")
		createEndpoint(ctx, ns, "go", goR.url(), "hook-secret")
		delivered0 := value(deliveriesTotal.WithLabelValues(resultDelivered))

		var want []string
		for _, n := range []int{1, 25, 7} {
			want = append(want, em.emit(ctx, n, 0)...)
			time.Sleep(200 * time.Millisecond)
		}
		for _, r := range []receiver{nodeR, goR} {
			Eventually(func(g Gomega) {
				s := r.stats(g)
				g.Expect(s.Rejected).To(BeZero(), "%s SDK rejected a delivery", r.SDK)
				g.Expect(s.IDs).To(Equal(want), "%s SDK: every event, in order", r.SDK)
			}).WithContext(ctx).Should(Succeed())
		}
		for _, name := range []string{"node", "go"} {
			Eventually(func(g Gomega) {
				ep := endpoint(ctx, g, ns, name)
				g.Expect(ep.Status.LastDeliveredEventID).To(Equal(want[len(want)-1]))
				g.Expect(ep.Status.DeliveredEvents).To(BeEquivalentTo(len(want)))
				g.Expect(ep.Status.ConsecutiveFailures).To(BeZero())
				g.Expect(ep.Status.ObservedGeneration).To(Equal(ep.Generation))
				g.Expect(ready(ep)).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", ReasonIdle)))
			}).WithContext(ctx).Should(Succeed())
		}
		ns0, go0 := nodeR.stats(Default), goR.stats(Default)
		Expect(ns0.IDs).NotTo(ContainElements(before))
		Expect(value(deliveriesTotal.WithLabelValues(resultDelivered)) - delivered0).To(BeNumerically(">=", 2*len(want)))
		lag, ok := deliveryLag.lag(types.NamespacedName{Namespace: ns, Name: "node"})
		Expect(ok).To(BeTrue(), "a lag series for the endpoint")
		Expect(lag).To(BeZero())
		report := fmt.Sprintf("emitted %d (+%d before the endpoints), @workos-inc/node %s verified %d, workos-go %s verified %d, "+
			"duplicates 0, lost 0", len(want), len(before), ns0.SDKVersion, ns0.Verified, go0.SDKVersion, go0.Verified)
		AddReportEntry("deliveries verified by the official SDKs", report)
		GinkgoWriter.Println(report)
	})

	It("retries a failing receiver with backoff, shows the failures, then recovers", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		const secret = "whsec_retry"
		createSecret(ctx, ns, "hook-secret", "secret", secret)
		r := startReceiver("go", secret, 3)
		createEndpoint(ctx, ns, "flaky", r.url(), "hook-secret")
		em := &emitter{ns: ns}
		start := time.Now()
		want := em.emit(ctx, 2, 0)

		var sawFailures atomic.Int32
		Eventually(func(g Gomega) {
			ep := endpoint(ctx, g, ns, "flaky")
			g.Expect(ep.Status.ConsecutiveFailures).To(BeNumerically(">=", 2))
			g.Expect(ep.Status.NextRetryAt).NotTo(BeNil())
			g.Expect(ready(ep)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", ReasonDeliveryFailing),
				HaveField("Message", "the destination answered HTTP 503")))
			sawFailures.Store(ep.Status.ConsecutiveFailures)
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(r.stats(g).IDs).To(Equal(want))
			ep := endpoint(ctx, g, ns, "flaky")
			g.Expect(ep.Status.ConsecutiveFailures).To(BeZero())
			g.Expect(ep.Status.NextRetryAt).To(BeNil())
			g.Expect(ep.Status.DeliveredEvents).To(BeEquivalentTo(2))
			g.Expect(ready(ep)).To(HaveField("Status", metav1.ConditionTrue))
		}).WithContext(ctx).Should(Succeed())
		took := time.Since(start)
		s := r.stats(Default)
		Expect(s.Failed).To(Equal(3))
		// Backoff 1 s, 2 s, 4 s, each shortened by at most a fifth.
		Expect(took).To(BeNumerically(">=", 5600*time.Millisecond))
		AddReportEntry("retries", fmt.Sprintf("3 scripted failures (status showed consecutiveFailures=%d), delivered after %v",
			sawFailures.Load(), took.Round(100*time.Millisecond)))
	})

	It("resumes after lastDeliveredEventID when the manager restarts: none lost, duplicates identifiable by id", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		const secret = "whsec_restart"
		createSecret(ctx, ns, "hook-secret", "secret", secret)
		r := startReceiver("node", secret, 0)
		createEndpoint(ctx, ns, "resume", r.url(), "hook-secret")
		em := &emitter{ns: ns}
		for range 3 {
			em.emit(ctx, 200, 0)
		}
		Eventually(func(g Gomega) {
			g.Expect(len(r.stats(g).IDs)).To(BeNumerically(">=", 50))
		}).WithContext(ctx).WithPolling(10 * time.Millisecond).Should(Succeed())
		stopManager()
		atStop := r.stats(Default)
		recorded := endpoint(ctx, Default, ns, "resume").Status.LastDeliveredEventID
		em.emit(ctx, 100, 0) // while no manager runs
		stopManager = startManager()

		Eventually(func(g Gomega) {
			s := r.stats(g)
			g.Expect(s.Rejected).To(BeZero())
			unique, _ := dedupe(s.IDs)
			g.Expect(unique).To(Equal(em.ids))
			g.Expect(endpoint(ctx, g, ns, "resume").Status.LastDeliveredEventID).To(Equal(em.ids[len(em.ids)-1]))
		}).WithContext(ctx).Should(Succeed())
		s := r.stats(Default)
		unique, dups := dedupe(s.IDs)
		report := fmt.Sprintf("emitted %d, delivered %d before the stop (status recorded %d), %d deliveries in all, "+
			"%d distinct, duplicates %d, lost %d", len(em.ids), len(atStop.IDs), indexOf(em.ids, recorded)+1,
			len(s.IDs), len(unique), dups, len(em.ids)-len(unique))
		AddReportEntry("restart", report)
		GinkgoWriter.Println(report)
	})

	It("refuses a destination outside --webhook-destinations without connecting", func(ctx SpecContext) {
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		Expect(err).NotTo(HaveOccurred())
		var accepted atomic.Int32
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				_ = conn.Close()
			}
		}()
		DeferCleanup(ln.Close)
		ns := newNamespace(ctx)
		createSecret(ctx, ns, "hook-secret", "secret", "s")
		createEndpoint(ctx, ns, "outside", "http://"+ln.Addr().String()+"/", "hook-secret")
		(&emitter{ns: ns}).emit(ctx, 1, 0)
		Eventually(func(g Gomega) {
			ep := endpoint(ctx, g, ns, "outside")
			g.Expect(ready(ep)).To(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", ReasonDestinationRefused)))
			g.Expect(ep.Status.ConsecutiveFailures).To(BeNumerically(">=", 2), "retried like a failure")
			g.Expect(ep.Status.DeliveredEvents).To(BeZero())
		}).WithContext(ctx).Should(Succeed())
		Expect(accepted.Load()).To(BeZero(), "no connection reached the refused destination")
	})

	It("says SecretMissing without the Secret or its key, recovers when it appears, and is refused with a wrong one", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		const secret = "whsec_right"
		r := startReceiver("go", secret, 0)
		createEndpoint(ctx, ns, "nosecret", r.url(), "hook-secret")
		createSecret(ctx, ns, "other-key", "token", secret)
		createEndpoint(ctx, ns, "nokey", r.url(), "other-key")
		em := &emitter{ns: ns}
		want := em.emit(ctx, 1, 0)
		for _, name := range []string{"nosecret", "nokey"} {
			Eventually(func(g Gomega) {
				g.Expect(ready(endpoint(ctx, g, ns, name))).To(And(HaveField("Status", metav1.ConditionFalse),
					HaveField("Reason", ReasonSecretMissing), HaveField("Message", Not(ContainSubstring(secret)))))
			}).WithContext(ctx).Should(Succeed())
		}
		Expect(r.stats(Default).Received).To(BeZero(), "nothing sent unsigned")

		createSecret(ctx, ns, "hook-secret", "secret", secret)
		Eventually(func(g Gomega) {
			g.Expect(r.stats(g).IDs).To(Equal(want))
			g.Expect(ready(endpoint(ctx, g, ns, "nosecret"))).To(HaveField("Status", metav1.ConditionTrue))
		}).WithContext(ctx).Should(Succeed())

		createSecret(ctx, ns, "wrong", "secret", "whsec_wrong")
		createEndpoint(ctx, ns, "wrongsecret", r.url(), "wrong")
		em.emit(ctx, 1, 0)
		Eventually(func(g Gomega) {
			ep := endpoint(ctx, g, ns, "wrongsecret")
			g.Expect(ready(ep)).To(And(HaveField("Reason", ReasonDeliveryFailing),
				HaveField("Message", "the destination answered HTTP 400")))
			g.Expect(r.stats(g).Rejected).To(BeNumerically(">=", 1), "the Go SDK refused the wrong signature")
		}).WithContext(ctx).Should(Succeed())
	})

	It("pauses a disabled endpoint and keeps its progress", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		createSecret(ctx, ns, "hook-secret", "secret", "s")
		r := startReceiver("go", "s", 0)
		createEndpoint(ctx, ns, "off", r.url(), "hook-secret", func(ep *orgrbacv1alpha1.WebhookEndpoint) {
			ep.Spec.Enabled = new(false)
		})
		(&emitter{ns: ns}).emit(ctx, 2, 0)
		Eventually(func(g Gomega) {
			g.Expect(ready(endpoint(ctx, g, ns, "off"))).To(And(HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", ReasonDisabled)))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(r.stats(g).Received).To(BeZero())
		}).WithContext(ctx).WithTimeout(time.Second).Should(Succeed())
	})
})

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

var _ = context.Background

// value is a counter's current value.
func value(m prometheus.Metric) float64 {
	GinkgoHelper()
	var d dto.Metric
	Expect(m.Write(&d)).To(Succeed())
	return d.Counter.GetValue()
}
