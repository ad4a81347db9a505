// Package authorize runs the authorizing proxy of the OIDC provider's pod
// (internal/authorize, as the "authorize" subcommand configures it) against
// a real kube-apiserver that trusts a mock OIDC issuer: the API server, not
// the proxy, decides who a token is and what that user may do.
package authorize

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
	ctx = context.Background()

	issuer  *testbed.OIDC
	cluster *testbed.Cluster
	// k talks to the API server as an admin, never through a cache.
	k client.Client
)

func TestAuthorize(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Authorize Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log()
	issuer = testbed.StartOIDC()
	cluster = testbed.StartOIDCCluster(testbed.ClusterOptions{}, issuer)
	k = cluster.Client
})
