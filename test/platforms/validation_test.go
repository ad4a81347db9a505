package platforms

import (
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The API server refuses, at admission, the specs of these platforms that
// cannot work, each with the rule's own message.
var _ = Describe("admission of the OIDC, Kubernetes and Gateway API fields", func() {
	DescribeTable("refuses",
		func(mutate func(k *meshv1alpha1.KialiAuthProxy), message string) {
			kap := testbed.Sample(kubernetesSample, "default")
			mutate(kap)
			err := k.Create(ctx, kap, client.DryRunAll)
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), err.Error())
			var status apierrors.APIStatus
			Expect(errors.As(err, &status)).To(BeTrue())
			var details []string
			for _, c := range status.Status().Details.Causes {
				details = append(details, c.Field+": "+c.Message)
			}
			Expect(details).To(ContainElement(HaveSuffix(message)))
		},
		Entry("the OpenShift provider on Kubernetes", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.Provider, k.Spec.Proxy.OIDC = "", nil
		}, "spec.platform Kubernetes needs spec.proxy.provider OIDC: OpenShift's oauth-proxy logs users in only through OpenShift's OAuth server"),
		Entry("a Route on Kubernetes", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Exposure.HTTPRoute, k.Spec.Exposure.Route = nil, &meshv1alpha1.RouteExposure{}
		}, "spec.exposure.route needs OpenShift: on spec.platform Kubernetes use virtualService or httpRoute"),
		Entry("an HTTPS listener without a certificate on Kubernetes", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.TLS = nil
		}, "spec.proxy.tls needs certManager or certificateSecret on spec.platform Kubernetes, where no service CA signs the proxy's certificate, or enabled: false"),
		Entry("two certificate sources", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.TLS.CertificateSecret = &meshv1alpha1.SecretReference{Name: "tls"}
		}, "spec.proxy.tls takes certManager or certificateSecret, not both"),
		Entry("OIDC without its issuer", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.OIDC = nil },
			"spec.proxy.oidc is required with spec.proxy.provider OIDC, and only then"),
		Entry("an issuer over plain HTTP", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.OIDC.IssuerURL = "http://keycloak.example.com" },
			"spec.proxy.oidc.issuerURL must be an https URL such as https://keycloak.example.com/realms/mesh"),
		Entry("an allow list that allows everyone", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.OIDC.Authorization = meshv1alpha1.OIDCAuthorization{Mode: meshv1alpha1.OIDCAuthorizationAllowList}
		}, "spec.proxy.oidc.authorization.mode AllowList needs allowedGroups or allowedEmailDomains: there is no open default"),
		Entry("a wildcard e-mail domain", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.OIDC.Authorization = meshv1alpha1.OIDCAuthorization{Mode: meshv1alpha1.OIDCAuthorizationAllowList, AllowedEmailDomains: []string{"*"}}
		}, "each allowed e-mail domain must be a lowercase DNS name such as example.com"),
		Entry("htpasswd with OIDC", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Name: "htpasswd"}
		}, "spec.proxy.htpasswd needs the OpenShift provider: with OIDC every user logs in at the issuer"),
		Entry("oauth-proxy flags with OIDC", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.ExtraArgs = []string{"-proxy-websockets"}
		}, "spec.proxy.extraArgs are oauth-proxy flags and need the OpenShift provider"),
		Entry("a cookie refresh as long as the session", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Refresh: &metav1.Duration{Duration: 8 * 60 * 60 * 1e9}}
		}, "spec.proxy.cookie.refresh must be shorter than spec.proxy.cookie.expire (8h by default): oauth2-proxy refuses to start otherwise"),
		Entry("two exposures", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Exposure.VirtualService = &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/gw"}}
		}, "spec.exposure needs exactly one of virtualService, route or httpRoute"),
		Entry("an HTTPRoute without a Gateway", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Exposure.HTTPRoute.ParentRefs = nil
		}, "spec.exposure.httpRoute.parentRefs: Required value"),
		Entry("Kiali's own certificate on OpenShift", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Platform = meshv1alpha1.PlatformOpenShift
			k.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{CertificateSecret: &meshv1alpha1.SecretReference{Name: "kiali-tls"}}
		}, "spec.kiali.tls needs spec.platform Kubernetes: on OpenShift the service CA signs Kiali's certificate"),
		Entry("Kiali's certificate from two sources", func(k *meshv1alpha1.KialiAuthProxy) {
			k.Spec.Kiali.TLS = &meshv1alpha1.KialiTLSSpec{}
		}, "spec.kiali.tls needs exactly one of certManager or certificateSecret"),
		Entry("a web root without its slash", func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.WebRoot = "kiali" },
			`spec.kiali.webRoot in body should match '^/([-._~A-Za-z0-9]+(/[-._~A-Za-z0-9]+)*)?$'`),
	)

	It("accepts a cookie refresh with OIDC, which the OpenShift provider refuses", func() {
		kap := testbed.Sample(kubernetesSample, "default")
		kap.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Refresh: &metav1.Duration{Duration: 4 * 60 * 1e9}}
		Expect(k.Create(ctx, kap, client.DryRunAll)).To(Succeed())
	})
})
