// Package upgrade checks that what the previous release left in a cluster
// becomes what this release renders without downtime: objects change in
// place, the proxy rolls with maxUnavailable 0, and nothing is deleted and
// created again (a new Service would lose its address, a new session secret
// would log every user out).
//
// testdata holds the previous release's objects; TestUpgrade migrates them
// with the current operator against a real API server (envtest), and
// TestPreviousReleaseNeedsNoReplacement compares them with what the current
// code renders on the fields that cannot change in place.
package upgrade

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	ctx context.Context
	cfg *rest.Config
	// k talks to the API server directly, never through a cache.
	k client.WithWatch
)

func TestUpgrade(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Upgrade Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx = context.Background()
})

// startCluster starts a control plane of its own for the calling
// container, until its specs are done: each layout of the Kiali operator is
// upgraded from the same snapshot, in the same namespace, and a control
// plane has no namespace controller to empty one between them.
func startCluster() {
	GinkgoHelper()
	// What the reference setup needs: the Kiali CR and Istio's kinds for its
	// exposure and lock-down.
	env, err := testbed.NewEnvironment(testbed.Options{Kiali: true, Istio: true})
	Expect(err).NotTo(HaveOccurred())
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	k, err = client.NewWithWatch(cfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
}

// startOperator starts the current operator as the manager binary does,
// with proxyImage as its default proxy image, until the calling container's
// specs are done.
func startOperator(proxyImage string) {
	mctx, cancel := context.WithCancel(ctx)
	mgr, _, err := operator.New(mctx, cfg, operator.Options{
		MetricsAddr:             "0",
		ProbeAddr:               "0",
		MaxConcurrentReconciles: 2,
		ProxyImage:              proxyImage,
		SkipNameValidation:      true,
	})
	Expect(err).NotTo(HaveOccurred())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	DeferCleanup(func() {
		cancel()
		Eventually(done).Should(BeClosed())
	})
	Expect(mgr.GetCache().WaitForCacheSync(mctx)).To(BeTrue())
}
