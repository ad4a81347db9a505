package oidc

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// kiali stands in for Kiali behind the proxy: an HTTPS server showing a
// page with a marker of its own, noting every request it gets.
type kiali struct {
	srv *httptest.Server
	// Marker is on every page it serves.
	Marker string

	mu   sync.Mutex
	seen []*http.Request
}

func startKiali() *kiali {
	GinkgoHelper()
	k := &kiali{Marker: "kiali-stand-in-" + rand.String(8)}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.seen = append(k.seen, r.Clone(r.Context()))
		k.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, "<!DOCTYPE html><title>Kiali</title><p id=marker>%s</p>", k.Marker)
	}))
	DeferCleanup(k.srv.Close)
	return k
}

// Addr is the host:port it serves on.
func (k *kiali) Addr() string { return k.srv.Listener.Addr().String() }

// requestsOf are the requests it got for user, as the X-Forwarded-User
// header names them.
func (k *kiali) requestsOf(user string) []*http.Request {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []*http.Request
	for _, r := range k.seen {
		if r.Header.Get("X-Forwarded-User") == user {
			out = append(out, r)
		}
	}
	return out
}

// count is how many requests it got.
func (k *kiali) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.seen)
}

// certificateSecret is Kiali's certificate as spec.kiali.tls.certificateSecret
// names it: tls.crt and tls.key, and ca.crt, the CA the proxy trusts for it
// (httptest's certificate is self-signed, its own CA).
func (k *kiali) certificateSecret(ns, name string) *corev1.Secret {
	GinkgoHelper()
	cert := k.srv.TLS.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	Expect(err).NotTo(HaveOccurred())
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	s := &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{
		corev1.TLSCertKey:       certPEM,
		corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
		"ca.crt":                certPEM,
	}}
	s.Namespace, s.Name = ns, name
	return s
}

// shows tells whether a page is the stand-in's.
func (k *kiali) shows(text string) bool { return strings.Contains(text, k.Marker) }
