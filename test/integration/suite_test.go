// Package integration runs the operator against a real kube-apiserver and
// etcd (envtest) with the real Istio and OpenShift Route CRDs.
package integration

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
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

	mgrCancel context.CancelFunc
	mgrDone   chan struct{}
	// reconciler is the running manager's reconciler.
	reconciler atomic.Pointer[controller.Reconciler]
	// operatorLog holds everything the operator logged.
	operatorLog = &syncBuffer{}
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Integration Suite")
}

var _ = BeforeSuite(func() {
	// Debug level: the secret-hygiene check reads everything logged.
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter, operatorLog)), zap.UseDevMode(true), zap.Level(zapcore.DebugLevel)))
	ctx = context.Background()

	var err error
	// The Kiali CRD is left out: the first spec shows the operator waiting
	// for it, then installs it.
	env, err = testbed.NewEnvironment(testbed.Options{Istio: true, Route: true})
	Expect(err).NotTo(HaveOccurred())
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	k, err = client.New(cfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
	startManager()
})

var _ = AfterSuite(func() {
	stopManager()
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startManager starts the operator exactly as the manager binary does.
func startManager() {
	mctx, cancel := context.WithCancel(ctx)
	mgr, r, err := operator.New(mctx, cfg, operator.Options{
		MetricsAddr:             "0",
		ProbeAddr:               "0",
		MaxConcurrentReconciles: 2,
		ProxyImage:              "registry.example.com/oauth-proxy:test",
		SkipNameValidation:      true,
	})
	Expect(err).NotTo(HaveOccurred())
	reconciler.Store(r)
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
