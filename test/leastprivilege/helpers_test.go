package leastprivilege

import (
	"os"
	"path/filepath"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

const htpasswdLine = "admin:$2y$05$J9z6Zt2n7m3nq9wCw0C3UuKq1p6v1oQb8M4WmJ0zq5m0a8s4GkY1K\n"

// sample loads a KialiAuthProxy from config/samples into namespace ns.
func sample(file, ns string) *meshv1alpha1.KialiAuthProxy {
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "samples", file))
	Expect(err).NotTo(HaveOccurred())
	kap := &meshv1alpha1.KialiAuthProxy{}
	Expect(yaml.UnmarshalStrict(raw, kap)).To(Succeed())
	kap.Namespace = ns
	return kap
}

// reference is the reference sample in ns, with the htpasswd Secret it
// names.
func reference(ns string) *meshv1alpha1.KialiAuthProxy {
	createSecret(ns, "htpasswd", map[string][]byte{"auth": []byte(htpasswdLine)})
	return sample("mesh_v1alpha1_kialiauthproxy.yaml", ns)
}

func createSecret(ns, name string, data map[string][]byte) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	Expect(client.IgnoreAlreadyExists(hub.Create(ctx, s))).To(Succeed())
}

// converged checks that the status describes the current generation with
// the Kiali CR, the exposure and the lock-down applied and no problem.
func converged(kap *meshv1alpha1.KialiAuthProxy) func(Gomega) {
	return func(g Gomega) {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
		g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation), "status is not for the latest generation")
		for _, t := range []string{controller.ConditionKialiConfigured, controller.ConditionExposed} {
			c := meta.FindStatusCondition(cur.Status.Conditions, t)
			g.Expect(c).NotTo(BeNil(), "condition %s not set", t)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", t, c.Message)
		}
		g.Expect(testbed.LockDownApplied(cur)).To(BeTrue(), "the lock-down is not applied")
		d := meta.FindStatusCondition(cur.Status.Conditions, controller.ConditionDegraded)
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.Status).To(Equal(metav1.ConditionFalse), "Degraded: %s", d.Message)
	}
}

// condition reads one condition of the latest generation.
func condition(kap *meshv1alpha1.KialiAuthProxy, t string) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		cur := &meshv1alpha1.KialiAuthProxy{}
		g.Expect(hub.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
		c := meta.FindStatusCondition(cur.Status.Conditions, t)
		g.Expect(c).NotTo(BeNil(), "condition %s not set yet", t)
		g.Expect(c.ObservedGeneration).To(Equal(cur.Generation), "condition %s is not for the latest generation", t)
		return *c
	}
}

// updateKAP changes a KialiAuthProxy, retrying on conflicts with the
// operator's status writes.
func updateKAP(kap *meshv1alpha1.KialiAuthProxy, mutate func(*meshv1alpha1.KialiAuthProxy)) {
	Eventually(func() error {
		if err := hub.Get(ctx, client.ObjectKeyFromObject(kap), kap); err != nil {
			return err
		}
		mutate(kap)
		return hub.Update(ctx, kap)
	}).Should(Succeed())
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
