package faults

import (
	"strings"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// newNamespace creates a namespace of its own for one spec.
func newNamespace() string { return testbed.NewNamespace(ctx, k, "f-") }

// reference is the reference KialiAuthProxy (config/samples) in ns.
func reference(ns string) *meshv1alpha1.KialiAuthProxy { return testbed.Reference(ns) }

func createHtpasswd(ns string) *corev1.Secret { return testbed.CreateHtpasswd(ctx, k, ns) }

// createReference creates the reference KialiAuthProxy in a new namespace,
// with the htpasswd Secret it reads.
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

// updateKAP: see testbed.UpdateKAP.
func updateKAP(kap *meshv1alpha1.KialiAuthProxy, mutate func(*meshv1alpha1.KialiAuthProxy)) {
	testbed.UpdateKAP(ctx, k, kap, mutate)
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
		err := k.List(ctx, list, client.InNamespace(kap.Namespace), client.MatchingLabels(render.OwnerLabels(kap)))
		if meta.IsNoMatchError(err) {
			// A kind whose CRD this control plane does not serve (the
			// Gateway API's, cert-manager's) has no objects.
			continue
		}
		g.Expect(err).To(Succeed())
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

// ownedKinds are lists of every kind the operator makes (controller.Kinds):
// typed for the kinds every API server serves, unstructured for those of
// other products' CRDs, at the version the operator prefers.
func ownedKinds() []client.ObjectList {
	var lists []client.ObjectList
	for _, kind := range controller.Kinds {
		gvk := kind.WithVersion(kind.Versions[0])
		gvk.Kind += "List"
		if kind.Optional() {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk)
			lists = append(lists, l)
			continue
		}
		obj, err := k.Scheme().New(gvk)
		Expect(err).NotTo(HaveOccurred())
		lists = append(lists, obj.(client.ObjectList))
	}
	return lists
}

// kubectl runs kubectl against the control plane as an admin.
func kubectl(stdin string, args ...string) string { return cluster.Kubectl(stdin, args...) }
