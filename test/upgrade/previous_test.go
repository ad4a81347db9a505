package upgrade

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
)

// leaveAsPrevious puts the previous release's objects in the cluster the
// way its operator wrote them, all controlled by kap: server-side applied
// under the operator's field manager by the applier the operator uses
// (which also leaves its applied-hash annotation), and the session secret
// created once. kap's status stays empty, so the convergence the specs see
// is the current operator's doing.
func leaveAsPrevious(kap *meshv1alpha1.KialiAuthProxy, objs []*unstructured.Unstructured) {
	GinkgoHelper()
	applier := &apply.Applier{Client: k, Scheme: k.Scheme(), FieldOwner: controller.FieldOwner}
	for _, o := range objs {
		o = o.DeepCopy()
		Expect(controllerutil.SetControllerReference(kap, o, k.Scheme())).To(Succeed())
		if isSessionSecret(o) {
			Expect(k.Create(ctx, o, client.FieldOwner(controller.FieldOwner))).To(Succeed())
			continue
		}
		_, err := applier.Apply(ctx, o)
		Expect(err).NotTo(HaveOccurred())
	}
}

// state is the live objects the previous release made, by identity.
type state map[string]*unstructured.Unstructured

// readState reads the live version of each of objs.
func readState(objs []*unstructured.Unstructured) state {
	GinkgoHelper()
	out := state{}
	for _, o := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(o), live)).To(Succeed(), identity(o))
		out[identity(o)] = live
	}
	return out
}

// expectKept checks that every object is still the one the previous release
// made, that the session secret was not written, and that the Service kept
// its address.
func expectKept(before state) {
	GinkgoHelper()
	for id, was := range before {
		is := &unstructured.Unstructured{}
		is.SetGroupVersionKind(was.GroupVersionKind())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(was), is)).To(Succeed(), "%s is gone", id)
		Expect(is.GetUID()).To(Equal(was.GetUID()), "%s was deleted and created again", id)
		if isLegacyCABundle(was) {
			// Released on purpose: expectReleased checks what it keeps.
			continue
		}
		Expect(metav1.GetControllerOf(is)).To(Equal(metav1.GetControllerOf(was)), "%s changed owner", id)
		switch {
		case isSessionSecret(was):
			Expect(is.Object["data"]).To(Equal(was.Object["data"]), "%s: the session secret changed: every user would be logged out", id)
			Expect(is.GetResourceVersion()).To(Equal(was.GetResourceVersion()), "%s: the session secret was written", id)
		case was.GetKind() == "Service":
			for _, field := range []string{"clusterIP", "clusterIPs"} {
				before, _, _ := unstructured.NestedFieldNoCopy(was.Object, "spec", field)
				after, _, _ := unstructured.NestedFieldNoCopy(is.Object, "spec", field)
				Expect(before).NotTo(BeNil(), "%s has no spec.%s", id, field)
				Expect(after).To(Equal(before), "%s: spec.%s changed: clients holding the old address lose the proxy", id, field)
			}
		}
	}
}

// createUserObjects creates what the reference setup expects the user to
// have made: its namespace and htpasswd Secret.
func createUserObjects(kap *meshv1alpha1.KialiAuthProxy) {
	GinkgoHelper()
	Expect(k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kap.Namespace}})).To(Succeed())
	h := kap.WithDefaults("").Spec.Proxy.Htpasswd
	Expect(k.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: h.Name, Namespace: kap.Namespace},
		Data:       map[string][]byte{h.Key: []byte(htpasswdValue)},
	})).To(Succeed())
}
