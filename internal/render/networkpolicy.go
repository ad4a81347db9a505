package render

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// NetworkPolicy is defence in depth for clusters where the sidecar can be
// bypassed (a pod with NET_ADMIN, a CNI without Istio's redirection, a
// sidecar-less pod in the namespace): only the proxy's pods may open Kiali's
// port. The sidecar agent's port stays open to any source: the kubelet's
// probes (rewritten there by Istio) and Prometheus (merged metrics, Kiali's
// included) reach Kiali only through it.
func NetworkPolicy(kap *meshv1alpha1.KialiAuthProxy, n Names) *networkingv1.NetworkPolicy {
	tcp := ptr.To(corev1.ProtocolTCP)
	port := func(p int) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: tcp, Port: ptr.To(intstr.FromInt(p))}
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(kap, n, n.LockDown, ComponentLockDown),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: KialiSelector(kap)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: ProxySelector(kap)}}},
					Ports: []networkingv1.NetworkPolicyPort{port(KialiPort)},
				},
				{Ports: []networkingv1.NetworkPolicyPort{port(IstioAgentPort)}},
			},
		},
	}
}
