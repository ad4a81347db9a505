package upgrade

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The previous release named its CA bundle <name>-cabundle: next to the
// reference setup's Kiali instance "kiali", that is a ConfigMap others write
// to as well, whichever layout the Kiali operator has (testbed.KialiLayouts).

// kialiState is what the other writers left next to the previous release's
// objects, as it was before the upgrade.
type kialiState struct {
	layout testbed.KialiLayout
	// legacy is the previous release's CA bundle.
	legacy *corev1.ConfigMap
	// own is the Kiali operator's CA bundle when it is another ConfigMap.
	own *corev1.ConfigMap
}

// isLegacyCABundle tells whether u is the previous release's CA bundle,
// which the current release releases instead of rendering (or pruning) it.
func isLegacyCABundle(u *unstructured.Unstructured) bool {
	kap := &meshv1alpha1.KialiAuthProxy{}
	kap.Name = u.GetLabels()[render.LabelInstance]
	return u.GetKind() == "ConfigMap" && kap.Name != "" && u.GetName() == render.NamesFor(kap).LegacyCABundle
}

// leaveWithKiali leaves the previous release's objects (leaveAsPrevious) and
// what the Kiali operator, the service CA operator and the user write next
// to them in the layout.
func leaveWithKiali(layout testbed.KialiLayout, kap *meshv1alpha1.KialiAuthProxy, objs []*unstructured.Unstructured) kialiState {
	GinkgoHelper()
	names := render.NamesFor(kap.WithDefaults(""))
	instance := names.KialiInstance
	legacy := client.ObjectKey{Namespace: kap.Namespace, Name: names.LegacyCABundle}
	st := kialiState{layout: layout}
	var kialiCR, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Kiali" {
			kialiCR = append(kialiCR, o)
		} else {
			rest = append(rest, o)
		}
	}
	Expect(kialiCR).To(HaveLen(1), "the snapshot's Kiali CR")

	switch legacy.Name {
	case layout.OwnCABundle(instance):
		// The previous release's CA bundle is the Kiali operator's own. The
		// Kiali operator made it first, owned by the Kiali CR, and the
		// previous release took it over (as spec.adoption: Adopt does);
		// the Kiali operator has reconciled since, taking its part-of
		// label back.
		leaveAsPrevious(kap, kialiCR)
		cr := liveObject(kialiCR[0])
		_, err := testbed.WriteKialiCABundle(ctx, k, layout, cr, instance)
		Expect(err).NotTo(HaveOccurred())
		leaveAsPrevious(kap, rest)
		_, err = testbed.WriteKialiCABundle(ctx, k, layout, cr, instance)
		Expect(err).NotTo(HaveOccurred())
	case layout.UserCABundle(instance):
		// The previous release made it; this Kiali mounts it as the user's
		// extra CAs, and the user has added one. The Kiali operator's own
		// CA bundle is another ConfigMap.
		leaveAsPrevious(kap, objs)
		Expect(testbed.InjectServiceCA(ctx, k, legacy)).To(Succeed())
		Expect(testbed.AddUserCA(ctx, k, legacy)).To(Succeed())
		var err error
		st.own, err = testbed.WriteKialiCABundle(ctx, k, layout, liveObject(kialiCR[0]), instance)
		Expect(err).NotTo(HaveOccurred())
	default:
		Fail("the layout " + layout.Name + " does not use " + legacy.Name)
	}

	st.legacy = &corev1.ConfigMap{}
	Expect(k.Get(ctx, legacy, st.legacy)).To(Succeed())
	Expect(metav1.GetControllerOf(st.legacy)).To(HaveField("UID", kap.UID), "the previous release controls its CA bundle")
	Expect(st.legacy.Data).To(HaveKeyWithValue(testbed.ServiceCAKey, testbed.FakeServiceCA))
	return st
}

func liveObject(o *unstructured.Unstructured) *unstructured.Unstructured {
	GinkgoHelper()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	Expect(k.Get(ctx, client.ObjectKeyFromObject(o), live)).To(Succeed())
	return live
}

// expectOwnCABundle checks that the proxy reads a CA bundle of its own,
// which the operator controls and the service CA operator is asked to fill.
func expectOwnCABundle(kap *meshv1alpha1.KialiAuthProxy) {
	GinkgoHelper()
	names := render.NamesFor(kap)
	Expect(names.CABundle).NotTo(Equal(names.LegacyCABundle))
	cm := &corev1.ConfigMap{}
	Expect(k.Get(ctx, client.ObjectKey{Namespace: kap.Namespace, Name: names.CABundle}, cm)).To(Succeed())
	Expect(metav1.GetControllerOf(cm)).To(HaveField("UID", kap.UID))
	Expect(cm.Annotations).To(HaveKeyWithValue(render.InjectCABundleAnnotation, "true"))
	Eventually(func(g Gomega) {
		var mounted []string
		for _, v := range getProxy(g, kap).Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil {
				mounted = append(mounted, v.ConfigMap.Name)
				g.Expect(v.ConfigMap.Items).To(ConsistOf(corev1.KeyToPath{Key: render.CABundleKey, Path: render.CABundleKey}))
			}
		}
		g.Expect(mounted).To(ConsistOf(names.CABundle), "the ConfigMaps the proxy mounts")
	}).Should(Succeed())
}

// expectReleased checks that the previous release's CA bundle is the same
// ConfigMap with every field of the other writers as they left it, and
// nothing of this KialiAuthProxy's but the inject-cabundle annotation,
// which keeps the service CA operator filling it for Kiali.
func expectReleased(g Gomega, kap *meshv1alpha1.KialiAuthProxy, st kialiState) {
	was := st.legacy
	is := &corev1.ConfigMap{}
	g.Expect(k.Get(ctx, client.ObjectKeyFromObject(was), is)).To(Succeed())
	g.Expect(is.UID).To(Equal(was.UID), "deleted and created again")

	var refs []metav1.OwnerReference
	for _, ref := range was.OwnerReferences {
		if ref.UID != kap.UID {
			refs = append(refs, ref)
		}
	}
	g.Expect(is.OwnerReferences).To(Equal(refs), "owner references")
	ours := render.Labels(kap, render.ComponentProxy)
	others := map[string]string{}
	for key, v := range was.Labels {
		if ours[key] != v {
			others[key] = v
		}
	}
	if st.layout.OwnCABundle(render.NamesFor(kap).KialiInstance) == was.Name {
		g.Expect(others).To(Equal(st.layout.KialiOperatorLabels(render.NamesFor(kap).KialiInstance)), "the Kiali operator's labels")
	}
	g.Expect(is.Labels).To(Equal(nilIfEmpty(others)), "labels")
	g.Expect(is.Annotations).To(Equal(map[string]string{render.InjectCABundleAnnotation: "true"}), "annotations")
	g.Expect(is.Data).To(Equal(was.Data), "data")
	g.Expect(is.Data).To(HaveKeyWithValue(testbed.ServiceCAKey, testbed.FakeServiceCA))
	if st.layout.UserCABundle(render.NamesFor(kap).KialiInstance) == was.Name {
		g.Expect(is.Data).To(HaveKeyWithValue(testbed.UserCAKey, testbed.FakeUserCA))
	}

	// Every other manager owns what it owned; this operator's manager only
	// the annotation.
	for _, e := range was.ManagedFields {
		if e.Manager == controller.FieldOwner {
			continue
		}
		g.Expect(is.ManagedFields).To(ContainElement(And(
			HaveField("Manager", e.Manager), HaveField("Operation", e.Operation),
			HaveField("FieldsV1", HaveField("Raw", MatchJSON(e.FieldsV1.Raw))))), "the fields of %s", e.Manager)
	}
	for _, e := range is.ManagedFields {
		if e.Manager == controller.FieldOwner {
			g.Expect(fields(e)).To(Equal(map[string]any{"f:metadata": map[string]any{"f:annotations": map[string]any{
				"f:" + render.InjectCABundleAnnotation: map[string]any{}}}}), "the fields of %s", e.Manager)
		}
	}
}

func fields(e metav1.ManagedFieldsEntry) map[string]any {
	out := map[string]any{}
	if e.FieldsV1 != nil {
		Expect(json.Unmarshal(e.FieldsV1.Raw, &out)).To(Succeed())
	}
	return out
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// expectReleasedEvent checks that the user is told where the old ConfigMap
// went.
func expectReleasedEvent(kap *meshv1alpha1.KialiAuthProxy) {
	GinkgoHelper()
	names := render.NamesFor(kap)
	Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(k.List(ctx, &events, client.InNamespace(kap.Namespace))).To(Succeed())
		g.Expect(events.Items).To(ContainElement(And(
			HaveField("Reason", "Released"),
			HaveField("Regarding.Name", kap.Name),
			HaveField("Note", And(ContainSubstring(names.LegacyCABundle), ContainSubstring(names.CABundle))),
		)))
	}).Should(Succeed())
}

// expectKialiUntouched checks that, once released, the previous release's
// CA bundle is written no more, that the Kiali operator's own is never
// written, and that the operator holds no ConfigMap but its own CA bundle.
func expectKialiUntouched(g Gomega, kap *meshv1alpha1.KialiAuthProxy, st kialiState, released string) {
	is := &corev1.ConfigMap{}
	g.Expect(k.Get(ctx, client.ObjectKeyFromObject(st.legacy), is)).To(Succeed())
	g.Expect(is.ResourceVersion).To(Equal(released), "%s was written again after it was released", is.Name)
	if st.own != nil {
		g.Expect(k.Get(ctx, client.ObjectKeyFromObject(st.own), is)).To(Succeed())
		g.Expect(is.ResourceVersion).To(Equal(st.own.ResourceVersion), "%s, the Kiali operator's, was written", is.Name)
		g.Expect(is.OwnerReferences).To(Equal(st.own.OwnerReferences))
	}
	var cms corev1.ConfigMapList
	g.Expect(k.List(ctx, &cms, client.InNamespace(kap.Namespace), client.MatchingLabels(render.OwnerLabels(kap)))).To(Succeed())
	var labelled []string
	for _, cm := range cms.Items {
		labelled = append(labelled, cm.Name)
	}
	g.Expect(labelled).To(ConsistOf(render.NamesFor(kap).CABundle), "ConfigMaps with this KialiAuthProxy's labels")
}
