// Package faults runs the operator through what it must survive on its own:
// its API server going away mid-reconcile, other writers on its objects,
// bursts of edits, deletion, dependencies that come and go, and objects made
// by hand in its way. One control plane (envtest: kube-apiserver and etcd)
// with every CRD the operator meets, plus the real garbage collector
// (kube-controller-manager), so deletion is what a cluster does.
package faults

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var (
	cluster *testbed.Cluster
	env     *envtest.Environment
	cfg     *rest.Config
	// k talks to the API server directly, never through a cache.
	k   client.Client
	ctx = context.Background()
)

func TestFaults(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * time.Second)
	RunSpecs(t, "Faults Suite")
}

var _ = BeforeSuite(func() {
	testbed.Log()
	// Its own certificates: the API server restarts in a spec.
	cluster = testbed.StartCluster(testbed.ClusterOptions{Options: testbed.All, KeepCertificates: true, GarbageCollector: true})
	env, cfg, k = cluster.Env, cluster.Config, cluster.Client
	testbed.StartManager(ctx, cfg, testbed.ManagerOptions())
})
