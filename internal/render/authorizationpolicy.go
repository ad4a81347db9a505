package render

import (
	"strconv"

	securityapi "istio.io/api/security/v1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// AuthorizationPolicy admits only the proxy to Kiali. Kiali runs with the
// anonymous strategy: whoever reaches it administers the mesh console, so
// the proxy's mTLS identity is the only principal allowed, on Kiali's port
// 20001, and nothing else is allowed at all. Prometheus still gets Kiali's
// metrics: with Istio's metrics merging it scrapes the sidecar agent, which
// reads them over localhost, and the kubelet's probes are rewritten to the
// agent too; neither passes through this policy.
func AuthorizationPolicy(kap *meshv1alpha1.KialiAuthProxy, n Names) *securityv1.AuthorizationPolicy {
	ap := &securityv1.AuthorizationPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "AuthorizationPolicy"},
		ObjectMeta: objectMeta(kap, n, n.LockDown, ComponentLockDown),
	}
	spec := &ap.Spec
	spec.Selector = &typeapi.WorkloadSelector{MatchLabels: KialiSelector(kap)}
	spec.Action = securityapi.AuthorizationPolicy_ALLOW
	spec.Rules = []*securityapi.Rule{{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{
			Principals: []string{n.ProxyPrincipal()},
		}}},
		To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Ports: []string{strconv.Itoa(KialiPort)}}}},
	}}
	return ap
}
