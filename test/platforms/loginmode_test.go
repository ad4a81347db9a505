package platforms

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	configv1 "github.com/openshift/api/config/v1"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The cluster's login mode, in the real authentications.config.openshift.io
// CRD (openshift/api, the Default feature set): the suite's cluster is an
// OpenShift switched to an external issuer (clusterAuthentication, made
// before the manager starts: the operator reads it at most once a minute).
// KialiAuthProxies of spec.platform Kubernetes are not affected.
var _ = Describe("OpenShift's login mode", func() {
	It("rolls out no oauth-proxy when the integrated OAuth server is off, and gives the fix", func() {
		ns := testbed.NewNamespace(ctx, k, "oidc-")
		kap := &meshv1alpha1.KialiAuthProxy{
			ObjectMeta: metav1.ObjectMeta{Name: "kiali", Namespace: ns},
			Spec: meshv1alpha1.KialiAuthProxySpec{
				Proxy: meshv1alpha1.ProxySpec{Htpasswd: nil},
				Exposure: meshv1alpha1.ExposureSpec{
					Host:           "kiali.apps.example.com",
					VirtualService: &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/gw"}},
				},
			},
		}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Condition(ctx, k, kap, meshv1alpha1.ConditionProxyAvailable)).Should(And(
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Reason", meshv1alpha1.ReasonIntegratedOAuthDisabled),
			HaveField("Message", ContainSubstring("spec.type OIDC")),
			HaveField("Message", ContainSubstring("set spec.proxy.provider: OIDC with spec.proxy.oidc.issuerURL https://login.example.com/realms/openshift and a client ID among its audiences (openshift-console, kiali)")),
		))
		Eventually(testbed.Condition(ctx, k, kap, meshv1alpha1.ConditionReady)).Should(HaveField("Reason", meshv1alpha1.ReasonIntegratedOAuthDisabled))
		Consistently(func() bool {
			err := k.Get(ctx, client.ObjectKey{Namespace: ns, Name: render.NamesFor(kap).Proxy}, &appsv1.Deployment{})
			return apierrors.IsNotFound(err)
		}, "1s").Should(BeTrue(), "an oauth-proxy that cannot log anyone in was rolled out")
	})

	It("accepts the OpenShift OIDC sample, whose client ID is an audience of the cluster's issuer", func() {
		ns := testbed.NewNamespace(ctx, k, "oidc-")
		testbed.CreateSecret(ctx, k, ns, "kiali-oidc", map[string]string{"client-secret": "s3cret"})
		kap := testbed.Sample("mesh_v1alpha1_kialiauthproxy_openshift_oidc.yaml", ns)
		// This control plane has no Route CRD: the VirtualService exposes it.
		kap.Spec.Exposure.Route = nil
		kap.Spec.Exposure.VirtualService = &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/gw"}}
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Condition(ctx, k, kap, meshv1alpha1.ConditionProxyAvailable)).Should(
			Not(HaveField("Reason", BeElementOf(meshv1alpha1.ReasonIntegratedOAuthDisabled, meshv1alpha1.ReasonIssuerNotTrusted))))
		dep := &appsv1.Deployment{}
		Eventually(func() error {
			return k.Get(ctx, client.ObjectKey{Namespace: ns, Name: render.NamesFor(kap).Proxy}, dep)
		}).Should(Succeed())
		// Kiali serves TLS with the service CA on OpenShift: the authorizing
		// proxy, which makes that hop, trusts exactly that CA.
		Expect(dep.Spec.Template.Spec.Containers[1].Args).To(ContainElements(
			"--upstream=https://kiali."+ns+".svc.cluster.local:20001",
			"--upstream-ca=/etc/proxy/upstream-ca/service-ca.crt"))
	})

	It("names a client ID the cluster's issuer does not accept", func() {
		ns := testbed.NewNamespace(ctx, k, "oidc-")
		testbed.CreateSecret(ctx, k, ns, "kiali-oidc", map[string]string{"client-secret": "s3cret"})
		kap := testbed.Sample("mesh_v1alpha1_kialiauthproxy_openshift_oidc.yaml", ns)
		kap.Spec.Exposure.Route = nil
		kap.Spec.Exposure.VirtualService = &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/gw"}}
		kap.Spec.Proxy.OIDC.ClientID = "mesh-console"
		Expect(k.Create(ctx, kap)).To(Succeed())
		Eventually(testbed.Condition(ctx, k, kap, meshv1alpha1.ConditionProxyAvailable)).Should(And(
			HaveField("Reason", meshv1alpha1.ReasonIssuerNotTrusted),
			HaveField("Message", ContainSubstring(`not the client ID "mesh-console"`)),
		))
	})
})

// clusterAuthentication is OpenShift with direct external OIDC: the
// integrated OAuth server is off.
func clusterAuthentication() *configv1.Authentication {
	return &configv1.Authentication{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec: configv1.AuthenticationSpec{
			Type: configv1.AuthenticationTypeOIDC,
			OIDCProviders: []configv1.OIDCProvider{{
				Name: "keycloak",
				Issuer: configv1.TokenIssuer{
					URL:       "https://login.example.com/realms/openshift",
					Audiences: []configv1.TokenAudience{"openshift-console", "kiali"},
				},
				ClaimMappings: configv1.TokenClaimMappings{
					Username: configv1.UsernameClaimMapping{Claim: "email"},
				},
			}},
		},
	}
}
