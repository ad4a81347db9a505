package render

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// HTTPRouteGVK is the Gateway API route the proxy is exposed with.
var HTTPRouteGVK = gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute")

// HTTPRoute serves the host on Gateway API Gateways, such as the ones Istio
// implements, for clusters without Istio's own Gateway objects or
// OpenShift's Routes. The Gateway terminates TLS and hands plain HTTP to the
// proxy's HTTP port; with Istio that hop is inside the mesh, over mTLS, as
// with the VirtualService. Every path goes to the proxy, which forwards it
// unchanged: Kiali redirects "/" to its web root itself.
func HTTPRoute(kap *meshv1alpha1.KialiAuthProxy, n Names) *gatewayv1.HTTPRoute {
	e := kap.Spec.Exposure.HTTPRoute
	parents := make([]gatewayv1.ParentReference, 0, len(e.ParentRefs))
	for _, ref := range e.ParentRefs {
		ns := ref.Namespace
		if ns == "" {
			ns = n.Namespace
		}
		pr := gatewayv1.ParentReference{
			// Group and kind as the API server defaults them, so that a
			// no-op apply changes nothing.
			Group:     ptr.To(gatewayv1.Group(gatewayv1.GroupName)),
			Kind:      ptr.To(gatewayv1.Kind("Gateway")),
			Namespace: ptr.To(gatewayv1.Namespace(ns)),
			Name:      gatewayv1.ObjectName(ref.Name),
		}
		if ref.SectionName != "" {
			pr.SectionName = ptr.To(gatewayv1.SectionName(ref.SectionName))
		}
		parents = append(parents, pr)
	}
	return &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: HTTPRouteGVK.GroupVersion().String(), Kind: HTTPRouteGVK.Kind},
		ObjectMeta: objectMeta(kap, n, n.HTTPRoute, ComponentExposure),
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents},
			Hostnames:       []gatewayv1.Hostname{gatewayv1.Hostname(kap.Spec.Exposure.Host)},
			Rules: []gatewayv1.HTTPRouteRule{{
				Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{
					Type:  ptr.To(gatewayv1.PathMatchPathPrefix),
					Value: ptr.To("/"),
				}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
					BackendObjectReference: gatewayv1.BackendObjectReference{
						Group: ptr.To(gatewayv1.Group("")),
						Kind:  ptr.To(gatewayv1.Kind("Service")),
						Name:  gatewayv1.ObjectName(n.Proxy),
						Port:  ptr.To(gatewayv1.PortNumber(ProxyHTTPPort)),
					},
					Weight: ptr.To[int32](1),
				}}},
			}},
		},
	}
}
