// Package platforms runs the operator on clusters beyond OpenShift's
// integrated OAuth server: plain Kubernetes with the Gateway API and
// cert-manager, and OpenShift with its login switched to an external OIDC
// issuer (the real config.openshift.io Authentication CRD). The control
// plane has the CRDs of those platforms and no Route CRD.
package platforms

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	// k talks to the API server directly, never through a cache.
	k   client.Client
	ctx = context.Background()
)

func TestPlatforms(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Platforms Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log()
	c := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.Options{
		Kiali: true, Istio: true, GatewayAPI: true, CertManager: true, OpenShiftAuthentication: true,
	}})
	k = c.Client
	Expect(k.Create(ctx, clusterAuthentication())).To(Succeed())
	testbed.StartManager(ctx, c.Config, testbed.ManagerOptions())
})
