package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// MeshLocked is proven from the pods that run, not from the policies that
// were applied: a Kiali without its sidecar is reachable around them.
var _ = Describe("MeshLocked", func() {
	It("is True only while every running Kiali and proxy pod is in the mesh, and Ready follows", func() {
		ns := newNamespace()
		createHtpasswd(ns)
		kap := reference(ns)
		Expect(k.Create(ctx, kap)).To(Succeed())
		markDeploymentAvailable(ns, "kiali-oauth")

		By("no Kiali pod running: the policies are applied, the lock-down unproven")
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", meshv1alpha1.ReasonKialiNotRunning),
		))
		Expect(condition(kap, meshv1alpha1.ConditionReady)(Default)).To(HaveField("Status", metav1.ConditionFalse))

		By("a Kiali pod without a sidecar, as in a namespace the injector ignores")
		bare, err := testbed.RunPod(ctx, k, kap, "kiali-bare", true, testbed.NoSidecar)
		Expect(err).NotTo(HaveOccurred())
		_, err = testbed.RunPod(ctx, k, kap, "kiali-oauth-injected", false, testbed.IstioProxy)
		Expect(err).NotTo(HaveOccurred())
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", meshv1alpha1.ReasonNotInMesh),
			HaveField("Message", ContainSubstring("kiali-bare (Kiali)")),
			HaveField("Message", ContainSubstring("then delete these pods")),
		))
		Expect(condition(kap, meshv1alpha1.ConditionReady)(Default)).To(HaveField("Status", metav1.ConditionFalse))

		By("the pod replaced by an injected one")
		Expect(k.Delete(ctx, bare)).To(Succeed())
		_, err = testbed.RunPod(ctx, k, kap, "kiali-injected", true, testbed.IstioProxy)
		Expect(err).NotTo(HaveOccurred())
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", meshv1alpha1.ReasonLockedDown),
			HaveField("Message", ContainSubstring("kiali-injected (Kiali), kiali-oauth-injected (proxy)")),
		))
		// Ready waits for the Kiali CRD where specs before this one have not
		// installed it yet; the mesh is no longer in its way.
		Eventually(condition(kap, meshv1alpha1.ConditionReady)).Should(HaveField("Message", Not(ContainSubstring("MeshLocked"))))

		By("native sidecars and ambient capture count, a proxy pod outside the mesh does not")
		_, err = testbed.RunPod(ctx, k, kap, "kiali-native", true, testbed.NativeSidecar)
		Expect(err).NotTo(HaveOccurred())
		_, err = testbed.RunPod(ctx, k, kap, "kiali-ambient", true, testbed.Ambient)
		Expect(err).NotTo(HaveOccurred())
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(HaveField("Message", ContainSubstring("kiali-ambient (Kiali), kiali-injected (Kiali), kiali-native (Kiali)")))
		Expect(condition(kap, meshv1alpha1.ConditionMeshLocked)(Default)).To(HaveField("Status", metav1.ConditionTrue))
		_, err = testbed.RunPod(ctx, k, kap, "kiali-oauth-bare", false, testbed.NoSidecar)
		Expect(err).NotTo(HaveOccurred())
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
			HaveField("Reason", meshv1alpha1.ReasonNotInMesh),
			HaveField("Message", ContainSubstring("kiali-oauth-bare (proxy)")),
		))

		By("a pod that ended does not count")
		bareProxy := &corev1.Pod{}
		Expect(k.Get(ctx, types.NamespacedName{Namespace: ns, Name: "kiali-oauth-bare"}, bareProxy)).To(Succeed())
		bareProxy.Status.Phase = corev1.PodSucceeded
		Expect(k.Status().Update(ctx, bareProxy)).To(Succeed())
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(HaveField("Reason", meshv1alpha1.ReasonLockedDown))
	})
})

// serviceMeshMemberCRD serves OpenShift Service Mesh 2.x's maistra.io/v1
// ServiceMeshMember kind, its schema left open: the operator only asks
// whether the kind is served.
func serviceMeshMemberCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemeshmembers.maistra.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "maistra.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: "servicemeshmembers", Singular: "servicemeshmember", Kind: "ServiceMeshMember", ListKind: "ServiceMeshMemberList",
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
}

var _ = Describe("MeshLocked on OpenShift Service Mesh 2.x", func() {
	It("says how to make the namespace a mesh member", func() {
		_, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{serviceMeshMemberCRD()}})
		Expect(err).NotTo(HaveOccurred())
		ns := newNamespace()
		createHtpasswd(ns)
		kap := reference(ns)
		Expect(k.Create(ctx, kap)).To(Succeed())
		_, err = testbed.RunPod(ctx, k, kap, "kiali-outside", true, testbed.NoSidecar)
		Expect(err).NotTo(HaveOccurred())
		Eventually(condition(kap, meshv1alpha1.ConditionMeshLocked)).Should(And(
			HaveField("Reason", meshv1alpha1.ReasonNotInMesh),
			HaveField("Message", ContainSubstring("create a ServiceMeshMember named default in "+ns+" with spec.controlPlaneRef {namespace: istio-system")),
		))
	})
})
