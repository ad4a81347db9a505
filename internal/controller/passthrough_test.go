package controller

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

func selfSigned(t *testing.T, dnsName string) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestCheckServingCertificate(t *testing.T) {
	const host = "kiali.apps.example.com"
	cert, key := selfSigned(t, host)
	if p := checkServingCertificate("kiali", "host-cert", cert, key, host); p != nil {
		t.Errorf("a certificate for the host is refused: %s", p.Message)
	}
	// The service CA's certificate is for the Service's name.
	other, otherKey := selfSigned(t, "kiali-oauth.kiali.svc")
	if p := checkServingCertificate("kiali", "host-cert", other, otherKey, host); p == nil || p.Reason != meshv1alpha1.ReasonCertificateInvalid || !strings.Contains(p.Message, "not valid for "+host) {
		t.Errorf("a certificate for another name passes: %+v", p)
	}
	if p := checkServingCertificate("kiali", "host-cert", cert, otherKey, host); p == nil || !strings.Contains(p.Message, "usable certificate and key") {
		t.Errorf("a key of another certificate passes: %+v", p)
	}
}
