package oidc

import (
	"net/http"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// In AllowList mode the API server need not trust the issuer: oauth2-proxy
// alone decides, with --allowed-group (enforced at the callback by
// provider.Authorize, providers/provider_default.go of oauth2-proxy
// v7.15.6, and again on every request in oauthproxy.go getAuthenticatedSession),
// and the authorizing proxy only forwards.
var _ = Describe("the OIDC login with an allow list", Ordered, ContinueOnFailure, func() {
	const host = "kiali-allowlist.test"
	var (
		pod     *proxyPod
		up      *kiali
		browser *testbed.Browser
	)

	BeforeAll(func() {
		up = startKiali()
		kap := oidcKAP(testbed.NewNamespace(ctx, k, "oidc-allow-"), host, meshv1alpha1.OIDCAuthorization{
			Mode:          meshv1alpha1.OIDCAuthorizationAllowList,
			AllowedGroups: []string{"mesh-admins"},
		})
		pod = startProxyPod(kap, up)
		browser = browserFor(pod)
	})

	It("runs both containers with the rendered arguments", func() {
		expectPodArgs(pod)
		cfg := renderedConfig(pod)
		Expect(cfg.Providers).To(HaveLen(1))
		Expect(cfg.Providers[0].AllowedGroups).To(ConsistOf("mesh-admins"))
		// No ID token for the authorizing proxy: nothing checks it.
		Expect(cfg.headerNames()).NotTo(ContainElement("Authorization"))
		Expect(pod.Rendered[render.AuthorizerContainerName]).To(ContainElement("--forward-only"))
	})

	It("logs in a user of an allowed group and shows Kiali", func() {
		issuer.QueueUser(alice, "mesh-admins")
		page, err := browser.NewUser().Open("https://" + host + "/")
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Status).To(Equal(http.StatusOK), page.Text)
		Expect(up.shows(page.Text)).To(BeTrue(), "the page is not Kiali's: %s", page.Text)
		seen := up.requestsOf(alice)
		Expect(seen).NotTo(BeEmpty(), "Kiali saw no request of %s", alice)
		for _, r := range seen {
			Expect(r.Header.Values("Authorization")).To(BeEmpty())
		}
	})

	It("has oauth2-proxy itself refuse a user outside the allowed groups", func() {
		before := up.count()
		issuer.QueueUser(bob, "other")
		page, err := browser.NewUser().Open("https://" + host + "/")
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Status).To(Equal(http.StatusForbidden), page.Text)
		// oauth2-proxy's error page (pkg/app/pagewriter/error.html), not
		// the authorizing proxy's plain text.
		Expect(page.Text).To(ContainSubstring("Forbidden"))
		Expect(page.Text).NotTo(ContainSubstring("Access to Kiali denied"))
		Expect(pod.OAuth2Proxy.Output.String()).To(MatchRegexp(`(?m)` + regexp.QuoteMeta(bob) + `.*Invalid authentication via OAuth2: unauthorized`))
		Expect(up.count()).To(Equal(before), "Kiali was reached")
	})
})
