package leastprivilege

import (
	"path/filepath"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// sample loads a KialiAuthProxy from config/samples into namespace ns.
func sample(file, ns string) *meshv1alpha1.KialiAuthProxy { return testbed.Sample(file, ns) }

// reference is the reference sample in ns, with the htpasswd Secret it
// names.
func reference(ns string) *meshv1alpha1.KialiAuthProxy {
	createSecret(ns, "htpasswd", map[string][]byte{"auth": []byte(testbed.HtpasswdLine)})
	return sample(testbed.ReferenceSample, ns)
}

func createSecret(ns, name string, data map[string][]byte) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	Expect(client.IgnoreAlreadyExists(hub.Create(ctx, s))).To(Succeed())
}

// converged: see testbed.Converged.
func converged(kap *meshv1alpha1.KialiAuthProxy) func(Gomega) {
	return testbed.Converged(ctx, hub, kap)
}

// condition: see testbed.Condition.
func condition(kap *meshv1alpha1.KialiAuthProxy, t string) func(Gomega) metav1.Condition {
	return testbed.Condition(ctx, hub, kap, t)
}

// updateKAP: see testbed.UpdateKAP.
func updateKAP(kap *meshv1alpha1.KialiAuthProxy, mutate func(*meshv1alpha1.KialiAuthProxy)) {
	testbed.UpdateKAP(ctx, hub, kap, mutate)
}

// deleteAll deletes every KialiAuthProxy in the namespaces and waits until
// they are gone: the operator's finalizer is done and the garbage collector
// took what they owned.
func deleteAll(namespaces ...string) {
	for _, ns := range namespaces {
		Expect(hub.DeleteAllOf(ctx, &meshv1alpha1.KialiAuthProxy{}, client.InNamespace(ns))).To(Succeed())
	}
	Eventually(func(g Gomega) {
		for _, ns := range namespaces {
			list := &meshv1alpha1.KialiAuthProxyList{}
			g.Expect(hub.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(BeEmpty(), "KialiAuthProxies left in %s", ns)
		}
	}).Should(Succeed())
}

func object(gvk, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	gv, kind := filepath.Split(gvk)
	parsed, err := schema.ParseGroupVersion(filepath.Clean(gv))
	Expect(err).NotTo(HaveOccurred())
	u.SetGroupVersionKind(parsed.WithKind(kind))
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}
