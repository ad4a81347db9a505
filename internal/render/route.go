package render

import (
	routev1 "github.com/openshift/api/route/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Route exposes the proxy through the OpenShift router, for clusters that
// do not route users through an Istio gateway. With the proxy's HTTPS
// listener on, the router re-encrypts to it (the router trusts the service
// CA that signed the listener's certificate); otherwise it terminates TLS
// and forwards plain HTTP.
func Route(kap *meshv1alpha1.KialiAuthProxy, n Names) *routev1.Route {
	// The router resolves a named target port against the Service's
	// endpoints, whose ports carry the Service port names.
	port, tls := ServiceHTTPPortName, routev1.TLSTerminationEdge
	if kap.Spec.Proxy.TLSEnabled() {
		port, tls = ServiceHTTPSPortName, routev1.TLSTerminationReencrypt
	}
	return &routev1.Route{
		TypeMeta:   metav1.TypeMeta{APIVersion: "route.openshift.io/v1", Kind: "Route"},
		ObjectMeta: objectMeta(kap, n, n.Route, ComponentExposure),
		Spec: routev1.RouteSpec{
			Host: kap.Spec.Exposure.Host,
			To:   routev1.RouteTargetReference{Kind: "Service", Name: n.Proxy, Weight: ptr.To[int32](100)},
			Port: &routev1.RoutePort{TargetPort: intstr.FromString(port)},
			TLS: &routev1.TLSConfig{
				Termination:                   tls,
				InsecureEdgeTerminationPolicy: routev1.InsecureEdgeTerminationPolicyRedirect,
			},
		},
	}
}
