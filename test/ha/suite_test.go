// Package ha runs two manager processes, built from ./cmd as the image is,
// against one control plane with leader election on, kills the leader, and
// reads the status metrics both serve.
package ha

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

const leaseNamespace = "kiali-auth-proxy-operator-system"

var (
	ctx        = context.Background()
	k          client.Client
	binary     string
	kubeconfig string
)

func TestHA(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(200 * time.Millisecond)
	SetDefaultConsistentlyDuration(3 * time.Second)
	RunSpecs(t, "HA Suite")
}

var _ = BeforeSuite(func() {
	c := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.All})
	k = c.Client
	testbed.EnsureNamespace(ctx, k, leaseNamespace)
	kubeconfig = c.AdminKubeconfig()

	binary = filepath.Join(GinkgoT().TempDir(), "manager")
	build := exec.Command("go", "build", "-trimpath", "-o", binary, "./cmd")
	build.Dir = testbed.Root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
})
