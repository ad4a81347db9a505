package helm

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var _ = It("is what make helm-chart makes of config/ now", func() {
	cmd := exec.Command("go", "run", "./hack/helmchart", "-check", "-version", makeVersion(), "-kustomize", tool("kustomize"))
	cmd.Dir = testbed.Root()
	// The generator's message names the stale files and says to run make
	// helm-chart.
	if out, err := cmd.CombinedOutput(); err != nil {
		Fail(fmt.Sprintf("%s(%v)", out, err))
	}
})

var _ = It("passes helm lint --strict with the default values and with watchNamespaces", func() {
	helm("lint", "--strict", chartDir())
	helm("lint", "--strict", chartDir(), "--set", "watchNamespaces={team-a,team-b}")
})

var _ = DescribeTable("helm template makes the objects kustomize builds",
	func(want func() []*unstructured.Unstructured, values ...string) {
		got := decode(render(append([]string{"--include-crds"}, values...)...))
		expectSameObjects(got, want())
	},
	Entry("default values: config/default, manager-role bound cluster-wide",
		func() []*unstructured.Unstructured { return kustomizeInstall("default") }),
	Entry("watchNamespaces of the release's namespace: config/namespaced (OwnNamespace)",
		func() []*unstructured.Unstructured {
			return watching(kustomizeInstall("namespaced"), releaseNamespace)
		},
		"--set", "watchNamespaces={"+releaseNamespace+"}"),
	Entry("watchNamespaces of two others: config/namespaced with manager-role bound in each (MultiNamespace)",
		func() []*unstructured.Unstructured {
			return watching(kustomizeInstall("namespaced"), "team-a", "team-b")
		},
		"--set", "watchNamespaces={team-a,team-b}"),
	Entry("guard.enabled=false: config/default without config/guard",
		func() []*unstructured.Unstructured { return without(kustomizeInstall("default"), "guard") },
		"--set", "guard.enabled=false"),
)

var _ = It("takes its scheduling and manager values into the Deployment", func() {
	objs := decode(render("--set", "replicas=2", "--set", "resources.limits.memory=1Gi",
		"--set", "nodeSelector.pool=ops", "--set", "tolerations[0].key=ops", "--set", "tolerations[0].operator=Exists",
		"--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool",
		"--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
		"--set", "image.repository=registry.example.com/kap", "--set", "image.tag=v9"))
	var d *unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			d = u
		}
	}
	Expect(d).NotTo(BeNil())
	Expect(d.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("replicas", BeEquivalentTo(2))))
	pod, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	Expect(pod).To(HaveKeyWithValue("nodeSelector", map[string]any{"pool": "ops"}))
	Expect(pod).To(HaveKeyWithValue("tolerations", ConsistOf(map[string]any{"key": "ops", "operator": "Exists"})))
	Expect(pod).To(HaveKey("affinity"))
	manager := pod["containers"].([]any)[0].(map[string]any)
	Expect(manager).To(HaveKeyWithValue("image", "registry.example.com/kap:v9"))
	Expect(manager).To(HaveKeyWithValue("args", ContainElement("--leader-elect")))
	Expect(manager).To(HaveKeyWithValue("resources", HaveKeyWithValue("limits", map[string]any{"memory": "1Gi"})))
	Expect(manager).To(HaveKeyWithValue("env", ContainElement(map[string]any{"name": "RELATED_IMAGE_AUTHORIZER", "value": "registry.example.com/kap:v9"})))

	objs = decode(helm("template", release, chartDir(), "--namespace", releaseNamespace, "--set", "leaderElection=false"))
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			Expect(containers[0]).To(HaveKeyWithValue("args", Not(ContainElement("--leader-elect"))))
			Expect(containers[0]).To(HaveKeyWithValue("image", "quay.io/kialiauth/kiali-auth-proxy-operator:v"+makeVersion()),
				"the default tag is the chart's appVersion, the release v<VERSION>")
		}
	}
})

var _ = DescribeTable("helm template refuses",
	func(message string, args ...string) {
		_, stderr, err := runResult(nil, tool("helm"), append([]string{"template", release, chartDir()}, args...)...)
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring(message))
	},
	Entry("a misspelt value, which would otherwise install for every namespace",
		"additional properties 'watchNamespace' not allowed", "--set", "watchNamespace=team-a"),
	Entry("a watched namespace that is not a namespace name",
		"watchNamespaces", "--set", "watchNamespaces={team-a\\,team-b}"),
	Entry("two managers without leader election",
		"replicas above 1 need leaderElection", "--set", "replicas=2", "--set", "leaderElection=false"),
	Entry("a Kubernetes without admissionregistration.k8s.io/v1 ValidatingAdmissionPolicies",
		"requires kubeVersion", "--kube-version", "1.29.0"),
)

var _ = Describe("applied with kubectl apply --server-side", Ordered, func() {
	It("installs crds/ first, then the templates with the default values", func() {
		kubectl(nil, "create", "namespace", releaseNamespace)
		kubectl(nil, "apply", "--server-side", "--field-manager="+fieldManager, "-f", filepath.Join(chartDir(), "crds"))
		kubectl(nil, "wait", "--for=condition=Established", "--timeout=30s", "customresourcedefinition/"+crdName)
		var crds []*unstructured.Unstructured
		for _, u := range decode(render("--include-crds")) {
			if u.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, u)
			}
		}
		Expect(crds).To(HaveLen(1))
		expectLive(crds)

		manifest := render()
		kubectl(manifest, "apply", "--server-side", "--field-manager="+fieldManager, "-f", "-")
		objs := decode(manifest)
		expectLive(objs)
		Expect(kinds(objs)).To(ContainElements("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
			"Service", "Deployment", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"))
	})

	It("moves to watched namespaces as helm upgrade does: the ClusterRoleBinding of manager-role gives way to RoleBindings", func() {
		before := index(decode(render()))
		manifest := render("--set", "watchNamespaces={team-a,team-b}")
		after := decode(manifest)
		for _, ns := range []string{"team-a", "team-b"} {
			kubectl(nil, "create", "namespace", ns)
		}
		for _, u := range after {
			delete(before, key(u))
		}
		Expect(keys(before)).To(ConsistOf("ClusterRoleBinding /" + managerRoleBinding))
		for _, u := range before {
			kubectl(nil, "delete", "--wait", strings.ToLower(u.GetKind())+".rbac.authorization.k8s.io", u.GetName())
		}
		kubectl(manifest, "apply", "--server-side", "--field-manager="+fieldManager, "-f", "-")
		expectLive(after)
		Expect(string(kubectl(nil, "get", "rolebindings", "-A", "--field-selector", "metadata.name="+managerRoleBinding,
			"-o", "jsonpath={.items[*].metadata.namespace}"))).To(Equal("team-a team-b"))
		_, stderr, err := runResult(nil, tool("kubectl"), "--kubeconfig", kubeconfig, "get", "clusterrolebinding", managerRoleBinding)
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("NotFound"))
	})

	It("is what helm install makes too, and helm uninstall leaves the CRD", func() {
		// Out of the way first: Helm adopts no object it did not make.
		manifest := render("--set", "watchNamespaces={team-a,team-b}")
		kubectl(manifest, "delete", "--wait", "-f", "-")
		kubectl(nil, "delete", "--wait", "customresourcedefinition", crdName)

		helmArgs := append([]string{"--kubeconfig", kubeconfig, "--namespace", releaseNamespace}, imageValues()...)
		helm(append([]string{"install", release, chartDir(), "--set", "watchNamespaces={team-a,team-b}"}, helmArgs...)...)
		kubectl(nil, "wait", "--for=condition=Established", "--timeout=30s", "customresourcedefinition/"+crdName)
		expectLive(decode(manifest))

		helm("uninstall", release, "--kubeconfig", kubeconfig, "--namespace", releaseNamespace, "--wait")
		kubectl(nil, "get", "customresourcedefinition", crdName)
		_, stderr, err := runResult(nil, tool("kubectl"), "--kubeconfig", kubeconfig, "get", "deployment", "--namespace", releaseNamespace,
			"kiali-auth-proxy-operator-controller-manager")
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("NotFound"))
	})
})

// expectLive fails unless the API server holds each object with every
// field as rendered.
func expectLive(objs []*unstructured.Unstructured) {
	GinkgoHelper()
	for _, u := range objs {
		args := []string{"get", strings.ToLower(u.GetKind()) + "." + u.GroupVersionKind().Group, u.GetName(), "-o", "json"}
		if u.GroupVersionKind().Group == "" {
			args[1] = strings.ToLower(u.GetKind())
		}
		if ns := u.GetNamespace(); ns != "" {
			args = append(args, "--namespace", ns)
		}
		live := decode(kubectl(nil, args...))
		Expect(live).To(HaveLen(1))
		Expect(missingFrom(live[0].Object, u.Object, "")).To(BeEmpty(), "%s is not as rendered there", key(u))
	}
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, u := range objs {
		out = append(out, u.GetKind())
	}
	return out
}
