package certmanager

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func issuedSecret(t *testing.T, c *unstructured.Unstructured) *corev1.Secret {
	t.Helper()
	name, _, _ := unstructured.NestedString(c.Object, "spec", "secretName")
	s := &corev1.Secret{}
	if err := k.Get(context.Background(), client.ObjectKey{Namespace: c.GetNamespace(), Name: name}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkIssued checks the Secret cert-manager wrote for Certificate c, as
// pkg/controller/certificates/issuing/internal/secret.go of cert-manager
// writes it (setValues): type kubernetes.io/tls; tls.crt, tls.key and the
// issuer's ca.crt; the secretTemplate's labels and
// controller.cert-manager.io/fao; the annotations of the certificate's
// names (internal/controller/certificates/secrets.go,
// AnnotationsForCertificate) and of the Certificate and its issuer. The
// keys are spelt in pkg/apis/certmanager/v1/types.go and
// pkg/apis/meta/v1/types.go (TLSCAKey). It returns the leaf certificate.
func checkIssued(t *testing.T, s *corev1.Secret, c *unstructured.Unstructured, dnsNames []string, issuer, kind string) *x509.Certificate {
	t.Helper()
	if s.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret %s is of type %q", s.Name, s.Type)
	}
	if keys := slices.Sorted(maps.Keys(s.Data)); !slices.Equal(keys, []string{"ca.crt", corev1.TLSCertKey, corev1.TLSPrivateKeyKey}) {
		t.Errorf("Secret %s has the keys %q", s.Name, keys)
	}
	labels, _, _ := unstructured.NestedStringMap(c.Object, "spec", "secretTemplate", "labels")
	labels["controller.cert-manager.io/fao"] = "true"
	for k, v := range labels {
		if s.Labels[k] != v {
			t.Errorf("Secret %s: label %s = %q, want %q", s.Name, k, s.Labels[k], v)
		}
	}
	for k, v := range map[string]string{
		"cert-manager.io/certificate-name": c.GetName(),
		"cert-manager.io/issuer-name":      issuer,
		"cert-manager.io/issuer-kind":      kind,
		"cert-manager.io/issuer-group":     "cert-manager.io",
		"cert-manager.io/alt-names":        strings.Join(dnsNames, ","),
		"cert-manager.io/common-name":      "",
		"cert-manager.io/ip-sans":          "",
		"cert-manager.io/uri-sans":         "",
	} {
		if got, ok := s.Annotations[k]; !ok || got != v {
			t.Errorf("Secret %s: annotation %s = %q (set: %v), want %q", s.Name, k, got, ok, v)
		}
	}

	pair, err := tls.X509KeyPair(s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("Secret %s: %v", s.Name, err)
	}
	leaf := pair.Leaf
	if !slices.Equal(leaf.DNSNames, dnsNames) {
		t.Errorf("Secret %s: the certificate is for %q, want %q", s.Name, leaf.DNSNames, dnsNames)
	}
	if key, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
		t.Errorf("Secret %s: the key is %T, want ECDSA P-256", s.Name, leaf.PublicKey)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("Secret %s: usages %v and %v, want server auth and digital signature", s.Name, leaf.ExtKeyUsage, leaf.KeyUsage)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Data["ca.crt"]) {
		t.Fatalf("Secret %s: ca.crt holds no certificate", s.Name)
	}
	for _, d := range dnsNames {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: d, Roots: roots}); err != nil {
			t.Errorf("Secret %s: %s: %v", s.Name, d, err)
		}
	}
	return leaf
}
