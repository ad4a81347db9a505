package render

import (
	securityapi "istio.io/api/security/v1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// PeerAuthentication requires mTLS on Kiali's workload. Without it a client
// outside the mesh could speak plain text to Kiali and carry no principal at
// all, so the AuthorizationPolicy's principal check would be meaningless.
func PeerAuthentication(kap *meshv1alpha1.KialiAuthProxy, n Names) *securityv1.PeerAuthentication {
	pa := &securityv1.PeerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication"},
		ObjectMeta: objectMeta(kap, n, n.LockDown, ComponentLockDown),
	}
	spec := &pa.Spec
	spec.Selector = &typeapi.WorkloadSelector{MatchLabels: KialiSelector(kap)}
	spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_STRICT}
	return pa
}
