package render

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// CertificateGVK is cert-manager's Certificate. It is rendered unstructured:
// the fields used are few and stable, and cert-manager's module would bring
// its controller's dependencies into the operator.
var CertificateGVK = schema.GroupVersionKind{Group: "cert-manager.io", Version: "v1", Kind: "Certificate"}

// Certificate has cert-manager issue the proxy listener's certificate,
// where OpenShift's service CA does not: for the proxy Service's DNS names,
// into the Secret the listener mounts (the name the service CA would write,
// so the pod is the same either way). cert-manager writes tls.crt, tls.key
// and, where the issuer knows it, ca.crt (pkg/apis/meta/v1/types.go of
// cert-manager: TLSCAKey). The rules of cert-manager's admission webhook it
// meets are tested in certificate_test.go.
func Certificate(kap *meshv1alpha1.KialiAuthProxy, n Names) *unstructured.Unstructured {
	return certificate(kap, n, n.ServingCert, ComponentProxy, kap.Spec.Proxy.TLS.CertManager.IssuerRef,
		fmt.Sprintf("%s.%s.svc", n.Proxy, n.Namespace), n.ProxyFQDN())
}

// KialiCertificate has cert-manager issue Kiali's serving certificate off
// OpenShift (spec.kiali.tls.certManager), for Kiali's Service, into the
// Secret the Kiali CR mounts for Kiali's identity.
func KialiCertificate(kap *meshv1alpha1.KialiAuthProxy, n Names) *unstructured.Unstructured {
	return certificate(kap, n, n.KialiServingCert, ComponentKiali, kap.Spec.Kiali.TLS.CertManager.IssuerRef,
		fmt.Sprintf("%s.%s.svc", n.KialiInstance, n.Namespace), n.KialiFQDN())
}

func certificate(kap *meshv1alpha1.KialiAuthProxy, n Names, name, component string, ref meshv1alpha1.CertManagerIssuerRef, dnsNames ...string) *unstructured.Unstructured {
	names := make([]any, len(dnsNames))
	for i, d := range dnsNames {
		names[i] = d
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"secretName": name,
			// Labels on the issued Secret: the operator's Secret cache holds
			// only labelled Secrets' metadata, and this one's content rolls
			// the pods that load it when it is renewed.
			"secretTemplate": map[string]any{"labels": stringMap(Labels(kap, component))},
			"dnsNames":       names,
			"issuerRef":      map[string]any{"name": ref.Name, "kind": ref.Kind, "group": ref.Group},
			"usages":         []any{"server auth", "digital signature"},
			"privateKey": map[string]any{
				"algorithm": "ECDSA",
				"size":      int64(256),
				// A new key on each renewal: a leaked key dies with its
				// certificate.
				"rotationPolicy": "Always",
			},
		},
	}}
	u.SetGroupVersionKind(CertificateGVK)
	u.SetName(name)
	u.SetNamespace(n.Namespace)
	u.SetLabels(Labels(kap, component))
	return u
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
