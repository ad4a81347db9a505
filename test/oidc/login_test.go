package oidc

import (
	"net/http"

	"github.com/chromedp/cdproto/network"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// The users of the specs, as the issuer logs them in.
const (
	alice = "alice@example.com" // in mesh-admins
	bob   = "bob@example.com"   // in other
)

// The flow the specs follow, in oauth2-proxy v7.15.6:
//   - a request without a session is sent straight to the issuer, with
//     --skip-provider-button (oauthproxy.go, Proxy: ErrNeedsLogin and
//     doOAuthStart);
//   - the issuer sends the browser back to --redirect-url, the callback
//     path /oauth2/callback (oauthproxy.go: oauthCallbackPath under the
//     default --proxy-prefix /oauth2), where OAuthCallback redeems the
//     code with the PKCE verifier, checks the allowed groups
//     (provider.Authorize, providers/provider_default.go) and answers 403
//     with its error page when they deny, or saves the session and sends
//     the browser to the page it asked for;
//   - with a session, requests are forwarded to --upstream with
//     X-Forwarded-User from the session (--pass-user-headers, on by
//     default) and, with --pass-authorization-header, "Authorization:
//     Bearer <ID token>" (pkg/apis/options/legacy_options.go,
//     getPassUserHeaders and getAuthorizationHeader).
var _ = Describe("the OIDC login with SubjectAccessReviews", Ordered, ContinueOnFailure, func() {
	const host = "kiali.test"
	var (
		pod     *proxyPod
		up      *kiali
		browser *testbed.Browser
	)

	BeforeAll(func() {
		// The permission the rendered review asks for, granted to one group.
		testbed.EnsureNamespace(ctx, k, "istio-system")
		create(&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "pod-reader"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}},
		})
		create(&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "mesh-admins-pod-reader"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "mesh-admins"}},
		})

		up = startKiali()
		kap := oidcKAP(testbed.NewNamespace(ctx, k, "oidc-sar-"), host,
			meshv1alpha1.OIDCAuthorization{Mode: meshv1alpha1.OIDCAuthorizationSubjectAccessReview})
		pod = startProxyPod(kap, up)
		browser = browserFor(pod)
	})

	It("runs both containers with the rendered arguments", func() {
		expectPodArgs(pod)
		// The ID token goes to the authorizing proxy as a bearer token.
		Expect(renderedConfig(pod).headerNames()).To(ContainElement("Authorization"))
		Expect(value(pod.Run[render.AuthorizerContainerName], "subject-access-reviews")).To(
			Equal(`[{"namespace":"istio-system","resource":"pods","verb":"get"}]`))
	})

	It("answers the rendered probes of both containers", func() {
		expectProbesAnswer(pod)
	})

	It("logs in a user the API server lets get pods, and shows Kiali without the token", func() {
		issuer.QueueUser(alice, "mesh-admins")
		user := browser.NewUser()
		page, err := user.Open("https://" + host + "/")
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Status).To(Equal(http.StatusOK), page.Text)
		Expect(page.URL).To(Equal("https://" + host + "/"))
		Expect(up.shows(page.Text)).To(BeTrue(), "the page is not Kiali's: %s", page.Text)
		// The session is a cookie of the exposure host the browser sends
		// over https only and never shows to scripts
		// (--cookie-secure, --cookie-httponly, --cookie-samesite).
		cookies, err := user.Cookies("https://" + host + "/")
		Expect(err).NotTo(HaveOccurred())
		Expect(cookies).To(ContainElement(HaveValue(And(
			HaveField("Name", "_oauth2_proxy"),
			HaveField("Domain", host),
			HaveField("Secure", true),
			HaveField("HTTPOnly", true),
			HaveField("SameSite", network.CookieSameSiteLax),
		))))

		seen := up.requestsOf(alice)
		Expect(seen).NotTo(BeEmpty(), "Kiali saw no request of %s", alice)
		for _, r := range seen {
			// The authorizing proxy took the ID token off: Kiali, or whoever
			// takes it, never holds a credential of the user's.
			Expect(r.Header.Values("Authorization")).To(BeEmpty())
			Expect(r.Header.Values("X-Forwarded-Access-Token")).To(BeEmpty())
		}
	})

	It("refuses a user who logs in but may not get pods, naming the permission", func() {
		before := up.count()
		issuer.QueueUser(bob, "other")
		page, err := browser.NewUser().Open("https://" + host + "/")
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Status).To(Equal(http.StatusForbidden), page.Text)
		Expect(page.Text).To(ContainSubstring("Access to Kiali denied: user " + bob + " may not get pods in namespace istio-system."))
		Expect(up.count()).To(Equal(before), "Kiali was reached")
	})
})
