package v1alpha1

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults that are not derived from the object's name. Names derived from
// metadata.name are decided in internal/render/names.go.
const (
	DefaultKialiVersion      = "default"
	DefaultKialiInstanceName = "kiali"
	DefaultIstioNamespace    = "istio-system"
	DefaultHtpasswdKey       = "auth"
	DefaultPasswordKey       = "password"
	DefaultSessionSecretKey  = "session_secret"
	DefaultTrustDomain       = "cluster.local"

	// DefaultKialiSecretPrefix + cluster name is the Secret
	// kiali-prepare-remote-cluster.sh writes for a remote cluster.
	DefaultKialiSecretPrefix   = "kiali-remote-cluster-secret-"
	DefaultPrometheusConfigKey = "prometheus.yml"
	// DefaultTokenLifetime of the tokens of kialiAccess Managed: a day,
	// renewed after about 19 hours, leaves Kiali working through a
	// five-hour outage of the hub's operator or of the cluster's API
	// server.
	DefaultTokenLifetime       = 24 * time.Hour
	DefaultCAKey               = "ca.crt"
	DefaultBearerTokenKey      = "token"
	DefaultMetricsKeepRegex    = "istio_.*|envoy_.*|up"
	DefaultMetricsClusterLabel = "cluster"
	DefaultVerifyInterval      = time.Minute
	DefaultVerifyMaxSampleAge  = 5 * time.Minute

	// DefaultProxyImage is used when neither spec.proxy.image nor the
	// operator's RELATED_IMAGE_OAUTH_PROXY environment variable is set.
	DefaultProxyImage = "quay.io/openshift/origin-oauth-proxy:4.18"
	// DefaultOAuth2ProxyImage is the OIDC provider's image when neither
	// spec.proxy.image nor RELATED_IMAGE_OAUTH2_PROXY is set: the release
	// of github.com/oauth2-proxy/oauth2-proxy/v7 the tests run
	// (OAUTH2_PROXY_VERSION in hack/test-binaries.sh).
	DefaultOAuth2ProxyImage = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6"

	DefaultClientSecretKey = "client-secret"
	DefaultOIDCUserClaim   = "email"
	DefaultOIDCGroupsClaim = "groups"
	// DefaultOIDCCookieRefresh: a minute, well inside the 5 minutes many
	// issuers give an ID token, which SubjectAccessReview authorization
	// checks on every request.
	DefaultOIDCCookieRefresh = time.Minute
	DefaultIssuerKind        = "Issuer"
	DefaultIssuerGroup       = "cert-manager.io"

	// Kiali's web root as the Kiali operator defaults it
	// (roles/default/kiali-deploy/tasks/main.yml: "/" if is_openshift
	// else "/kiali").
	DefaultOpenShiftWebRoot  = "/"
	DefaultKubernetesWebRoot = "/kiali"
)

// Images are the operator-wide default proxy images, from its
// RELATED_IMAGE_* environment variables; empty fields mean the built-in
// defaults.
// +kubebuilder:object:generate=false
type Images struct {
	// OAuthProxy is OpenShift's oauth-proxy (RELATED_IMAGE_OAUTH_PROXY).
	OAuthProxy string
	// OAuth2Proxy is oauth2-proxy (RELATED_IMAGE_OAUTH2_PROXY).
	OAuth2Proxy string
}

// WithDefaults returns a copy of the object with every unset field that has
// a default filled in. proxyImage is the operator-wide default image (from
// RELATED_IMAGE_OAUTH_PROXY); empty means DefaultProxyImage. Defaults that
// depend on the object's name are left to the renderer's names.
func (in *KialiAuthProxy) WithDefaults(proxyImage string) *KialiAuthProxy {
	return in.WithDefaultImages(Images{OAuthProxy: proxyImage})
}

// WithDefaultImages is WithDefaults with every operator-wide default image.
func (in *KialiAuthProxy) WithDefaultImages(images Images) *KialiAuthProxy {
	out := in.DeepCopy()
	if out.Spec.Platform == "" {
		out.Spec.Platform = PlatformOpenShift
	}
	if out.Spec.Adoption == "" {
		out.Spec.Adoption = AdoptionRefuse
	}
	k := &out.Spec.Kiali
	if k.Version == "" {
		k.Version = DefaultKialiVersion
	}
	if k.Layout == "" {
		k.Layout = LayoutForVersion(k.Version)
	}
	if k.IstioNamespace == "" {
		k.IstioNamespace = DefaultIstioNamespace
	}
	if t := k.TLS; t != nil {
		if t.CertManager != nil {
			defaultIssuerRef(&t.CertManager.IssuerRef)
		}
		if t.CA != nil && t.CA.Key == "" {
			t.CA.Key = DefaultCAKey
		}
	}

	p := &out.Spec.Proxy
	if p.Provider == "" {
		p.Provider = ProviderOpenShift
	}
	if p.Image == "" {
		p.Image = images.OAuthProxy
		if p.Provider == ProviderOIDC {
			p.Image = images.OAuth2Proxy
		}
	}
	if p.Image == "" {
		p.Image = DefaultProxyImage
		if p.Provider == ProviderOIDC {
			p.Image = DefaultOAuth2ProxyImage
		}
	}
	if o := p.OIDC; o != nil {
		defaultOIDC(o)
	}
	if p.Replicas == nil {
		one := int32(1)
		p.Replicas = &one
	}
	if p.Resources == nil {
		p.Resources = &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("10m"),
				corev1.ResourceMemory: resource.MustParse("32Mi"),
			},
			Limits: corev1.ResourceList{
				corev1.ResourceMemory: resource.MustParse("256Mi"),
			},
		}
	}
	if len(p.SubjectAccessReviews) == 0 {
		p.SubjectAccessReviews = []SubjectAccessReview{{Namespace: k.IstioNamespace, Resource: "pods", Verb: "get"}}
	}
	if h := p.Htpasswd; h != nil {
		if h.Name != "" && h.Key == "" {
			h.Key = DefaultHtpasswdKey
		}
		for i := range h.Users {
			if h.Users[i].PasswordSecret.Key == "" {
				h.Users[i].PasswordSecret.Key = DefaultPasswordKey
			}
		}
	}
	if p.Cookie == nil {
		p.Cookie = &CookieSpec{}
	}
	if p.Cookie.Expire == nil {
		p.Cookie.Expire = &metav1.Duration{Duration: DefaultCookieExpire}
	}
	if p.Cookie.Refresh == nil && p.Provider == ProviderOIDC {
		p.Cookie.Refresh = &metav1.Duration{Duration: DefaultOIDCCookieRefresh}
	}
	if p.SessionSecret != nil && p.SessionSecret.Key == "" {
		p.SessionSecret.Key = DefaultSessionSecretKey
	}
	if p.TLS == nil {
		p.TLS = &ProxyTLSSpec{}
	}
	if p.TLS.Enabled == nil {
		on := true
		p.TLS.Enabled = &on
	}
	if cm := p.TLS.CertManager; cm != nil {
		defaultIssuerRef(&cm.IssuerRef)
	}
	if p.RequestLogging == nil {
		on := true
		p.RequestLogging = &on
	}

	if out.Spec.MeshSecurity == nil {
		out.Spec.MeshSecurity = &MeshSecuritySpec{}
	}
	m := out.Spec.MeshSecurity
	if m.LockDown == nil {
		on := true
		m.LockDown = &on
	}
	if m.TrustDomain == "" {
		m.TrustDomain = DefaultTrustDomain
	}

	for i := range out.Spec.Clusters {
		defaultCluster(&out.Spec.Clusters[i])
	}
	if mt := out.Spec.Metrics; mt != nil {
		defaultMetrics(mt, out.Spec.Kiali.Prometheus)
	}
	return out
}

func defaultIssuerRef(r *CertManagerIssuerRef) {
	if r.Kind == "" {
		r.Kind = DefaultIssuerKind
	}
	if r.Group == "" {
		r.Group = DefaultIssuerGroup
	}
}

func defaultOIDC(o *OIDCSpec) {
	if o.ClientSecret.Key == "" {
		o.ClientSecret.Key = DefaultClientSecretKey
	}
	if o.IssuerCA != nil && o.IssuerCA.Key == "" {
		o.IssuerCA.Key = DefaultCAKey
	}
	if o.UserClaim == "" {
		o.UserClaim = DefaultOIDCUserClaim
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = DefaultOIDCGroupsClaim
	}
}

func defaultCluster(c *ClusterSpec) {
	if c.KialiSecret == "" {
		c.KialiSecret = DefaultKialiSecretPrefix + c.Name
	}
	if c.Kubeconfig == nil {
		c.Kubeconfig = &SecretKeyReference{Name: c.KialiSecret}
	}
	if c.Kubeconfig.Key == "" {
		// Kiali's remote-cluster Secret keeps the kubeconfig under the
		// cluster's name.
		c.Kubeconfig.Key = c.Name
	}
	if c.KialiAccess == "" {
		c.KialiAccess = KialiAccessProvided
	}
	if c.KialiAccess == KialiAccessManaged && c.TokenLifetime == nil {
		c.TokenLifetime = &metav1.Duration{Duration: DefaultTokenLifetime}
	}
	if p := c.Prometheus; p != nil && p.ConfigMap != nil && p.ConfigMap.Key == "" {
		p.ConfigMap.Key = DefaultPrometheusConfigKey
	}
}

func defaultMetrics(m *MetricsSpec, kialiPrometheus *PrometheusSpec) {
	if m.KeepRegex == "" {
		m.KeepRegex = DefaultMetricsKeepRegex
	}
	if m.ClusterLabel == "" {
		m.ClusterLabel = DefaultMetricsClusterLabel
	}
	r := &m.Receiver
	if r.BearerToken != nil && r.BearerToken.Key == "" {
		r.BearerToken.Key = DefaultBearerTokenKey
	}
	if r.CA != nil && r.CA.Key == "" {
		r.CA.Key = DefaultCAKey
	}
	if m.Verify == nil {
		m.Verify = &VerifySpec{}
	}
	v := m.Verify
	if v.QueryURL == "" && kialiPrometheus != nil {
		v.QueryURL = kialiPrometheus.URL
	}
	if v.Enabled == nil {
		on := v.QueryURL != ""
		v.Enabled = &on
	}
	if v.BearerToken != nil && v.BearerToken.Key == "" {
		v.BearerToken.Key = DefaultBearerTokenKey
	}
	if v.CA != nil && v.CA.Key == "" {
		v.CA.Key = DefaultCAKey
	}
	if v.Interval == nil {
		v.Interval = &metav1.Duration{Duration: DefaultVerifyInterval}
	}
	if v.MaxSampleAge == nil {
		v.MaxSampleAge = &metav1.Duration{Duration: DefaultVerifyMaxSampleAge}
	}
}

// DefaultCookieExpire is how long a session lasts. openshift/oauth-proxy
// checks the SubjectAccessReviews and the user's token only at login (its
// cookie refresh cannot work against OpenShift 4, see CookieSpec.Refresh),
// so the session's length is the bound on how long a revoked permission,
// a deleted user or a revoked token keeps working: one working day.
const DefaultCookieExpire = 8 * time.Hour

// LayoutForVersion is the Kiali CR field layout a spec.version implies.
// "default" maps to v1.73 because the OpenShift Service Mesh 2.x Kiali
// operator installs v1.73 for it; a Kiali v2 operator user sets Layout.
func LayoutForVersion(version string) KialiLayout {
	if version == "latest" {
		return KialiLayoutV2
	}
	if KialiVersionAtLeast(version, 2, 0) {
		return KialiLayoutV2
	}
	return KialiLayoutV173
}

// KialiVersionAtLeast reports whether a version such as "v2.4" or "v2.17.1" is
// known to be major.minor or later; "v2.x" is known to be at least v2.0
// only.
func KialiVersionAtLeast(version string, major, minor int) bool {
	v, ok := strings.CutPrefix(version, "v")
	if !ok {
		return false
	}
	parts := strings.Split(v, ".")
	got, err := strconv.Atoi(parts[0])
	if err != nil || got != major {
		return err == nil && got > major
	}
	if len(parts) < 2 {
		return minor == 0
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil {
		return minor == 0
	}
	return m >= minor
}

// KialiInstanceName is the name of the Kiali Deployment and Service.
func (s *KialiSpec) KialiInstanceName() string {
	if s.InstanceName != "" {
		return s.InstanceName
	}
	return DefaultKialiInstanceName
}

// KialiWebRoot is the path Kiali serves under: spec.kiali.webRoot, or the
// Kiali operator's default on the platform.
func (s *KialiAuthProxySpec) KialiWebRoot() string {
	switch {
	case s.Kiali.WebRoot != "":
		return s.Kiali.WebRoot
	case s.Platform == PlatformKubernetes:
		return DefaultKubernetesWebRoot
	}
	return DefaultOpenShiftWebRoot
}

// IsOIDC reports whether users log in with the OIDC provider.
func (s *ProxySpec) IsOIDC() bool { return s.Provider == ProviderOIDC }

// ReviewsTokens reports whether the proxy checks every user's token and
// spec.proxy.subjectAccessReviews with the API server: always with the
// OpenShift provider (oauth-proxy's -openshift-sar), and with OIDC in
// SubjectAccessReview mode.
func (s *ProxySpec) ReviewsTokens() bool {
	return !s.IsOIDC() || (s.OIDC != nil && s.OIDC.Authorization.Mode == OIDCAuthorizationSubjectAccessReview)
}

// LockDownEnabled reports whether Kiali is locked down to the proxy.
func (s *KialiAuthProxySpec) LockDownEnabled() bool {
	return s.MeshSecurity == nil || s.MeshSecurity.LockDown == nil || *s.MeshSecurity.LockDown
}

// TLSEnabled reports whether the proxy's HTTPS listener is on.
func (s *ProxySpec) TLSEnabled() bool {
	return s.TLS == nil || s.TLS.Enabled == nil || *s.TLS.Enabled
}
