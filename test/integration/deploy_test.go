package integration

import (
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// tool finds a binary the Makefile installs into bin/, or one on PATH.
func tool(name string) string {
	GinkgoHelper()
	p, err := testbed.Tool(name)
	Expect(err).NotTo(HaveOccurred())
	return p
}

var _ = DescribeTable("config/",
	func(dir string, binding string) {
		manifests, err := exec.Command(tool("kustomize"), "build", filepath.Join(testbed.Root(), "config", dir)).Output()
		Expect(err).NotTo(HaveOccurred(), "kustomize build config/"+dir)

		kubeconfigPath := cluster.AdminKubeconfig()

		// The namespace must exist for a server-side dry run of the objects
		// in it; create it for real, everything else only in a dry run.
		ns := exec.Command(tool("kubectl"), "--kubeconfig", kubeconfigPath, "create", "namespace", "kiali-auth-proxy-operator-system")
		out, err := ns.CombinedOutput()
		if !strings.Contains(string(out), "AlreadyExists") {
			Expect(err).NotTo(HaveOccurred(), string(out))
		}

		apply := exec.Command(tool("kubectl"), "--kubeconfig", kubeconfigPath,
			"apply", "--server-side", "--dry-run=server", "--field-manager=deploy-test", "-f", "-")
		apply.Stdin = strings.NewReader(string(manifests))
		out, err = apply.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		for _, want := range []string{
			"namespace/kiali-auth-proxy-operator-system serverside-applied (server dry run)",
			"serviceaccount/kiali-auth-proxy-operator-controller-manager serverside-applied (server dry run)",
			"customresourcedefinition.apiextensions.k8s.io/kialiauthproxies.mesh.kialiauth.io serverside-applied (server dry run)",
			"deployment.apps/kiali-auth-proxy-operator-controller-manager serverside-applied (server dry run)",
			"clusterrole.rbac.authorization.k8s.io/kiali-auth-proxy-operator-manager-role serverside-applied (server dry run)",
			"clusterrole.rbac.authorization.k8s.io/kiali-auth-proxy-operator-manager-cluster-role serverside-applied (server dry run)",
			"clusterrolebinding.rbac.authorization.k8s.io/kiali-auth-proxy-operator-manager-cluster-rolebinding serverside-applied (server dry run)",
			binding + " serverside-applied (server dry run)",
			"role.rbac.authorization.k8s.io/kiali-auth-proxy-operator-leader-election-role serverside-applied (server dry run)",
			"service/kiali-auth-proxy-operator-controller-manager-metrics-service serverside-applied (server dry run)",
			"validatingadmissionpolicy.admissionregistration.k8s.io/kiali-auth-proxy-operator-writes serverside-applied (server dry run)",
			"validatingadmissionpolicy.admissionregistration.k8s.io/kiali-auth-proxy-operator-requester serverside-applied (server dry run)",
		} {
			Expect(string(out)).To(ContainSubstring(want))
		}
	},
	Entry("default applies to a real API server with kubectl apply --server-side, manager-role bound cluster-wide",
		"default", "clusterrolebinding.rbac.authorization.k8s.io/kiali-auth-proxy-operator-manager-rolebinding"),
	Entry("namespaced applies to a real API server with kubectl apply --server-side, manager-role bound in its namespace",
		"namespaced", "rolebinding.rbac.authorization.k8s.io/kiali-auth-proxy-operator-manager-rolebinding"),
)
