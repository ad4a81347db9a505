// Package integration runs the operator against a real kube-apiserver and
// etcd (envtest) with the real Istio and OpenShift Route CRDs.
package integration

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	cluster *testbed.Cluster
	env     *envtest.Environment
	cfg     *rest.Config
	// k talks to the API server directly, never through a cache.
	k   client.Client
	ctx = context.Background()

	manager *testbed.Manager
	// reconciler is the running manager's reconciler.
	reconciler atomic.Pointer[controller.Reconciler]
	// operatorLog holds everything the operator logged, down to debug
	// level: the secret-hygiene check reads it.
	operatorLog = &testbed.SyncBuffer{}
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Integration Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log(operatorLog)
	// The Kiali CRD is left out: the first spec shows the operator waiting
	// for it, then installs it.
	cluster = testbed.StartCluster(testbed.ClusterOptions{Options: testbed.Options{Istio: true, Route: true}})
	env, cfg, k = cluster.Env, cluster.Config, cluster.Client
	startManager()
	// The manager running at the end, which a spec may have restarted.
	DeferCleanup(func() { stopManager() })
})

// startManager starts the operator exactly as the manager binary does.
func startManager() {
	manager = testbed.RunManager(ctx, cfg, testbed.ManagerOptions())
	reconciler.Store(manager.Reconciler)
}

func stopManager() { manager.Stop() }
