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

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	ctx = context.Background()
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

var _ = BeforeSuite(func() { testbed.Log() })

// startCluster starts a control plane of its own for the calling
// container, until its specs are done: each layout of the Kiali operator is
// upgraded from the same snapshot, in the same namespace, and a control
// plane has no namespace controller to empty one between them.
func startCluster() {
	GinkgoHelper()
	// What the reference setup needs: the Kiali CR and Istio's kinds for its
	// exposure and lock-down.
	c := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.Options{Kiali: true, Istio: true}})
	cfg, k = c.Config, c.Client
}

// startOperator starts the current operator as the manager binary does,
// with proxyImage as its default proxy image, until the calling container's
// specs are done.
func startOperator(proxyImage string) {
	GinkgoHelper()
	o := testbed.ManagerOptions()
	o.ProxyImage = proxyImage
	testbed.StartManager(ctx, cfg, o)
}
