//go:build envtest

// Package schema tests the CRD schemas (OpenAPI validation and CEL rules) against a
// real kube-apiserver started by envtest from the source-built control plane.
package schema

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/orgrbac/orgrbac/internal/testenv"
)

var k8s client.Client

func TestSchema(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "CRD schema suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(30 * time.Second)
	env, err := testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	k8s = env.Client
}, NodeTimeout(3*time.Minute))

// newNamespace creates a namespace for one spec and returns its name.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := newObject(`{"apiVersion":"v1","kind":"Namespace","metadata":{"generateName":"schema-"}}`)
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.GetName()
}
