// Package faults runs the operator through what it must survive on its own:
// its API server going away mid-reconcile, other writers on its objects,
// bursts of edits, deletion, dependencies that come and go, and objects made
// by hand in its way. One control plane (envtest: kube-apiserver and etcd)
// with every CRD the operator meets, plus the real garbage collector
// (kube-controller-manager), so deletion is what a cluster does.
package faults

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	env *envtest.Environment
	cfg *rest.Config
	// k talks to the API server directly, never through a cache.
	k   client.Client
	ctx context.Context

	stopGC    func() error
	mgrCancel context.CancelFunc
	mgrDone   chan struct{}
)

func TestFaults(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Faults Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter)), zap.UseDevMode(true)))
	ctx = context.Background()

	var err error
	env, err = testbed.NewEnvironment(testbed.All)
	Expect(err).NotTo(HaveOccurred())
	// A certificate directory of our own survives an API server restart, so
	// the restarted server presents the certificate the clients trust.
	certDir, err := os.MkdirTemp("", "faults-apiserver-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, certDir)
	env.ControlPlane.GetAPIServer().CertDir = certDir
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	k, err = client.New(cfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	stopGC, err = testbed.StartGarbageCollector(env, cfg)
	Expect(err).NotTo(HaveOccurred())
	startManager()
})

var _ = AfterSuite(func() {
	stopManager()
	if stopGC != nil {
		Expect(stopGC()).To(Succeed())
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startManager starts the operator exactly as the manager binary does.
func startManager() {
	mctx, cancel := context.WithCancel(ctx)
	mgr, _, err := operator.New(mctx, cfg, operator.Options{
		MetricsAddr:             "0",
		ProbeAddr:               "0",
		MaxConcurrentReconciles: 2,
		ProxyImage:              "registry.example.com/oauth-proxy:test",
		SkipNameValidation:      true,
	})
	Expect(err).NotTo(HaveOccurred())
	mgrCancel = cancel
	mgrDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(mgrDone)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	Expect(mgr.GetCache().WaitForCacheSync(mctx)).To(BeTrue())
}

func stopManager() {
	if mgrCancel == nil {
		return
	}
	mgrCancel()
	Eventually(mgrDone).Should(BeClosed())
	mgrCancel = nil
}
