package faults

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// handMade applies testdata/hand-made.yaml with kubectl (client-side, as a
// hand-made setup is) into ns, its Deployment selecting pods by selector,
// and returns the objects as stored. Next to them are the ConfigMaps of
// the hand-made Kiali CR's instance "kiali" in the layout, as the Kiali
// operator, the service CA operator and the user write them; they are
// returned apart, as stored: kiali-cabundle is the Kiali operator's own CA
// bundle up to roles v2.17, and the user's extra CAs from v2.21.
func handMade(ns string, selector map[string]string, layout testbed.KialiLayout) (objs []client.Object, kialiCABundles []client.Object) {
	raw, err := os.ReadFile(filepath.Join("testdata", "hand-made.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var sel []string
	for k, v := range selector {
		sel = append(sel, k+": "+v)
	}
	manifest := strings.ReplaceAll(string(raw), "NAMESPACE", ns)
	manifest = strings.ReplaceAll(manifest, "SELECTOR", "{"+strings.Join(sel, ", ")+"}")
	kubectl(manifest, "apply", "-f", "-")

	objs = []client.Object{
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

	own, err := testbed.WriteKialiCABundle(ctx, k, layout, kiali, "kiali")
	Expect(err).NotTo(HaveOccurred())
	kialiCABundles = append(kialiCABundles, own)
	if name := layout.UserCABundle("kiali"); name != "" {
		key := client.ObjectKey{Namespace: ns, Name: name}
		Expect(testbed.AddUserCA(ctx, k, key)).To(Succeed())
		user := &corev1.ConfigMap{}
		Expect(k.Get(ctx, key, user)).To(Succeed())
		kialiCABundles = append(kialiCABundles, user)
	}
	return objs, kialiCABundles
}

// neverTaken checks that the ConfigMaps of the Kiali instance are as their
// writers left them: not written, not owned, not labelled by the operator.
func neverTaken(g Gomega, kap *meshv1alpha1.KialiAuthProxy, kialiCABundles []client.Object) {
	unchanged(g, kialiCABundles)
	for _, o := range kialiCABundles {
		cur := &corev1.ConfigMap{}
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(o), cur)).To(Succeed())
		for _, ref := range cur.OwnerReferences {
			g.Expect(ref.UID).NotTo(Equal(kap.UID), "ConfigMap %s is owned by the KialiAuthProxy", cur.Name)
		}
		g.Expect(cur.Labels).NotTo(HaveKey(render.LabelManagedBy), "ConfigMap %s", cur.Name)
	}
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
	for _, layout := range testbed.KialiLayouts {
		It("is refused by default: nothing is applied, and each object is named with the way out (next to "+layout.Name+")", func() {
			refusedByDefault(layout)
		})
		It("is taken over with spec.adoption: Adopt, keeping the session secret and the htpasswd file as they are (next to "+layout.Name+")", func() {
			adopted(layout)
		})
	}

	It("refuses even with Adopt when the hand-made Deployment selects its pods differently, and proceeds once it is deleted", func() {
		ns := newNamespace()
		objs, _ := handMade(ns, map[string]string{"app": "kiali-oauth"}, testbed.KialiLayouts[0])
		kap := reference(ns)
		kap.Spec.Adoption = meshv1alpha1.AdoptionAdopt
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", meshv1alpha1.ReasonAdoptionImpossible),
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
		Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", meshv1alpha1.ReasonControlledByAnother),
			HaveField("Message", ContainSubstring("ServiceAccount "+ns+"/kiali-oauth controlled by ConfigMap another-owner")),
		))
		// Only the session secret is made, once, as it always is first.
		Consistently(func(g Gomega) {
			unchanged(g, []client.Object{sa})
			g.Expect(owned(g, kap)).To(ConsistOf(HaveField("ObjectMeta.Name", render.NamesFor(kap).SessionSecret)))
		}).Should(Succeed())
	})

	// The first apply of an object the operator's caches do not hold is
	// conditional on its absence, so one made an instant before, not seen
	// yet, is not written (internal/controller/adoption_test.go follows the
	// reconcile from there).
	It("is never written by a first apply that did not see it", func() {
		ns := newNamespace()
		hand := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kiali-oauth", Namespace: ns, Labels: map[string]string{"team": "mesh"}}}
		Expect(k.Create(ctx, hand)).To(Succeed())
		a := &apply.Applier{Client: k, Scheme: controller.NewScheme(), FieldOwner: controller.FieldOwner}
		rendered := func(name string) *corev1.ServiceAccount {
			return &corev1.ServiceAccount{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			}
		}

		_, err := a.ApplyAbsent(ctx, rendered(hand.Name))
		Expect(apierrors.IsConflict(err)).To(BeTrue(), "%v", err)
		unchanged(Default, []client.Object{hand})

		// An absent one is created, its fields owned as an apply's.
		uid, err := a.ApplyAbsent(ctx, rendered("kiali-new"))
		Expect(err).NotTo(HaveOccurred())
		created := &corev1.ServiceAccount{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kiali-new"}, created)).To(Succeed())
		Expect(created.UID).To(Equal(uid))
		Expect(created.Labels).To(HaveKeyWithValue("app", "kiali-new"))
		Expect(created.ManagedFields).To(ConsistOf(And(
			HaveField("Manager", controller.FieldOwner), HaveField("Operation", metav1.ManagedFieldsOperationApply))))
	})
})

// refusedByDefault: with spec.adoption left at Refuse, nothing is applied
// beside a hand-made setup, and the message names each object in the way,
// and none of the Kiali instance's ConfigMaps, which are never in the way.
func refusedByDefault(layout testbed.KialiLayout) {
	ns := newNamespace()
	objs, kialiCABundles := handMade(ns, map[string]string{"app": "kiali-oauth"}, layout)
	kap := reference(ns)
	Expect(k.Create(ctx, kap)).To(Succeed())

	Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
		HaveField("Status", metav1.ConditionTrue),
		HaveField("Reason", meshv1alpha1.ReasonAdoptionRequired),
		HaveField("Message", And(
			ContainSubstring("Deployment "+ns+"/kiali-oauth"),
			ContainSubstring("Service "+ns+"/kiali-oauth"),
			ContainSubstring("ServiceAccount "+ns+"/kiali-oauth"),
			ContainSubstring("Secret "+ns+"/kiali-proxy (the session secret)"),
			ContainSubstring("VirtualService "+ns+"/kiali-mesh"),
			ContainSubstring("Kiali "+ns+"/kiali"),
			ContainSubstring("spec.adoption: Adopt"),
			Not(ContainSubstring("ConfigMap")),
		)),
	))
	Expect(condition(kap, meshv1alpha1.ConditionReady)(Default)).To(HaveField("Reason", meshv1alpha1.ReasonAdoptionRequired))
	for _, t := range []string{meshv1alpha1.ConditionKialiConfigured, meshv1alpha1.ConditionExposed, meshv1alpha1.ConditionMeshLocked} {
		Expect(condition(kap, t)(Default)).To(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", meshv1alpha1.ReasonAdoptionRequired)), t)
	}
	// Not a single write, and nothing of its own beside them: half an
	// authentication setup would be worse than the hand-made one.
	Consistently(func(g Gomega) {
		unchanged(g, objs)
		neverTaken(g, kap, kialiCABundles)
		g.Expect(owned(g, kap)).To(BeEmpty())
	}).Should(Succeed())
}

// adopted: with spec.adoption: Adopt, the hand-made objects are taken over
// in place, and the Kiali instance's ConfigMaps are left alone.
func adopted(layout testbed.KialiLayout) {
	ns := newNamespace()
	kap := reference(ns)
	objs, kialiCABundles := handMade(ns, render.ProxySelector(kap), layout)
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

	// The Kiali instance's ConfigMaps stay its own: the proxy reads a
	// CA bundle of its own instead.
	Consistently(func(g Gomega) { neverTaken(g, kap, kialiCABundles) }).Should(Succeed())
	names := render.NamesFor(kap)
	var mounted []string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			mounted = append(mounted, v.ConfigMap.Name)
		}
	}
	Expect(mounted).To(ConsistOf(names.CABundle))
	own := &corev1.ConfigMap{}
	Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.CABundle}, own)).To(Succeed())
	Expect(metav1.GetControllerOf(own)).To(HaveField("UID", kap.UID))
}
