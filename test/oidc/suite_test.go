// Package oidc logs users in through the OIDC provider's pod built from its
// real parts: oauth2-proxy v7.15.6 and the operator binary's authorize
// subcommand, run with the arguments the operator renders, a real
// kube-apiserver that trusts a mock OpenID Connect issuer, a stand-in for
// Kiali serving TLS, and a headless Chromium that follows the login.
package oidc

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
	// operator is the operator's binary, built as the image builds it.
	operator string
)

func TestOIDC(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "OIDC Login Suite")
}

var _ = BeforeSuite(func() {
	// Missing programs fail the suite, naming what installs them: a
	// skipped login test would look like a passing one.
	_, err := testbed.ChromiumPath()
	Expect(err).NotTo(HaveOccurred())
	_, err = testbed.Tool("oauth2-proxy")
	Expect(err).NotTo(HaveOccurred())

	testbed.Log()
	issuer = testbed.StartOIDC()
	cluster = testbed.StartOIDCCluster(testbed.ClusterOptions{}, issuer)
	k = cluster.Client
	operator = testbed.BuildOperator()
})
