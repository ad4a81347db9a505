package render

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Service fronts the proxy pods. The plain HTTP port is what the mesh
// gateway routes to (mesh mTLS protects that hop); the HTTPS port, served
// with a certificate the service CA operator writes into the serving-cert
// Secret, is for clients outside the mesh and TLS passthrough.
func Service(kap *meshv1alpha1.KialiAuthProxy, n Names) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(kap, n, n.Proxy, ComponentProxy),
		Spec: corev1.ServiceSpec{
			Selector: ProxySelector(kap),
			Ports: []corev1.ServicePort{{
				Name:       ServiceHTTPPortName,
				Protocol:   corev1.ProtocolTCP,
				Port:       ProxyHTTPPort,
				TargetPort: intstr.FromString(ProxyHTTPPortName),
			}},
		},
	}
	if kap.Spec.Proxy.TLSEnabled() {
		if ServiceCASignsListener(kap) {
			svc.Annotations = map[string]string{ServingCertAnnotation: n.ServingCert}
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name:       ServiceHTTPSPortName,
			Protocol:   corev1.ProtocolTCP,
			Port:       ProxyHTTPSPort,
			TargetPort: intstr.FromString(ProxyHTTPSPortName),
		})
	}
	return svc
}
