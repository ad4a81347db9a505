package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
)

// Cluster is one control plane of a suite: kube-apiserver and etcd with the
// chosen CRDs, and an admin client that talks to the API server directly,
// never through a cache, so what a spec reads is what the server holds.
type Cluster struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.WithWatch
}

// ClusterOptions add to the CRDs what some suites need of the control
// plane.
type ClusterOptions struct {
	Options
	// KeepCertificates gives the API server a certificate directory of its
	// own, which survives a restart of the server: the restarted server
	// presents the certificate the clients already trust.
	KeepCertificates bool
	// GarbageCollector runs the real garbage collector
	// (kube-controller-manager), so that deletion is what a cluster does.
	GarbageCollector bool
	// APIServerFlags are added to kube-apiserver's command line, such as
	// the authenticators a feature needs (StartOIDCCluster).
	APIServerFlags map[string]string
}

// StartCluster starts a control plane for the calling Ginkgo node and stops
// it when that node's specs are done (from BeforeSuite: the suite's end).
func StartCluster(o ClusterOptions) *Cluster {
	ginkgo.GinkgoHelper()
	env, err := NewEnvironment(o.Options)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	if o.KeepCertificates {
		dir, err := os.MkdirTemp("", "apiserver-")
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		ginkgo.DeferCleanup(os.RemoveAll, dir)
		env.ControlPlane.GetAPIServer().CertDir = dir
	}
	for flag, value := range o.APIServerFlags {
		env.ControlPlane.GetAPIServer().Configure().Append(flag, value)
	}
	cfg, err := env.Start()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	// Cleanups run last-registered first: the garbage collector stops
	// before its API server.
	ginkgo.DeferCleanup(env.Stop)
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: controller.NewScheme()})
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	if o.GarbageCollector {
		stop, err := StartGarbageCollector(env, cfg)
		gomega.Expect(err).NotTo(gomega.HaveOccurred())
		ginkgo.DeferCleanup(stop)
	}
	return &Cluster{Env: env, Config: cfg, Client: c}
}

// AdminKubeconfig writes a kubeconfig of a cluster admin (system:masters)
// to a file of the calling spec or node, for the programs a user would run.
func (c *Cluster) AdminKubeconfig() string {
	ginkgo.GinkgoHelper()
	user, err := c.Env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, c.Config)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	raw, err := user.KubeConfig()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	path := filepath.Join(ginkgo.GinkgoT().TempDir(), "kubeconfig")
	gomega.Expect(os.WriteFile(path, raw, 0o600)).To(gomega.Succeed())
	return path
}

// Kubectl runs kubectl as an admin with stdin, and returns what it printed;
// it fails the spec when kubectl fails.
func (c *Cluster) Kubectl(stdin string, args ...string) string {
	ginkgo.GinkgoHelper()
	out, err := c.KubectlResult(stdin, args...)
	gomega.Expect(err).NotTo(gomega.HaveOccurred(), out)
	return out
}

// KubectlResult runs kubectl as Kubectl does and returns its error too.
func (c *Cluster) KubectlResult(stdin string, args ...string) (string, error) {
	ginkgo.GinkgoHelper()
	cmd := exec.Command(Kubectl(), append([]string{"--kubeconfig", c.AdminKubeconfig()}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Kubectl is the kubectl the tests run: the one make tools installed into
// bin/, or the one on PATH.
func Kubectl() string {
	ginkgo.GinkgoHelper()
	bin, err := Tool("kubectl")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return bin
}
