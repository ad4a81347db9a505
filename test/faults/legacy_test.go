package faults

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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

var _ = Describe("The CA bundle release 0.1.0 made", func() {
	It("is released even when another field manager claims the operator's labels and owner reference, and outlives the KialiAuthProxy", func() {
		kap := createReference()
		names := render.NamesFor(kap)
		Eventually(func(g Gomega) { proxyDeployment(g, kap) }).Should(Succeed())
		Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())

		// The Kiali operator's CA bundle (roles v1.73 to v2.17) as release
		// 0.1.0 left it, but restored from a backup: every field, the
		// operator's labels and owner reference too, now belongs to the
		// restoring tool, so applying nothing under the operator's field
		// manager removes none of them.
		layout := testbed.KialiLayouts[0]
		labels := layout.KialiOperatorLabels(names.KialiInstance)
		for key, v := range render.Labels(kap, render.ComponentProxy) {
			labels[key] = v
		}
		legacy := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name: names.LegacyCABundle, Namespace: kap.Namespace, Labels: labels,
				Annotations: map[string]string{
					testbed.InjectCABundleAnnotation: "true",
					apply.AppliedHashAnnotation:      "0123456789abcdef",
				},
			},
			Data: map[string]string{testbed.ServiceCAKey: testbed.FakeServiceCA},
		}
		Expect(controllerutil.SetControllerReference(kap, legacy, controller.NewScheme())).To(Succeed())
		Expect(k.Create(ctx, legacy, client.FieldOwner("velero"))).To(Succeed())
		// The operator drops the create events of what carries its labels:
		// a new generation has it look.
		updateKAP(kap, func(kap *meshv1alpha1.KialiAuthProxy) { kap.Spec.Kiali.ViewOnlyMode = ptr(true) })

		want := layout.KialiOperatorLabels(names.KialiInstance)
		delete(want, "app.kubernetes.io/part-of") // the restored value was the operator's
		Eventually(func(g Gomega) {
			cur := &corev1.ConfigMap{}
			g.Expect(k.Get(ctx, client.ObjectKeyFromObject(legacy), cur)).To(Succeed())
			g.Expect(cur.UID).To(Equal(legacy.UID), "deleted and created again")
			g.Expect(cur.OwnerReferences).To(BeEmpty())
			g.Expect(cur.Labels).To(Equal(want))
			g.Expect(cur.Annotations).To(Equal(map[string]string{testbed.InjectCABundleAnnotation: "true"}))
			g.Expect(cur.Data).To(Equal(legacy.Data))
		}).Should(Succeed())

		// With the KialiAuthProxy, the garbage collector deletes what it
		// owns, and the released ConfigMap is not among that.
		Expect(k.Delete(ctx, kap)).To(Succeed())
		Eventually(func() bool {
			err := k.Get(ctx, client.ObjectKey{Namespace: kap.Namespace, Name: names.CABundle}, &corev1.ConfigMap{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue(), "the garbage collector did not delete the KialiAuthProxy's own CA bundle")
		Consistently(func(g Gomega) {
			cur := &corev1.ConfigMap{}
			g.Expect(k.Get(ctx, client.ObjectKeyFromObject(legacy), cur)).To(Succeed())
			g.Expect(cur.UID).To(Equal(legacy.UID))
		}).Should(Succeed())
	})
})
