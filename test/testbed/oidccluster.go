package testbed

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// StartOIDCCluster starts a control plane as StartCluster does, whose API
// server also authenticates the ID tokens of issuer (for the audience
// issuer.ClientID): the user name is the email claim and the groups the
// groups claim, both without a prefix. It returns once such a token
// authenticates: the API server fetches the issuer's discovery document
// and keys in the background after it starts, and answers 401 until then.
func StartOIDCCluster(o ClusterOptions, issuer *OIDC) *Cluster {
	ginkgo.GinkgoHelper()
	dir, err := os.MkdirTemp("", "apiserver-authn-")
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	ginkgo.DeferCleanup(os.RemoveAll, dir)
	file := filepath.Join(dir, "authentication-config.yaml")
	gomega.Expect(os.WriteFile(file, JWTAuthenticationConfig(issuer), 0o600)).To(gomega.Succeed())
	if o.APIServerFlags == nil {
		o.APIServerFlags = map[string]string{}
	}
	o.APIServerFlags["authentication-config"] = file
	c := StartCluster(o)

	token := issuer.IDToken("testbed-probe@example.com", nil, issuer.ClientID, time.Now().Add(5*time.Minute))
	gomega.Eventually(func() error {
		_, err := WhoAmI(context.Background(), c.Config, token)
		return err
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	return c
}

// JWTAuthenticationConfig is the API server's structured authentication
// configuration (--authentication-config, apiserver.config.k8s.io/v1) that
// trusts issuer, verifying its TLS certificate with issuer.CAPEM.
func JWTAuthenticationConfig(issuer *OIDC) []byte {
	ginkgo.GinkgoHelper()
	noPrefix := ""
	config := apiserverv1.AuthenticationConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: apiserverv1.SchemeGroupVersion.String(), Kind: "AuthenticationConfiguration"},
		JWT: []apiserverv1.JWTAuthenticator{{
			Issuer: apiserverv1.Issuer{
				URL:                  issuer.IssuerURL,
				CertificateAuthority: string(issuer.CAPEM),
				Audiences:            []string{issuer.ClientID},
			},
			ClaimMappings: apiserverv1.ClaimMappings{
				Username: apiserverv1.PrefixedClaimOrExpression{Claim: "email", Prefix: &noPrefix},
				Groups:   apiserverv1.PrefixedClaimOrExpression{Claim: "groups", Prefix: &noPrefix},
			},
		}},
	}
	b, err := yaml.Marshal(config)
	gomega.Expect(err).NotTo(gomega.HaveOccurred())
	return b
}

// WhoAmI is what the API server makes of a bearer token (a
// SelfSubjectReview made with it, as kubectl auth whoami does).
func WhoAmI(ctx context.Context, cfg *rest.Config, token string) (authenticationv1.UserInfo, error) {
	c := rest.AnonymousClientConfig(cfg)
	c.BearerToken = token
	authn, err := authenticationclient.NewForConfig(c)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	r, err := authn.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}
