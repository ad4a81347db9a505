package faults

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// Specs that remove CRDs take every object of those kinds with them, in all
// namespaces: they run alone, and reinstall what they removed.
var _ = Describe("Dependencies that come and go", Serial, func() {
	It("reports a referenced Secret deleted, and recovers when it is created again", func() {
		kap := createReference()
		Eventually(converged(kap)).Should(Succeed())
		checksum := func(g Gomega) string {
			return proxyDeployment(g, kap).Spec.Template.Annotations[render.InputsChecksumAnnotation]
		}
		before := checksum(Default)

		Expect(k.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "htpasswd", Namespace: kap.Namespace}})).To(Succeed())
		Eventually(condition(kap, meshv1alpha1.ConditionDegraded)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", meshv1alpha1.ReasonSecretNotFound),
			HaveField("Message", ContainSubstring("htpasswd")),
		))

		// Recreated with other content: the proxy rolls to read it.
		Expect(k.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "htpasswd", Namespace: kap.Namespace},
			StringData: map[string]string{"auth": testbed.HtpasswdLine + "ops:$2y$05$J9z6Zt2n7m3nq9wCw0C3UuKq1p6v1oQb8M4WmJ0zq5m0a8s4GkY1K"},
		})).To(Succeed())
		Eventually(converged(kap)).Should(Succeed())
		Eventually(checksum).ShouldNot(Equal(before))
	})

	It("reports the Kiali CRD uninstalled, and recreates the Kiali CR once it is back, without a restart", func() {
		kap := createReference()
		Eventually(converged(kap)).Should(Succeed())

		uninstallCRDs("kialis.kiali.io")
		Eventually(condition(kap, meshv1alpha1.ConditionKialiConfigured)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", meshv1alpha1.ReasonKialiCRDMissing),
		))
		// The rest stays in place.
		Expect(condition(kap, meshv1alpha1.ConditionExposed)(Default).Status).To(Equal(metav1.ConditionTrue))

		installCRDs(testbed.KialiCRD())
		Eventually(converged(kap)).Should(Succeed())
		kiali := unstructuredObject("kiali.io/v1alpha1/Kiali")
		Eventually(func() error {
			return k.Get(ctx, client.ObjectKey{Namespace: kap.Namespace, Name: render.NamesFor(kap).Kiali}, kiali)
		}).Should(Succeed())
	})

	It("reports the Istio CRDs missing, and applies the exposure and the lock-down once they are installed, without a restart", func() {
		kap := createReference()
		Eventually(converged(kap)).Should(Succeed())

		uninstallCRDs("virtualservices.networking.istio.io", "authorizationpolicies.security.istio.io", "peerauthentications.security.istio.io")
		Eventually(condition(kap, meshv1alpha1.ConditionExposed)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", meshv1alpha1.ReasonIstioCRDMissing),
		))
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", meshv1alpha1.ReasonIstioSecurityCRDMissing),
		))
		Expect(condition(kap, meshv1alpha1.ConditionKialiConfigured)(Default).Status).To(Equal(metav1.ConditionTrue))

		istio, err := testbed.IstioCRDs()
		Expect(err).NotTo(HaveOccurred())
		installCRDs(istio)
		Eventually(converged(kap)).Should(Succeed())
		n := render.NamesFor(kap)
		for _, gvk := range []string{"networking.istio.io/v1/VirtualService", "security.istio.io/v1/AuthorizationPolicy", "security.istio.io/v1/PeerAuthentication"} {
			name := n.LockDown
			if gvk == "networking.istio.io/v1/VirtualService" {
				name = n.VirtualService
			}
			Eventually(func() error {
				return k.Get(ctx, client.ObjectKey{Namespace: kap.Namespace, Name: name}, unstructuredObject(gvk))
			}).Should(Succeed(), gvk)
		}
	})
})

// uninstallCRDs deletes CRDs and waits until they are gone (with every
// object of their kinds).
func uninstallCRDs(names ...string) {
	for _, name := range names {
		crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
		Expect(k.Delete(ctx, crd)).To(Succeed())
	}
	for _, name := range names {
		Eventually(func() bool {
			return apierrors.IsNotFound(k.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}))
		}).Should(BeTrue(), "CRD %s still there", name)
	}
}

func installCRDs(path string) {
	_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{path}})
	Expect(err).NotTo(HaveOccurred())
}
