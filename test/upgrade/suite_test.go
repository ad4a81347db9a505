package upgrade

import (
	"context"
	"io"
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
	ctx context.Context
	env *envtest.Environment
	cfg *rest.Config
	k   client.WithWatch
)

func TestUpgrade(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Upgrade Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(GinkgoWriter)), zap.UseDevMode(true)))
	ctx = context.Background()
	var err error
	env, err = testbed.NewEnvironment(testbed.All)
	Expect(err).NotTo(HaveOccurred())
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	k, err = client.NewWithWatch(cfg, client.Options{Scheme: controller.NewScheme()})
	Expect(err).NotTo(HaveOccurred())
})

// startOperator starts this release's operator with its default proxy
// image.
func startOperator(proxyImage string) {
	mctx, cancel := context.WithCancel(ctx)
	mgr, _, err := operator.New(mctx, cfg, operator.Options{
		MetricsAddr: "0", ProbeAddr: "0", MaxConcurrentReconciles: 2, ProxyImage: proxyImage, SkipNameValidation: true,
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
}
