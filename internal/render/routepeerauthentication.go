package render

import (
	securityapi "istio.io/api/security/v1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// RoutePeerAuthentication lets the OpenShift router reach the proxy when a
// Route exposes it. The router is outside the mesh: it opens plain TLS (or,
// with the HTTPS listener off, plain HTTP) to the proxy pod, which the
// proxy's sidecar refuses wherever mTLS is STRICT for the namespace or the
// mesh (OpenShift Service Mesh 2.x with spec.security.dataPlane.mtls). The
// policy admits non-mesh traffic on the one port the Route targets and
// leaves every other port of the proxy, and Kiali, as they were. The proxy
// authenticates every request itself, so nothing behind it is opened.
func RoutePeerAuthentication(kap *meshv1alpha1.KialiAuthProxy, n Names) *securityv1.PeerAuthentication {
	pa := &securityv1.PeerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication"},
		ObjectMeta: objectMeta(kap, n, n.Proxy, ComponentExposure),
	}
	spec := &pa.Spec
	// Port-level settings need a selector; the keys are the container
	// ports, which is what the router connects to.
	spec.Selector = &typeapi.WorkloadSelector{MatchLabels: ProxySelector(kap)}
	spec.PortLevelMtls = map[uint32]*securityapi.PeerAuthentication_MutualTLS{
		uint32(RouteTargetPort(kap)): {Mode: securityapi.PeerAuthentication_MutualTLS_PERMISSIVE},
	}
	return pa
}

// RouteTargetPort is the proxy container port the Route sends the router
// to: the HTTPS listener (re-encrypt), or HTTP with the listener off (edge).
func RouteTargetPort(kap *meshv1alpha1.KialiAuthProxy) int {
	if kap.Spec.Proxy.TLSEnabled() {
		return ProxyHTTPSPort
	}
	return ProxyHTTPPort
}
