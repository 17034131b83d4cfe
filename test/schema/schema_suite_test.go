// Package schema tests the CRD schemas (OpenAPI validation and CEL rules) against a
// real kube-apiserver started by envtest from the source-built control plane.
package schema

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var (
	cfg     *rest.Config
	k8s     client.Client
	testEnv *envtest.Environment
)

func TestSchema(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "CRD schema suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(30 * time.Second)
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "starting the control plane; is KUBEBUILDER_ASSETS set? `make test` sets it")
	DeferCleanup(testEnv.Stop)

	k8s, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(3*time.Minute))

// newNamespace creates a namespace for one spec and returns its name.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := newObject(`{"apiVersion":"v1","kind":"Namespace","metadata":{"generateName":"schema-"}}`)
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.GetName()
}
