package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// newNamespace creates a namespace of its own for one spec.
func newNamespace() string {
	ns := "f-" + rand.String(6)
	Expect(k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	return ns
}

// reference is the reference KialiAuthProxy (config/samples) in ns, with
// the htpasswd Secret it reads.
func reference(ns string) *meshv1alpha1.KialiAuthProxy {
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "samples", "mesh_v1alpha1_kialiauthproxy.yaml"))
	Expect(err).NotTo(HaveOccurred())
	kap := &meshv1alpha1.KialiAuthProxy{}
	Expect(yaml.UnmarshalStrict(raw, kap)).To(Succeed())
	kap.Namespace = ns
	return kap
}

const htpasswdLine = "admin:$2y$05$J9z6Zt2n7m3nq9wCw0C3UuKq1p6v1oQb8M4WmJ0zq5m0a8s4GkY1K"

func createHtpasswd(ns string) *corev1.Secret {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "htpasswd", Namespace: ns},
		StringData: map[string]string{"auth": htpasswdLine},
	}
	Expect(k.Create(ctx, s)).To(Succeed())
	Expect(k.Get(ctx, client.ObjectKeyFromObject(s), s)).To(Succeed())
	return s
}

// createReference creates the reference KialiAuthProxy in a new namespace.
func createReference() *meshv1alpha1.KialiAuthProxy {
	ns := newNamespace()
	createHtpasswd(ns)
	kap := reference(ns)
	Expect(k.Create(ctx, kap)).To(Succeed())
	return kap
}

// converged: see testbed.Converged.
func converged(kap *meshv1alpha1.KialiAuthProxy) func(Gomega) {
	return testbed.Converged(ctx, k, kap)
}

// condition: see testbed.Condition.
func condition(kap *meshv1alpha1.KialiAuthProxy, t string) func(Gomega) metav1.Condition {
	return testbed.Condition(ctx, k, kap, t)
}

// updateKAP changes a KialiAuthProxy, retrying on conflicts with the
// operator's status writes.
func updateKAP(kap *meshv1alpha1.KialiAuthProxy, mutate func(*meshv1alpha1.KialiAuthProxy)) {
	Eventually(func() error {
		if err := k.Get(ctx, client.ObjectKeyFromObject(kap), kap); err != nil {
			return err
		}
		mutate(kap)
		return k.Update(ctx, kap)
	}).Should(Succeed())
}

// proxyDeployment reads the proxy Deployment of kap.
func proxyDeployment(g Gomega, kap *meshv1alpha1.KialiAuthProxy) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(k.Get(ctx, client.ObjectKey{Namespace: kap.Namespace, Name: render.NamesFor(kap).Proxy}, d)).To(Succeed())
	return d
}

// owned lists the objects in ns that the operator labels as made for kap,
// for every kind it makes.
func owned(g Gomega, kap *meshv1alpha1.KialiAuthProxy) []client.Object {
	var out []client.Object
	for _, list := range ownedKinds() {
		g.Expect(k.List(ctx, list, client.InNamespace(kap.Namespace), client.MatchingLabels(render.OwnerLabels(kap)))).To(Succeed())
		items, err := meta.ExtractList(list)
		g.Expect(err).NotTo(HaveOccurred())
		gvk, err := apiutil.GVKForObject(list, k.Scheme())
		g.Expect(err).NotTo(HaveOccurred())
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
		for _, o := range items {
			// Typed list items come without their kind.
			o.GetObjectKind().SetGroupVersionKind(gvk)
			out = append(out, o.(client.Object))
		}
	}
	return out
}

func ownedKinds() []client.ObjectList {
	lists := []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &corev1.ServiceAccountList{},
		&corev1.ConfigMapList{}, &corev1.SecretList{}}
	for _, gvk := range []string{"kiali.io/v1alpha1/KialiList", "networking.istio.io/v1/VirtualServiceList",
		"security.istio.io/v1/AuthorizationPolicyList", "security.istio.io/v1/PeerAuthenticationList", "networking.k8s.io/v1/NetworkPolicyList"} {
		lists = append(lists, unstructuredList(gvk))
	}
	return lists
}

// kubectl runs kubectl against the control plane as an admin.
func kubectl(stdin string, args ...string) string {
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	raw, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(os.WriteFile(path, raw, 0o600)).To(Succeed())
	bin := filepath.Join(testbed.Root(), "bin", "kubectl")
	if _, err := os.Stat(bin); err != nil {
		bin, err = exec.LookPath("kubectl")
		Expect(err).NotTo(HaveOccurred(), "kubectl is needed: make tools installs it")
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig", path}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	return string(out)
}
