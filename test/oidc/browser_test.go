package oidc

import (
	"crypto/x509"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// browserFor starts a browser that reaches the pod at its exposure host
// and trusts only the test's own certificates of the pod and the issuer.
//
// The redirect URL is rendered from spec.exposure.host, a DNS name without
// a port (admission allows no other), as https://<host>/oauth2/callback,
// so the issuer sends the browser to port 443 of the host. No resolver
// knows the host on a closed network, and a test cannot listen on 443
// beside others; Chromium's host rules map <host>:443 to the loopback port
// oauth2-proxy's HTTPS listener has in the test. The browser still asks
// for the host by name (Host header, TLS server name, cookies), so
// --redirect-url is passed to oauth2-proxy as rendered.
func browserFor(p *proxyPod) *testbed.Browser {
	GinkgoHelper()
	u, err := url.Parse(issuer.IssuerURL)
	Expect(err).NotTo(HaveOccurred())
	issuerCert, err := testbed.ServedCertificate(u.Host, issuer.CAPEM)
	Expect(err).NotTo(HaveOccurred())
	return testbed.StartBrowser(testbed.BrowserOptions{
		Hosts: map[string]string{p.KAP.Spec.Exposure.Host + ":443": p.HTTPS()},
		// The system's trust store holds neither CA. Pinning the two leaf
		// keys keeps every other certificate checked, where
		// --ignore-certificate-errors would accept any.
		Pinned: []*x509.Certificate{p.Listener.Leaf, issuerCert},
	})
}
