// Package helm checks the Helm chart (config/helm/kiali-auth-proxy-operator)
// against the kustomize install it is generated from: it is what make
// helm-chart makes of config/ now, the helm binary users run renders from it
// exactly the objects kustomize builds, and those objects apply to a real
// API server.
//
// The chart's CRD is in crds/ because Helm installs that directory before
// the templates and never templates, upgrades or deletes it. In helm
// v4.3.2, pkg/action/install.go's Install.RunWithContext calls installCRDs
// on chrt.CRDObjects() before it renders anything, and skips a CRD that
// already exists; pkg/chart/v2/chart.go's CRDObjects is the files under
// crds/; besides install, only rendering with --include-crds
// (pkg/action/action.go) reads them, and pkg/action/upgrade.go and
// uninstall.go never do. This suite applies crds/ first and the templates
// after, as helm install does.
package helm

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	cluster    *testbed.Cluster
	kubeconfig string
)

func TestHelm(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Helm Chart Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log()
	// Helm keeps its settings, cache and plugins under these; none of the
	// user's may change what it renders.
	home := GinkgoT().TempDir()
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		GinkgoT().Setenv(v, home+"/"+v)
	}

	// A bare control plane, without the operator's CRD: the chart's crds/
	// installs it.
	assets, err := testbed.Assets()
	Expect(err).NotTo(HaveOccurred())
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	cluster = &testbed.Cluster{Env: env, Config: cfg}
	kubeconfig = cluster.AdminKubeconfig()
})
