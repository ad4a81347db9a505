package platforms

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

const kubernetesSample = "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml"

var _ = Describe("upstream Istio on plain Kubernetes", func() {
	It("makes the sample's OIDC proxy, cert-manager Certificate and HTTPRoute, and nothing of OpenShift's", func() {
		ns := testbed.NewNamespace(ctx, k, "k8s-")
		testbed.CreateSecret(ctx, k, ns, "kiali-oidc", map[string]string{"client-secret": "s3cret"})
		kap := testbed.Sample(kubernetesSample, ns)
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Converged(ctx, k, kap)).Should(Succeed())

		n := render.NamesFor(kap)
		cur := &meshv1alpha1.KialiAuthProxy{}
		Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), cur)).To(Succeed())
		// Kiali serves under /kiali on Kubernetes, and redirects "/" there.
		Expect(cur.Status.URL).To(Equal("https://kiali.example.com/kiali/"))

		route := &gatewayv1.HTTPRoute{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.HTTPRoute}, route)).To(Succeed())
		Expect(route.Spec.Hostnames).To(ConsistOf(gatewayv1.Hostname("kiali.example.com")))
		Expect(route.Spec.ParentRefs).To(HaveLen(1))
		Expect(string(*route.Spec.ParentRefs[0].Namespace) + "/" + string(route.Spec.ParentRefs[0].Name)).To(Equal("istio-ingress/mesh-gateway"))
		Expect(string(route.Spec.Rules[0].BackendRefs[0].Name)).To(Equal(n.Proxy))

		cert := &unstructured.Unstructured{}
		cert.SetGroupVersionKind(render.CertificateGVK)
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.ServingCert}, cert)).To(Succeed())
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		Expect(secretName).To(Equal(n.ServingCert))

		// Nothing asks for OpenShift's service CA or OAuth server.
		svc := &corev1.Service{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Proxy}, svc)).To(Succeed())
		Expect(svc.Annotations).NotTo(HaveKey(render.ServingCertAnnotation))
		sa := &corev1.ServiceAccount{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Proxy}, sa)).To(Succeed())
		Expect(sa.Annotations).NotTo(HaveKey(render.OAuthRedirectAnnotation))
		err := k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.CABundle}, &corev1.ConfigMap{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no CA bundle for the service CA to fill: %v", err)

		dep := &appsv1.Deployment{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Proxy}, dep)).To(Succeed())
		containers := dep.Spec.Template.Spec.Containers
		Expect(containers).To(HaveLen(2))
		Expect(containers[0].Image).To(Equal(meshv1alpha1.DefaultOAuth2ProxyImage))
		Expect(containers[0].Args).To(ContainElement("--alpha-config=/etc/proxy/config/" + render.OAuth2ProxyConfigKey))
		cm := &corev1.ConfigMap{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.ProxyConfig}, cm)).To(Succeed())
		Expect(cm.Data[render.OAuth2ProxyConfigKey]).To(And(
			ContainSubstring("provider: oidc"), ContainSubstring("uri: "+render.AuthorizerUpstream())))
		Expect(containers[1].Name).To(Equal(render.AuthorizerContainerName))
		// Plain HTTP to Kiali inside the mesh, as the Kiali operator serves it
		// off OpenShift.
		Expect(containers[1].Args).To(ContainElement("--upstream=http://kiali." + ns + ".svc.cluster.local:20001"))
		Expect(containers[1].Args).NotTo(ContainElement(HavePrefix("--upstream-ca=")))

		// A certificate cert-manager renews rolls the pods: oauth2-proxy
		// loads it at start.
		before := dep.Spec.Template.Annotations[render.InputsChecksumAnnotation]
		testbed.CreateSecret(ctx, k, ns, n.ServingCert, map[string]string{"tls.crt": "renewed", "tls.key": "key"})
		Expect(k.Get(ctx, client.ObjectKeyFromObject(kap), kap)).To(Succeed())
		kap.Annotations = map[string]string{"touch": "1"}
		Expect(k.Update(ctx, kap)).To(Succeed())
		Eventually(func(g Gomega) string {
			g.Expect(k.Get(ctx, client.ObjectKeyFromObject(dep), dep)).To(Succeed())
			return dep.Spec.Template.Annotations[render.InputsChecksumAnnotation]
		}).ShouldNot(Equal(before))
	})

	It("gives Kiali a certificate of cert-manager's, which the proxy verifies", func() {
		ns := testbed.NewNamespace(ctx, k, "k8s-")
		testbed.CreateSecret(ctx, k, ns, "kiali-oidc", map[string]string{"client-secret": "s3cret"})
		kap := testbed.Sample(kubernetesSample, ns)
		kap.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{CertManager: &meshv1alpha1.CertManagerCertificate{
			IssuerRef: meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca", Kind: "ClusterIssuer"}}}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Converged(ctx, k, kap)).Should(Succeed())
		n := render.NamesFor(kap)

		cert := &unstructured.Unstructured{}
		cert.SetGroupVersionKind(render.CertificateGVK)
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.KialiServingCert}, cert)).To(Succeed())
		dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		Expect(dns).To(ContainElement("kiali." + ns + ".svc.cluster.local"))

		kiali := &unstructured.Unstructured{}
		kiali.SetGroupVersionKind(render.KialiGVK)
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Kiali}, kiali)).To(Succeed())
		certFile, _, _ := unstructured.NestedString(kiali.Object, "spec", "identity", "cert_file")
		Expect(certFile).To(Equal("/kiali-cert/tls.crt"))
		secrets, _, _ := unstructured.NestedSlice(kiali.Object, "spec", "deployment", "custom_secrets")
		Expect(secrets).To(ConsistOf(map[string]any{"name": n.KialiServingCert, "mount": "/kiali-cert"}))

		dep := &appsv1.Deployment{}
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Proxy}, dep)).To(Succeed())
		Expect(dep.Spec.Template.Spec.Containers[1].Args).To(ContainElements(
			"--upstream=https://kiali."+ns+".svc.cluster.local:20001",
			"--upstream-ca=/etc/proxy/upstream-ca/kiali-ca.crt"))
		var ca *corev1.Volume
		for i, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name == "upstream-ca" {
				ca = &dep.Spec.Template.Spec.Volumes[i]
			}
		}
		Expect(ca).NotTo(BeNil())
		Expect(ca.Secret.SecretName).To(Equal(n.KialiServingCert))
		Expect(ca.Secret.Items).To(ConsistOf(corev1.KeyToPath{Key: "ca.crt", Path: "kiali-ca.crt"}))
	})

	It("names a missing client secret and a missing issuer CA", func() {
		ns := testbed.NewNamespace(ctx, k, "k8s-")
		kap := testbed.Sample(kubernetesSample, ns)
		kap.Spec.Proxy.OIDC.IssuerCA = &meshv1alpha1.ConfigMapKeyReference{Name: "issuer-ca"}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Condition(ctx, k, kap, meshv1alpha1.ConditionDegraded)).Should(And(
			HaveField("Reason", meshv1alpha1.ReasonSecretNotFound),
			HaveField("Message", ContainSubstring("Secret "+ns+"/kiali-oidc referenced by spec.proxy.oidc.clientSecret does not exist")),
			HaveField("Message", ContainSubstring("ConfigMap "+ns+"/issuer-ca referenced by spec.proxy.oidc.issuerCA does not exist")),
		))
	})

	It("refuses a session secret oauth2-proxy would not start with", func() {
		ns := testbed.NewNamespace(ctx, k, "k8s-")
		testbed.CreateSecret(ctx, k, ns, "kiali-oidc", map[string]string{"client-secret": "s3cret"})
		// 16 characters and a newline: 17 bytes for oauth2-proxy, which
		// keeps the newline (pkg/validation/cookie.go).
		testbed.CreateSecret(ctx, k, ns, "session", map[string]string{"session_secret": "0123456789abcdef\n"})
		kap := testbed.Sample(kubernetesSample, ns)
		kap.Spec.Proxy.SessionSecret = &meshv1alpha1.SecretKeyReference{Name: "session"}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Condition(ctx, k, kap, meshv1alpha1.ConditionDegraded)).Should(And(
			HaveField("Reason", meshv1alpha1.ReasonSessionSecretInvalid),
			HaveField("Message", ContainSubstring("this one gives 17")),
			Not(HaveField("Message", ContainSubstring("0123456789abcdef"))),
		))
	})

	It("names an external cert-manager issuer as given", func() {
		ns := testbed.NewNamespace(ctx, k, "k8s-")
		testbed.CreateSecret(ctx, k, ns, "kiali-oidc", map[string]string{"client-secret": "s3cret"})
		kap := testbed.Sample(kubernetesSample, ns)
		// An issuer cert-manager does not have: the Certificate is still made,
		// cert-manager reports the issuer on it.
		kap.Spec.Proxy.TLS.CertManager.IssuerRef = meshv1alpha1.CertManagerIssuerRef{Name: "external", Kind: "AWSPCAIssuer", Group: "awspca.cert-manager.io"}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Converged(ctx, k, kap)).Should(Succeed())
		cert := &unstructured.Unstructured{}
		cert.SetGroupVersionKind(render.CertificateGVK)
		Expect(k.Get(ctx, client.ObjectKey{Namespace: ns, Name: render.NamesFor(kap).ServingCert}, cert)).To(Succeed())
		ref, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
		Expect(ref).To(Equal(map[string]string{"name": "external", "kind": "AWSPCAIssuer", "group": "awspca.cert-manager.io"}))
	})
})
