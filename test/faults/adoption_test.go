package faults

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// handMade applies testdata/hand-made.yaml with kubectl (client-side, as a
// hand-made setup is) into ns, its Deployment selecting pods by selector,
// and returns the objects as stored.
func handMade(ns string, selector map[string]string) []client.Object {
	raw, err := os.ReadFile(filepath.Join("testdata", "hand-made.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var sel []string
	for k, v := range selector {
		sel = append(sel, k+": "+v)
	}
	manifest := strings.ReplaceAll(string(raw), "NAMESPACE", ns)
	manifest = strings.ReplaceAll(manifest, "SELECTOR", "{"+strings.Join(sel, ", ")+"}")
	kubectl(manifest, "apply", "-f", "-")

	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "htpasswd"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kiali-proxy"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kiali-oauth"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kiali-oauth"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "kiali-oauth"}},
	}
	vs := unstructuredObject("networking.istio.io/v1/VirtualService")
	vs.SetName("kiali-mesh")
	kiali := unstructuredObject("kiali.io/v1alpha1/Kiali")
	kiali.SetName("kiali")
	objs = append(objs, vs, kiali)
	for _, o := range objs {
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.GetName()}, o)).To(Succeed())
	}
	return objs
}

// unchanged checks that nothing wrote to the objects.
func unchanged(g Gomega, objs []client.Object) {
	for _, o := range objs {
		cur := o.DeepCopyObject().(client.Object)
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(o), cur)).To(Succeed())
		g.Expect(cur.GetResourceVersion()).To(Equal(o.GetResourceVersion()), "%T %s was written", o, o.GetName())
	}
}

var _ = Describe("A hand-made setup in the way", func() {
	It("is refused by default: nothing is applied, and each object is named with the way out", func() {
		ns := newNamespace()
		objs := handMade(ns, map[string]string{"app": "kiali-oauth"})
		kap := reference(ns)
		Expect(k.Create(ctx, kap)).To(Succeed())

		Eventually(condition(kap, controller.ConditionDegraded)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", controller.ReasonAdoptionRequired),
			HaveField("Message", And(
				ContainSubstring("Deployment "+ns+"/kiali-oauth"),
				ContainSubstring("Service "+ns+"/kiali-oauth"),
				ContainSubstring("ServiceAccount "+ns+"/kiali-oauth"),
				ContainSubstring("Secret "+ns+"/kiali-proxy (the session secret)"),
				ContainSubstring("VirtualService "+ns+"/kiali-mesh"),
				ContainSubstring("Kiali "+ns+"/kiali"),
				ContainSubstring("spec.adoption: Adopt"),
			)),
		))
		Expect(condition(kap, controller.ConditionReady)(Default)).To(HaveField("Reason", controller.ReasonAdoptionRequired))
		for _, t := range []string{controller.ConditionKialiConfigured, controller.ConditionExposed, controller.ConditionMeshLocked} {
			Expect(condition(kap, t)(Default)).To(And(
				HaveField("Status", metav1.ConditionFalse), HaveField("Reason", controller.ReasonAdoptionRequired)), t)
		}
		// Not a single write, and nothing of its own beside them: half an
		// authentication setup would be worse than the hand-made one.
		Consistently(func(g Gomega) {
			unchanged(g, objs)
			g.Expect(owned(g, kap)).To(BeEmpty())
		}).Should(Succeed())
	})

	It("is taken over with spec.adoption: Adopt, keeping the session secret and the htpasswd file as they are", func() {
		ns := newNamespace()
		kap := reference(ns)
		objs := handMade(ns, render.ProxySelector(kap))
		htpasswd, session := objs[0].(*corev1.Secret), objs[1].(*corev1.Secret)
		before := map[string]client.Object{}
		for _, o := range objs {
			before[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = o
		}
		kap.Spec.Adoption = meshv1alpha1.AdoptionAdopt
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(converged(kap)).Should(Succeed())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())

		// Same objects (no delete and create), now controlled by the
		// KialiAuthProxy.
		for _, o := range objs[2:] {
			cur := o.DeepCopyObject().(client.Object)
			Expect(k.Get(ctx, client.ObjectKeyFromObject(o), cur)).To(Succeed())
			Expect(cur.GetUID()).To(Equal(o.GetUID()), "%T %s was replaced", o, o.GetName())
			owner := metav1.GetControllerOf(cur)
			Expect(owner).NotTo(BeNil(), "%T %s was not adopted", o, o.GetName())
			Expect(owner.UID).To(Equal(kap.UID))
		}
		// The Deployment is the rendered one: the hand-made container and
		// volume are gone, not left beside the operator's.
		d := proxyDeployment(Default, kap)
		Expect(d.Spec.Template.Spec.Containers).To(HaveLen(1))
		Expect(d.Spec.Template.Spec.Containers[0].Name).To(Equal(render.ProxyContainerName))
		for _, v := range d.Spec.Template.Spec.Volumes {
			Expect(v.Name).NotTo(Equal("htpasswd-handmade"))
		}
		Expect(d.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("Secret.SecretName", "kiali-proxy")))
		// The hand-made Kiali CR keeps the settings the operator does not
		// render, and gets the ones it does.
		kiali := unstructuredObject("kiali.io/v1alpha1/Kiali")
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kiali"}, kiali)).To(Succeed())
		Expect(kiali.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("deployment", HaveKeyWithValue("logger", HaveKeyWithValue("log_level", "debug")))))
		Expect(kiali.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("auth", HaveKeyWithValue("strategy", "anonymous"))))

		// The Secrets are the user's: never written, never owned.
		Consistently(func(g Gomega) { unchanged(g, []client.Object{htpasswd, session}) }).Should(Succeed())
		for _, s := range []*corev1.Secret{htpasswd, session} {
			cur := &corev1.Secret{}
			Expect(k.Get(ctx, client.ObjectKeyFromObject(s), cur)).To(Succeed())
			Expect(cur.OwnerReferences).To(BeEmpty())
			Expect(cur.Data).To(Equal(s.Data))
		}
	})

	It("refuses even with Adopt when the hand-made Deployment selects its pods differently, and proceeds once it is deleted", func() {
		ns := newNamespace()
		objs := handMade(ns, map[string]string{"app": "kiali-oauth"})
		kap := reference(ns)
		kap.Spec.Adoption = meshv1alpha1.AdoptionAdopt
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(condition(kap, controller.ConditionDegraded)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", controller.ReasonAdoptionImpossible),
			HaveField("Message", And(ContainSubstring("Deployment "+ns+"/kiali-oauth"), ContainSubstring("app=kiali-oauth"), ContainSubstring("delete it"))),
		))
		Consistently(func(g Gomega) { unchanged(g, objs) }).Should(Succeed())

		Expect(k.Delete(ctx, objs[4])).To(Succeed())
		// Without an event from the deleted object, the operator looks
		// again on its own within a minute.
		Eventually(converged(kap), "90s").Should(Succeed())
	})

	It("never takes over an object another owner controls", func() {
		ns := newNamespace()
		createHtpasswd(ns)
		other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "another-owner", Namespace: ns}}
		Expect(k.Create(ctx, other)).To(Succeed())
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kiali-oauth", Namespace: ns}}
		Expect(controllerutil.SetControllerReference(other, sa, controller.NewScheme())).To(Succeed())
		Expect(k.Create(ctx, sa)).To(Succeed())

		kap := reference(ns)
		kap.Spec.Adoption = meshv1alpha1.AdoptionAdopt
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(condition(kap, controller.ConditionDegraded)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", controller.ReasonControlledByAnother),
			HaveField("Message", ContainSubstring("ServiceAccount "+ns+"/kiali-oauth controlled by ConfigMap another-owner")),
		))
		// Only the session secret is made, once, as it always is first.
		Consistently(func(g Gomega) {
			unchanged(g, []client.Object{sa})
			g.Expect(owned(g, kap)).To(ConsistOf(HaveField("ObjectMeta.Name", render.NamesFor(kap).SessionSecret)))
		}).Should(Succeed())
	})
})
