package controller

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/secrets"
)

// The inputs of the OIDC provider and of a listener certificate that does
// not come from the service CA. Each is read live, only when the spec uses
// it, and goes into the inputs checksum: oauth2-proxy reads its client
// secret, its issuer CA and its certificate once, at start.

// resolveProviderInputs reads what the OIDC provider and the listener
// certificate need, adding their content to sum.
func (r *Reconciler) resolveProviderInputs(ctx context.Context, d *meshv1alpha1.KialiAuthProxy, n render.Names, sum hash.Hash) ([]conditions.Problem, error) {
	var ps []conditions.Problem
	if o := d.Spec.Proxy.OIDC; d.Spec.Proxy.IsOIDC() && o != nil {
		ref := render.SecretKey{Name: o.ClientSecret.Name, Key: o.ClientSecret.Key}
		_, value, p, err := r.secrets().Key(ctx, d.Namespace, ref, "referenced by spec.proxy.oidc.clientSecret")
		if err != nil {
			return nil, err
		}
		if p == nil && len(bytes.TrimSpace(value)) == 0 {
			p = &conditions.Problem{Reason: meshv1alpha1.ReasonSecretKeyMissing, Message: fmt.Sprintf(
				"Secret %s/%s key %q referenced by spec.proxy.oidc.clientSecret is empty: put the client secret the issuer gave for client %q there", d.Namespace, ref.Name, ref.Key, o.ClientID)}
		}
		if p != nil {
			ps = append(ps, *p)
		}
		fmt.Fprintf(sum, "\nclient-secret %s/%s\n", ref.Name, ref.Key)
		sum.Write(value)
		if ca := o.IssuerCA; ca != nil {
			pem, p, err := r.issuerCA(ctx, d.Namespace, ca)
			if err != nil {
				return nil, err
			}
			if p != nil {
				ps = append(ps, *p)
			}
			fmt.Fprintf(sum, "\nissuer-ca %s/%s\n", ca.Name, ca.Key)
			sum.Write([]byte(pem))
		}
	}
	if t := d.Spec.Proxy.TLS; d.Spec.Proxy.TLSEnabled() && t.CertificateSecret != nil && render.Passthrough(d) == nil {
		// A passthrough certificate wins (render.ListenerCertSecret) and is
		// read in resolveInputs, where it is checked against the host.
		name := t.CertificateSecret.Name
		const role = "referenced by spec.proxy.tls.certificateSecret"
		s, cert, p, err := r.secrets().Key(ctx, d.Namespace, render.SecretKey{Name: name, Key: corev1.TLSCertKey}, role)
		if err != nil {
			return nil, err
		}
		if p == nil {
			var key []byte
			if key, p = secrets.KeyOf(s, render.SecretKey{Name: name, Key: corev1.TLSPrivateKeyKey}, role); p == nil {
				p = checkServingCertificate(d.Namespace, name, cert, key, n.ProxyFQDN())
			}
		}
		if p != nil {
			ps = append(ps, *p)
		}
		fmt.Fprintf(sum, "\nlistener %s\n", name)
		sum.Write(cert)
	}
	if t := d.Spec.Proxy.TLS; d.Spec.Proxy.TLSEnabled() && t.CertManager != nil && render.Passthrough(d) == nil {
		// cert-manager renews into the same Secret; oauth2-proxy and
		// oauth-proxy load it at start, so a renewal rolls the pods. Not
		// there yet is no problem: the Certificate reports the issuance.
		s := &corev1.Secret{}
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: d.Namespace, Name: n.ServingCert}, s)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading Secret %s/%s: %w", d.Namespace, n.ServingCert, err)
		}
		fmt.Fprintf(sum, "\ncert-manager %s\n", n.ServingCert)
		sum.Write(s.Data[corev1.TLSCertKey])
	}
	if ca := render.KialiCA(d, n); ca != nil {
		// The CA the authorizing proxy verifies Kiali with; it loads it at
		// start, so a new one rolls the pods. cert-manager's Secret may not
		// be issued yet: that is no problem of the spec's.
		issued := d.Spec.Kiali.TLS.CertManager != nil && d.Spec.Kiali.TLS.CA == nil
		s := &corev1.Secret{}
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: d.Namespace, Name: ca.Name}, s)
		switch {
		case apierrors.IsNotFound(err) && !issued:
			ps = append(ps, conditions.Problem{Reason: meshv1alpha1.ReasonSecretNotFound, Message: fmt.Sprintf(
				"Secret %s/%s with the CA of Kiali's certificate (spec.kiali.tls) does not exist: create it with the key %q", d.Namespace, ca.Name, ca.Key)})
		case err != nil && !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("reading Secret %s/%s: %w", d.Namespace, ca.Name, err)
		case err == nil && len(s.Data[ca.Key]) == 0 && !issued:
			ps = append(ps, conditions.Problem{Reason: meshv1alpha1.ReasonSecretKeyMissing, Message: fmt.Sprintf(
				"Secret %s/%s has no CA certificate under the key %q, which the proxy verifies Kiali's certificate with (spec.kiali.tls); name the key in spec.kiali.tls.ca", d.Namespace, ca.Name, ca.Key)})
		}
		fmt.Fprintf(sum, "\nkiali-ca %s/%s\n", ca.Name, ca.Key)
		sum.Write(s.Data[ca.Key])
	}
	return ps, nil
}

// issuerCA reads the issuer's CA bundle from the user's ConfigMap.
func (r *Reconciler) issuerCA(ctx context.Context, namespace string, ref *meshv1alpha1.ConfigMapKeyReference) (string, *conditions.Problem, error) {
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, cm)
	if apierrors.IsNotFound(err) {
		return "", &conditions.Problem{Reason: meshv1alpha1.ReasonConfigMapNotFound, Message: fmt.Sprintf(
			"ConfigMap %s/%s referenced by spec.proxy.oidc.issuerCA does not exist: create it with the issuer's CA certificates (PEM) under the key %q", namespace, ref.Name, ref.Key)}, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("reading ConfigMap %s/%s: %w", namespace, ref.Name, err)
	}
	pem, ok := cm.Data[ref.Key]
	if !ok || !strings.Contains(pem, "-----BEGIN CERTIFICATE-----") {
		return "", &conditions.Problem{Reason: meshv1alpha1.ReasonConfigMapKeyMissing, Message: fmt.Sprintf(
			"ConfigMap %s/%s referenced by spec.proxy.oidc.issuerCA has no PEM certificate under the key %q", namespace, ref.Name, ref.Key)}, nil
	}
	return pem, nil, nil
}

// oauth2ProxyCookieSecretBytes is the key oauth2-proxy makes of the content
// of its --cookie-secret-file: the base64url decoding (padding trimmed)
// when that gives 16, 24 or 32 bytes, else the content as it is, newline
// and all (pkg/encryption/utils.go SecretBytes, and
// pkg/validation/cookie.go validateCookieSecret, which refuses to start
// unless the result has one of those lengths).
func oauth2ProxyCookieSecretBytes(v []byte) []byte {
	if b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(string(v), "=")); err == nil {
		switch len(b) {
		case 16, 24, 32:
			return b
		}
	}
	return v
}
