package render

import (
	networkingapi "istio.io/api/networking/v1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// VirtualService serves the host on the mesh gateways. A gateway that
// terminates TLS hands plain HTTP to the http route, which goes to the
// proxy's HTTP port over mesh mTLS. Only with spec.exposure.virtualService
// .passthrough is there also a tls route (port 443, matched by SNI) for
// gateways that pass TLS through: the browser then talks TLS to the proxy's
// HTTPS listener, which must serve the user's certificate for the host, not
// the service CA's one for the Service name.
func VirtualService(kap *meshv1alpha1.KialiAuthProxy, n Names) *networkingv1.VirtualService {
	host := kap.Spec.Exposure.Host
	vs := &networkingv1.VirtualService{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "VirtualService"},
		ObjectMeta: objectMeta(kap, n, n.VirtualService, ComponentExposure),
	}
	spec := &vs.Spec
	*spec = networkingapi.VirtualService{
		Hosts:    []string{host},
		Gateways: append([]string(nil), kap.Spec.Exposure.VirtualService.Gateways...),
		Http: []*networkingapi.HTTPRoute{{
			Route: []*networkingapi.HTTPRouteDestination{{
				Destination: &networkingapi.Destination{
					Host: n.ProxyFQDN(),
					Port: &networkingapi.PortSelector{Number: ProxyHTTPPort},
				},
			}},
		}},
	}
	if Passthrough(kap) != nil {
		spec.Tls = []*networkingapi.TLSRoute{{
			Match: []*networkingapi.TLSMatchAttributes{{Port: 443, SniHosts: []string{host}}},
			Route: []*networkingapi.RouteDestination{{
				Destination: &networkingapi.Destination{
					Host: n.ProxyFQDN(),
					Port: &networkingapi.PortSelector{Number: ProxyHTTPSPort},
				},
			}},
		}}
	}
	return vs
}
