package testbed

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// OIDCScopes are the scopes a client of the mock issuer must ask for so that
// the ID token holds the claims the API server maps (email for the user
// name, groups for the groups): mockoidc leaves out the claims of a scope
// that was not requested.
var OIDCScopes = []string{"openid", "email", "groups", "profile"}

// OIDC is a mock OpenID Connect issuer (github.com/oauth2-proxy/mockoidc)
// serving HTTPS on 127.0.0.1, with a CA of its own: the kube-apiserver's
// JWT authenticator fetches only https issuers, and oauth2-proxy is pointed
// at it the same way.
type OIDC struct {
	// IssuerURL is the issuer, as it appears in the tokens' iss claim and
	// as clients discover it (IssuerURL + "/.well-known/openid-configuration").
	IssuerURL string
	// CAPEM is the PEM of the CA that signed the issuer's serving
	// certificate; CAFile holds the same PEM, for programs that take a path.
	CAPEM  []byte
	CAFile string
	// ClientID and ClientSecret are the one OAuth client the issuer knows;
	// the ID tokens it issues are for the audience ClientID.
	ClientID     string
	ClientSecret string

	server *mockoidc.MockOIDC
}

// StartOIDC starts a mock issuer for the calling Ginkgo node and stops it
// when that node's specs are done (from BeforeSuite: the suite's end).
func StartOIDC() *OIDC {
	ginkgo.GinkgoHelper()
	dir, err := os.MkdirTemp("", "oidc-")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ginkgo.DeferCleanup(os.RemoveAll, dir)

	hc, err := NewHostCertificate("127.0.0.1", "localhost")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	serving, err := tls.X509KeyPair(hc.CertPEM, hc.KeyPEM)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	caPEM := hc.CAPEM
	caFile := filepath.Join(dir, "ca.crt")
	gomega.Expect(os.WriteFile(caFile, caPEM, 0o600)).To(gomega.Succeed())

	// A signing key of this run rather than mockoidc's built-in one, which
	// is published with its source.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	m, err := mockoidc.NewServer(key)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	cfg := &tls.Config{Certificates: []tls.Certificate{serving}, MinVersion: tls.VersionTLS12}
	// mockoidc calls Serve, not ServeTLS: the listener itself must speak
	// TLS; the config is passed too so that the issuer URL says https.
	gomega.Expect(m.Start(tls.NewListener(ln, cfg), cfg)).To(gomega.Succeed())
	ginkgo.DeferCleanup(m.Shutdown)

	return &OIDC{
		IssuerURL:    m.Issuer(),
		CAPEM:        caPEM,
		CAFile:       caFile,
		ClientID:     m.ClientID,
		ClientSecret: m.ClientSecret,
		server:       m,
	}
}

// QueueUser makes the next login at the issuer's authorization endpoint
// that of the user with this e-mail address and these groups (a login with
// an empty queue is mockoidc's default user, jane.doe@example.com). The
// e-mail is marked verified, as the API server requires of a user name
// taken from the email claim.
func (o *OIDC) QueueUser(email string, groups ...string) {
	o.server.QueueUser(oidcUser(email, groups))
}

// IDToken mints an ID token signed by the issuer for the user with this
// e-mail address and these groups, for audience, expiring at expires: what
// a login would have returned, for tests that skip the browser. An expires
// in the past gives an expired token (issued ten minutes before it).
func (o *OIDC) IDToken(email string, groups []string, audience string, expires time.Time) string {
	ginkgo.GinkgoHelper()
	issued := time.Now()
	if !expires.After(issued) {
		issued = expires.Add(-10 * time.Minute)
	}
	id, err := randomID()
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	base := &mockoidc.IDTokenClaims{RegisteredClaims: &jwt.RegisteredClaims{
		Issuer:    o.IssuerURL,
		Subject:   email,
		Audience:  jwt.ClaimStrings{audience},
		ExpiresAt: jwt.NewNumericDate(expires),
		IssuedAt:  jwt.NewNumericDate(issued),
		NotBefore: jwt.NewNumericDate(issued),
		ID:        id,
	}}
	claims, err := oidcUser(email, groups).Claims(OIDCScopes, base)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	token, err := o.server.Keypair.SignJWT(claims)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return token
}

func oidcUser(email string, groups []string) *mockoidc.MockUser {
	return &mockoidc.MockUser{
		Subject:           email,
		Email:             email,
		EmailVerified:     true,
		PreferredUsername: email,
		Groups:            append([]string(nil), groups...),
	}
}

func randomID() (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return "", err
	}
	return n.Text(36), nil
}
