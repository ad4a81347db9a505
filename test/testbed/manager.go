package testbed

import (
	"context"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/client-go/rest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/operator"
)

// TestProxyImage is the default proxy image of the managers the suites
// start: no pod runs in a control plane, so any reference will do.
const TestProxyImage = "registry.example.com/oauth-proxy:test"

// ManagerOptions are the options a suite's manager starts with: those of
// the manager binary, without the metrics and probe listeners, and with
// controller names that may repeat in one process (suites restart it).
func ManagerOptions() operator.Options {
	return operator.Options{
		MetricsAddr:             "0",
		ProbeAddr:               "0",
		MaxConcurrentReconciles: 2,
		ProxyImage:              TestProxyImage,
		SkipNameValidation:      true,
	}
}

// Manager is the operator running in the test process, built exactly as
// the manager binary builds it.
type Manager struct {
	// Reconciler is the running manager's reconciler.
	Reconciler *controller.Reconciler
	cancel     context.CancelFunc
	done       chan struct{}
}

// StartManager starts the operator against cfg with o, waits until its
// caches are synced, and stops it when the calling node ends (from
// BeforeSuite: the suite's end).
func StartManager(ctx context.Context, cfg *rest.Config, o operator.Options) *Manager {
	ginkgo.GinkgoHelper()
	m := RunManager(ctx, cfg, o)
	ginkgo.DeferCleanup(m.Stop)
	return m
}

// RunManager starts the operator as StartManager does, for a suite that
// stops it itself (with Stop) and may start another in its place.
func RunManager(ctx context.Context, cfg *rest.Config, o operator.Options) *Manager {
	ginkgo.GinkgoHelper()
	mctx, cancel := context.WithCancel(ctx)
	mgr, r, err := operator.New(mctx, cfg, o)
	if err != nil {
		cancel()
	}
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	m := &Manager{Reconciler: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer ginkgo.GinkgoRecover()
		defer close(m.done)
		gomega.Expect(mgr.Start(mctx)).To(gomega.Succeed())
	}()
	gomega.Expect(mgr.GetCache().WaitForCacheSync(mctx)).To(gomega.BeTrue(), "the manager's caches did not sync")
	return m
}

// Stop stops the manager and waits until it has returned; stopping a
// stopped manager does nothing.
func (m *Manager) Stop() {
	if m == nil {
		return
	}
	m.cancel()
	gomega.Eventually(m.done).Should(gomega.BeClosed())
}
