package render

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

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

// OAuth2ProxyArgs is the oauth2-proxy command line: the alpha
// configuration file (OAuth2ProxyConfig), and the settings oauth2-proxy
// v7.15.6 takes only as flags (pkg/apis/options: cookie.go, logging.go,
// options.go). Each is given as --name=value so that no value is taken for
// a flag.
func OAuth2ProxyArgs(kap *meshv1alpha1.KialiAuthProxy) []string {
	p := &kap.Spec.Proxy
	a := p.OIDC.Authorization
	args := []string{
		"--alpha-config=" + path.Join(proxyConfigMountDir, OAuth2ProxyConfigKey),
		"--redirect-url=" + RedirectURL(kap),
	}
	if len(a.AllowedEmailDomains) == 0 {
		// Without domains oauth2-proxy admits nobody; the groups or the
		// reviews decide instead.
		args = append(args, "--email-domain=*")
	}
	for _, d := range a.AllowedEmailDomains {
		args = append(args, "--email-domain="+d)
	}
	return append(args,
		"--cookie-secret-file="+path.Join(sessionSecretMountDir, sessionSecretFile),
		"--cookie-secure=true",
		"--cookie-httponly=true",
		"--cookie-samesite=lax",
		"--cookie-expire="+p.Cookie.Expire.Duration.String(),
		// The session is refreshed with the refresh token before the ID
		// token in it expires: the authorizing proxy has the API server
		// check that token on every request (pkg/middleware/
		// stored_session.go, needsRefresh: age greater than the period).
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
}

// OAuth2ProxyConfig is oauth2-proxy's alpha configuration (the
// AlphaOptions of pkg/apis/options/alpha_options.go): the listeners, the
// upstream, the headers sent to it and the provider. It is a file rather
// than flags because only there can oauth2-proxy serve HTTP and HTTPS at
// once: given a certificate, its flags run the HTTPS listener alone
// (legacy_options.go, LegacyServer.convert: "only run one server"), and the
// mesh gateway, the probes and the HTTPRoute reach the proxy on its HTTP
// port. With the alpha configuration the flags of these sections are not
// accepted, so nothing is given twice.
func OAuth2ProxyConfig(kap *meshv1alpha1.KialiAuthProxy) string {
	p := &kap.Spec.Proxy
	o := p.OIDC
	server := map[string]any{"bindAddress": "0.0.0.0:" + strconv.Itoa(ProxyHTTPPort)}
	if p.TLSEnabled() {
		server["secureBindAddress"] = "0.0.0.0:" + strconv.Itoa(ProxyHTTPSPort)
		server["tls"] = map[string]any{
			"cert": map[string]any{"fromFile": path.Join(tlsMountDir, corev1.TLSCertKey)},
			"key":  map[string]any{"fromFile": path.Join(tlsMountDir, corev1.TLSPrivateKeyKey)},
		}
	}
	provider := map[string]any{
		"id":               "oidc",
		"provider":         "oidc",
		"clientID":         o.ClientID,
		"clientSecretFile": path.Join(clientSecretMountDir, clientSecretFile),
		"scope":            strings.Join(append([]string{"openid", "email", "profile"}, o.ExtraScopes...), " "),
		// PKCE: a stolen authorization code is useless without the
		// verifier only this proxy holds.
		"code_challenge_method": "S256",
		"oidcConfig": map[string]any{
			"issuerURL":      o.IssuerURL,
			"emailClaim":     o.UserClaim,
			"userIDClaim":    o.UserClaim,
			"groupsClaim":    o.GroupsClaim,
			"audienceClaims": []any{"aud"},
			// What the flags default to (legacy_options.go,
			// insecure-oidc-skip-nonce).
			"insecureSkipNonce": true,
		},
	}
	if o.IssuerCA != nil {
		// Only this CA, not the system's trust store as well.
		provider["caFiles"] = []any{path.Join(issuerCAMountDir, issuerCAFile)}
		provider["useSystemTrustStore"] = false
	}
	if g := o.Authorization.AllowedGroups; len(g) > 0 {
		groups := make([]any, len(g))
		for i, v := range g {
			groups[i] = v
		}
		provider["allowedGroups"] = groups
	}
	claim := func(name, claim, prefix string) map[string]any {
		src := map[string]any{"claim": claim}
		if prefix != "" {
			src["prefix"] = prefix
		}
		return map[string]any{"name": name, "values": []any{map[string]any{"claimSource": src}}}
	}
	headers := []any{
		claim("X-Forwarded-User", "user", ""),
		claim("X-Forwarded-Email", "email", ""),
		claim("X-Forwarded-Groups", "groups", ""),
	}
	if p.ReviewsTokens() {
		// The ID token goes to the authorizing proxy as
		// "Authorization: Bearer <id_token>" (what --pass-authorization-header
		// sets up, legacy_options.go getAuthorizationHeader), which strips it
		// before Kiali.
		headers = append(headers, claim("Authorization", "id_token", "Bearer "))
	}
	cfg := map[string]any{
		"server": server,
		"upstreamConfig": map[string]any{"upstreams": []any{map[string]any{
			"id": "authorize", "path": "/", "uri": AuthorizerUpstream(),
		}}},
		"providers":            []any{provider},
		"injectRequestHeaders": headers,
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		// Maps of strings, slices and booleans always encode.
		panic(err)
	}
	return string(b)
}

// OAuth2ProxyConfigMap holds OAuth2ProxyConfig. Its name has a dot, like the
// CA bundle's, so it is never one of the Kiali operator's ConfigMaps.
func OAuth2ProxyConfigMap(kap *meshv1alpha1.KialiAuthProxy, n Names) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: objectMeta(kap, n, n.ProxyConfig, ComponentProxy),
		Data:       map[string]string{OAuth2ProxyConfigKey: OAuth2ProxyConfig(kap)},
	}
}

// ProxyConfigChecksum fingerprints the proxy's configuration file: on the
// pod template, it rolls the pods when the file changes, which oauth2-proxy
// reads only at start.
func ProxyConfigChecksum(kap *meshv1alpha1.KialiAuthProxy) string {
	sum := sha256.Sum256([]byte(OAuth2ProxyConfig(kap)))
	return "sha256:" + hex.EncodeToString(sum[:])[:32]
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
