package render

import (
	"testing"

	routev1 "github.com/openshift/api/route/v1"
	securityapi "istio.io/api/security/v1"
	istionetworking "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// serviceMesh2ExposeRoute is the NetworkPolicy an OpenShift Service Mesh 2.x
// control plane puts into every member namespace for the router, as in
// maistra/istio-operator resources/helm/v2.5/mesh-config/templates/
// networkpolicy.yaml (istio-expose-route-<revision>). Its sibling
// istio-mesh-<revision> admits only member namespaces, which the router's
// namespace is not.
func serviceMesh2ExposeRoute() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"maistra.io/expose-route": "true"}},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"network.openshift.io/policy-group": "ingress"}},
		}}}},
	}}
}

func routeKAP(t *testing.T, tls bool) *meshv1alpha1.KialiAuthProxy {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	kap.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{Enabled: &tls}
	kap.Spec.Exposure.VirtualService = nil
	kap.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
	return kap
}

func rendered[T any](t *testing.T, objs []any, name string) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s rendered, want 1", len(found), name)
	}
	return found[0]
}

func renderAll(kap *meshv1alpha1.KialiAuthProxy) []any {
	var out []any
	for _, o := range Objects(kap, fixedInputs(kap.WithDefaults(""))) {
		out = append(out, o)
	}
	return out
}

// The router reaches the proxy in a Service Mesh 2.x member namespace: the
// control plane's NetworkPolicy admits it to the proxy's pods, and the
// proxy's sidecar accepts its non-mesh connection on the port the Route
// targets, while Kiali stays STRICT.
func TestRouteReachesTheProxyInServiceMesh2(t *testing.T) {
	for _, tls := range []bool{true, false} {
		objs := renderAll(routeKAP(t, tls))
		route := rendered[*routev1.Route](t, objs, "Route")
		svc := rendered[*corev1.Service](t, objs, "Service")
		dep := rendered[*appsv1.Deployment](t, objs, "Deployment")
		podLabels := labels.Set(dep.Spec.Template.Labels)

		np := serviceMesh2ExposeRoute()
		if !labels.SelectorFromSet(np.Spec.PodSelector.MatchLabels).Matches(podLabels) {
			t.Errorf("tls=%v: the proxy pods %v are not admitted by istio-expose-route", tls, podLabels)
		}

		// Follow the Route to the container port the router connects to.
		var targetName string
		for _, p := range svc.Spec.Ports {
			if p.Name == route.Spec.Port.TargetPort.StrVal {
				targetName = p.TargetPort.StrVal
			}
		}
		var containerPort int32
		for _, p := range dep.Spec.Template.Spec.Containers[0].Ports {
			if p.Name == targetName {
				containerPort = p.ContainerPort
			}
		}
		if containerPort == 0 {
			t.Fatalf("tls=%v: Route port %s leads to no container port", tls, route.Spec.Port.TargetPort.StrVal)
		}

		var proxyPA, kialiPA *securityv1.PeerAuthentication
		for _, o := range objs {
			if pa, ok := o.(*securityv1.PeerAuthentication); ok {
				if labels.SelectorFromSet(pa.Spec.Selector.MatchLabels).Matches(podLabels) {
					proxyPA = pa
				} else {
					kialiPA = pa
				}
			}
		}
		if proxyPA == nil {
			t.Fatalf("tls=%v: no PeerAuthentication selects the proxy pods", tls)
		}
		if m := proxyPA.Spec.PortLevelMtls[uint32(containerPort)]; m == nil || m.Mode != securityapi.PeerAuthentication_MutualTLS_PERMISSIVE {
			t.Errorf("tls=%v: port %d the router connects to is not PERMISSIVE: %v", tls, containerPort, proxyPA.Spec.PortLevelMtls)
		}
		if len(proxyPA.Spec.PortLevelMtls) != 1 || proxyPA.Spec.Mtls != nil {
			t.Errorf("tls=%v: the proxy's other ports must keep the mesh's mode: %v %v", tls, proxyPA.Spec.Mtls, proxyPA.Spec.PortLevelMtls)
		}
		if kialiPA == nil || kialiPA.Spec.Mtls.GetMode() != securityapi.PeerAuthentication_MutualTLS_STRICT {
			t.Errorf("tls=%v: Kiali is no longer STRICT", tls)
		}
	}

	// Behind a gateway there is no router to admit.
	for _, o := range renderAll(loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")) {
		if d, ok := o.(*appsv1.Deployment); ok && d.Spec.Template.Labels[ExposeRouteLabel] != "" {
			t.Error("the proxy pods are labelled for the router without a Route")
		}
		if pa, ok := o.(*securityv1.PeerAuthentication); ok && len(pa.Spec.PortLevelMtls) > 0 {
			t.Error("a PERMISSIVE port without a Route")
		}
	}
}

func TestPassthroughOnlyWithTheUsersCertificate(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	objs := renderAll(kap)
	vs := rendered[*istionetworking.VirtualService](t, objs, "VirtualService")
	if len(vs.Spec.Tls) != 0 {
		t.Errorf("a passthrough route to the service CA's certificate is rendered: %v", vs.Spec.Tls)
	}

	kap.Spec.Exposure.VirtualService.Passthrough = &meshv1alpha1.PassthroughSpec{
		CertificateSecret: meshv1alpha1.SecretReference{Name: "kiali-host-cert"},
	}
	objs = renderAll(kap)
	vs = rendered[*istionetworking.VirtualService](t, objs, "VirtualService")
	if len(vs.Spec.Tls) != 1 || vs.Spec.Tls[0].Match[0].SniHosts[0] != kap.Spec.Exposure.Host ||
		vs.Spec.Tls[0].Route[0].Destination.Port.Number != ProxyHTTPSPort {
		t.Errorf("passthrough route %v", vs.Spec.Tls)
	}
	dep := rendered[*appsv1.Deployment](t, objs, "Deployment")
	var served string
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == volServingCert {
			served = v.Secret.SecretName
		}
	}
	if served != "kiali-host-cert" {
		t.Errorf("the HTTPS listener serves %q, want the user's kiali-host-cert", served)
	}
	if svc := rendered[*corev1.Service](t, objs, "Service"); svc.Annotations[ServingCertAnnotation] != "" {
		t.Error("a service CA certificate is still asked for though the listener serves the user's")
	}
}
