package render

import (
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// The OIDC provider's pod: oauth2-proxy logs users in at the issuer, then
// forwards over loopback to the operator's own "authorize" subcommand,
// which (in SubjectAccessReview mode) has the API server check the user's ID
// token and spec.proxy.subjectAccessReviews, and makes the hop to Kiali,
// verifying Kiali's certificate against exactly the service CA where Kiali
// serves TLS: oauth2-proxy has no flag for an upstream CA, only the
// process-wide trust store (pkg/upstream/http.go of oauth2-proxy v7.15.6).

// AuthorizerUpstream is where oauth2-proxy forwards: the authorizing proxy,
// on loopback in the same pod. Istio's sidecar does not capture traffic to
// 127.0.0.1, and the listener is bound to it, so nothing outside the pod
// reaches the authorizing proxy around oauth2-proxy.
func AuthorizerUpstream() string {
	return "http://127.0.0.1:" + strconv.Itoa(AuthorizerPort) + "/"
}

// OAuth2ProxyArgs is the oauth2-proxy command line. Flag names are those
// of oauth2-proxy v7.15.6 (pkg/apis/options: legacy_options.go,
// cookie.go); each is given as --name=value so that no value is taken for
// a flag.
func OAuth2ProxyArgs(kap *meshv1alpha1.KialiAuthProxy, n Names, in Inputs) []string {
	p := &kap.Spec.Proxy
	o := p.OIDC
	scopes := append([]string{"openid", "email", "profile"}, o.ExtraScopes...)
	args := []string{
		"--provider=oidc",
		"--oidc-issuer-url=" + o.IssuerURL,
		"--client-id=" + o.ClientID,
		"--client-secret-file=" + path.Join(clientSecretMountDir, clientSecretFile),
		"--scope=" + strings.Join(scopes, " "),
		"--oidc-email-claim=" + o.UserClaim,
		"--oidc-groups-claim=" + o.GroupsClaim,
		// PKCE: a stolen authorization code is useless without the
		// verifier only this proxy holds.
		"--code-challenge-method=S256",
		"--redirect-url=" + RedirectURL(kap),
		"--http-address=0.0.0.0:" + strconv.Itoa(ProxyHTTPPort),
	}
	if o.IssuerCA != nil {
		// Only this CA, not the system's trust store as well
		// (--use-system-trust-store stays false).
		args = append(args, "--provider-ca-file="+path.Join(issuerCAMountDir, issuerCAFile))
	}
	if p.TLSEnabled() {
		args = append(args,
			"--https-address=0.0.0.0:"+strconv.Itoa(ProxyHTTPSPort),
			"--tls-cert-file="+path.Join(tlsMountDir, corev1.TLSCertKey),
			"--tls-key-file="+path.Join(tlsMountDir, corev1.TLSPrivateKeyKey),
		)
	}
	args = append(args, "--upstream="+AuthorizerUpstream())
	if p.ReviewsTokens() {
		// The ID token goes to the authorizing proxy as
		// "Authorization: Bearer <id_token>" (legacy_options.go,
		// getPassAuthorizationHeader), which strips it before Kiali.
		args = append(args, "--pass-authorization-header=true")
	}
	args = append(args, "--pass-access-token=false")
	a := o.Authorization
	if len(a.AllowedEmailDomains) == 0 {
		// Without domains oauth2-proxy admits nobody; the groups or the
		// reviews decide instead.
		args = append(args, "--email-domain=*")
	}
	for _, d := range a.AllowedEmailDomains {
		args = append(args, "--email-domain="+d)
	}
	for _, g := range a.AllowedGroups {
		args = append(args, "--allowed-group="+g)
	}
	args = append(args,
		"--cookie-secret-file="+path.Join(sessionSecretMountDir, sessionSecretFile),
		"--cookie-secure=true",
		"--cookie-httponly=true",
		"--cookie-samesite=lax",
		"--cookie-expire="+p.Cookie.Expire.Duration.String(),
		// The session is refreshed with the refresh token before the ID
		// token in it expires: the authorizing proxy has the API server
		// check that token on every request (stored_session.go,
		// needsRefresh: age greater than the refresh period).
		"--cookie-refresh="+p.Cookie.Refresh.Duration.String(),
		// One issuer is the only way in: straight to it, no button page.
		"--skip-provider-button=true",
		// Kiali is anonymous: the request log names the user of every
		// request.
		"--request-logging="+strconv.FormatBool(*p.RequestLogging),
		"--silence-ping-logging=true",
		"--ping-path="+OAuth2ProxyHealthPath,
		"--ready-path="+OAuth2ProxyReadyPath,
	)
	return args
}

// AuthorizerArgs is the command line of the authorizing proxy (the
// operator binary's "authorize" subcommand, cmd/authorize.go).
func AuthorizerArgs(kap *meshv1alpha1.KialiAuthProxy, n Names) []string {
	p := &kap.Spec.Proxy
	args := []string{
		"authorize",
		"--listen=127.0.0.1:" + strconv.Itoa(AuthorizerPort),
		"--health-listen=:" + strconv.Itoa(AuthorizerHealthPort),
		"--upstream=" + n.KialiUpstream(),
	}
	if n.KialiServesTLS {
		args = append(args, "--upstream-ca="+UpstreamCAFile(kap))
	}
	if p.ReviewsTokens() {
		args = append(args, "--subject-access-reviews="+SubjectAccessReviewsJSON(p.SubjectAccessReviews))
	} else {
		// AllowList: the API server does not trust the issuer, so there is
		// no token to check; oauth2-proxy's allow lists decided.
		args = append(args, "--forward-only")
	}
	return args
}

func authorizerContainer(kap *meshv1alpha1.KialiAuthProxy, n Names, in Inputs, mounts []corev1.VolumeMount) corev1.Container {
	probe := func(delay int32) *corev1.Probe { return healthProbe(AuthorizerHealthPath, AuthorizerHealthName, delay) }
	image := in.AuthorizerImage
	if image == "" {
		image = DefaultAuthorizerImage
	}
	return corev1.Container{
		Name:            AuthorizerContainerName,
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            AuthorizerArgs(kap, n),
		Ports: []corev1.ContainerPort{{
			Name: AuthorizerHealthName, ContainerPort: AuthorizerHealthPort, Protocol: corev1.ProtocolTCP,
		}},
		ReadinessProbe:  probe(2),
		LivenessProbe:   probe(10),
		Resources:       *kap.Spec.Proxy.Resources,
		VolumeMounts:    mounts,
		SecurityContext: restrictedContainer(),
	}
}
