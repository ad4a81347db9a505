package controller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/secrets"

	corev1 "k8s.io/api/core/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// passthroughCertificate reads the certificate the proxy serves to browsers
// whose TLS the gateway passes through, and checks what a browser would:
// that it parses with its key and names spec.exposure.host. It returns the
// certificate's bytes for the inputs checksum. The Secret is only read.
func (r *Reconciler) passthroughCertificate(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, pt *meshv1alpha1.PassthroughSpec) ([]byte, []conditions.Problem, error) {
	const role = "referenced by spec.exposure.virtualService.passthrough.certificateSecret"
	name := pt.CertificateSecret.Name
	s, cert, p, err := r.secrets().Key(ctx, kap.Namespace, render.SecretKey{Name: name, Key: corev1.TLSCertKey}, role)
	if err != nil || p != nil {
		return nil, problems(p), err
	}
	key, p := secrets.KeyOf(s, render.SecretKey{Name: name, Key: corev1.TLSPrivateKeyKey}, role)
	if p != nil {
		return nil, problems(p), nil
	}
	return cert, problems(checkServingCertificate(kap.Namespace, name, cert, key, kap.Spec.Exposure.Host)), nil
}

// checkServingCertificate is nil when cert and key form a pair whose leaf
// certificate is valid for host.
func checkServingCertificate(namespace, secret string, cert, key []byte, host string) *conditions.Problem {
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return &conditions.Problem{Reason: meshv1alpha1.ReasonCertificateInvalid, Message: fmt.Sprintf(
			"Secret %s/%s does not hold a usable certificate and key (tls.crt, tls.key): %v", namespace, secret, err)}
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return &conditions.Problem{Reason: meshv1alpha1.ReasonCertificateInvalid, Message: fmt.Sprintf("Secret %s/%s: %v", namespace, secret, err)}
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return &conditions.Problem{Reason: meshv1alpha1.ReasonCertificateInvalid, Message: fmt.Sprintf(
			"The certificate in Secret %s/%s is not valid for %s (%v): browsers whose TLS the gateway passes through would refuse it; put a certificate for the host there",
			namespace, secret, host, err)}
	}
	return nil
}

func problems(p *conditions.Problem) []conditions.Problem {
	if p == nil {
		return nil
	}
	return []conditions.Problem{*p}
}
