package v1alpha1

// The parts of the API that let the same KialiAuthProxy run outside
// OpenShift's integrated OAuth server: an OIDC login, a cluster without the
// service CA and Routes, and an HTTPRoute of the Gateway API.

// Platform is the kind of cluster the KialiAuthProxy runs on.
type Platform string

const (
	// PlatformOpenShift: the service CA signs the proxy's and Kiali's
	// serving certificates, the Kiali operator serves Kiali over HTTPS at
	// the web root "/", and Routes exist.
	PlatformOpenShift Platform = "OpenShift"
	// PlatformKubernetes: any other Kubernetes. No service CA: the proxy's
	// certificate comes from cert-manager or a Secret of the user's, and the
	// Kiali operator serves Kiali over plain HTTP (inside the mesh, whose
	// mTLS protects the hop) at the web root "/kiali".
	PlatformKubernetes Platform = "Kubernetes"
)

// ProxyProvider is who logs users in.
type ProxyProvider string

const (
	// ProviderOpenShift is OpenShift's oauth-proxy with OpenShift's
	// integrated OAuth server: the default.
	ProviderOpenShift ProxyProvider = "OpenShift"
	// ProviderOIDC is oauth2-proxy with any OpenID Connect issuer.
	ProviderOIDC ProxyProvider = "OIDC"
)

// OIDCSpec is the OpenID Connect issuer users log in with, and how they are
// authorized once logged in.
type OIDCSpec struct {
	// IssuerURL is the issuer's URL, exactly as its ID tokens name it (the
	// "iss" claim), for example https://keycloak.example.com/realms/mesh.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && url(self).getHostname() != ''",message="spec.proxy.oidc.issuerURL must be an https URL such as https://keycloak.example.com/realms/mesh"
	IssuerURL string `json:"issuerURL"`

	// ClientID of the proxy at the issuer. Where the cluster's API server
	// trusts the issuer, its audiences must include this client ID.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[!-~]+$`
	ClientID string `json:"clientID"`

	// ClientSecret names the Secret holding the client secret. Key defaults
	// to "client-secret". The operator only reads it.
	ClientSecret SecretKeyReference `json:"clientSecret"`

	// IssuerCA names a ConfigMap holding the PEM CA bundle the issuer's
	// certificate is verified with, instead of the system's trust store.
	// Key defaults to "ca.crt".
	// +optional
	IssuerCA *ConfigMapKeyReference `json:"issuerCA,omitempty"`

	// ExtraScopes are requested besides "openid email profile", for example
	// "groups" where the issuer sends the groups claim only when asked, or
	// "offline_access" where it gives refresh tokens only then.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[!#-\[\]-~]+$`
	ExtraScopes []string `json:"extraScopes,omitempty"`

	// UserClaim is the ID token claim that names the user (in the request
	// log, and for the e-mail domain allow list). Defaults to "email".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.:/-]+$`
	UserClaim string `json:"userClaim,omitempty"`

	// GroupsClaim is the ID token claim that lists the user's groups.
	// Defaults to "groups".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.:/-]+$`
	GroupsClaim string `json:"groupsClaim,omitempty"`

	// Authorization decides who of the users the issuer logs in reaches
	// Kiali. It has no default: an issuer often logs in far more people
	// than should see the mesh.
	Authorization OIDCAuthorization `json:"authorization"`
}

// OIDCAuthorizationMode is how OIDC users are authorized.
type OIDCAuthorizationMode string

const (
	// OIDCAuthorizationSubjectAccessReview checks every user's ID token with
	// the cluster's API server and asks it spec.proxy.subjectAccessReviews
	// for that user, as the OpenShift provider does. The API server must
	// trust the issuer: OpenShift with external OIDC, or Kubernetes with a
	// JWT authenticator whose audiences include the client ID.
	OIDCAuthorizationSubjectAccessReview OIDCAuthorizationMode = "SubjectAccessReview"
	// OIDCAuthorizationAllowList admits the users of allowedGroups or
	// allowedEmailDomains, for API servers that do not trust the issuer.
	OIDCAuthorizationAllowList OIDCAuthorizationMode = "AllowList"
)

// OIDCAuthorization decides who of the logged-in users reaches Kiali.
// +kubebuilder:validation:XValidation:rule="self.mode != 'AllowList' || (has(self.allowedGroups) && size(self.allowedGroups) > 0) || (has(self.allowedEmailDomains) && size(self.allowedEmailDomains) > 0)",message="spec.proxy.oidc.authorization.mode AllowList needs allowedGroups or allowedEmailDomains: there is no open default"
type OIDCAuthorization struct {
	// Mode is SubjectAccessReview or AllowList.
	// +kubebuilder:validation:Enum=SubjectAccessReview;AllowList
	Mode OIDCAuthorizationMode `json:"mode"`

	// AllowedGroups: a user must be in one of them (the groups claim). With
	// SubjectAccessReview it narrows further who is asked about.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:Pattern=`^[^,\s]+$`
	AllowedGroups []string `json:"allowedGroups,omitempty"`

	// AllowedEmailDomains: a user's e-mail (the user claim) must end in
	// "@" and one of them, such as example.com.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)+$')",message="each allowed e-mail domain must be a lowercase DNS name such as example.com"
	AllowedEmailDomains []string `json:"allowedEmailDomains,omitempty"`
}

// ConfigMapKeyReference names one key of a ConfigMap in the KialiAuthProxy's
// namespace.
type ConfigMapKeyReference struct {
	// Name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Key in the ConfigMap's data. Defaults to "ca.crt".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// CertManagerCertificate has cert-manager issue a certificate.
type CertManagerCertificate struct {
	// IssuerRef is the cert-manager Issuer or ClusterIssuer that signs it.
	IssuerRef CertManagerIssuerRef `json:"issuerRef"`
}

// CertManagerIssuerRef names a cert-manager issuer, as a Certificate's
// spec.issuerRef does.
type CertManagerIssuerRef struct {
	// Name of the issuer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Kind of the issuer: Issuer (in this namespace, the default),
	// ClusterIssuer, or the kind of an external issuer.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	Kind string `json:"kind,omitempty"`

	// Group of the issuer's kind. Defaults to cert-manager.io.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Group string `json:"group,omitempty"`
}

// HTTPRouteExposure exposes the proxy with a Gateway API HTTPRoute
// (gateway.networking.k8s.io/v1), which Istio implements.
type HTTPRouteExposure struct {
	// Name of the HTTPRoute. Defaults to the proxy's name, "<name>-oauth".
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`

	// ParentRefs are the Gateways the route attaches to. Each Gateway must
	// terminate TLS for spec.exposure.host and allow routes from this
	// namespace.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	ParentRefs []GatewayParentRef `json:"parentRefs"`
}

// GatewayParentRef names a Gateway (gateway.networking.k8s.io) and,
// optionally, one of its listeners.
type GatewayParentRef struct {
	// Name of the Gateway.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Namespace of the Gateway. Defaults to this namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// SectionName is the Gateway listener to attach to; empty is every
	// listener that accepts the route.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SectionName string `json:"sectionName,omitempty"`
}

// KialiTLSSpec gives Kiali a serving certificate off OpenShift, where the
// Kiali operator gives it none and it serves plain HTTP: the proxy then
// reaches Kiali over HTTPS and verifies its certificate, instead of relying
// on the mesh's mTLS alone for that hop.
// +kubebuilder:validation:XValidation:rule="has(self.certManager) != has(self.certificateSecret)",message="spec.kiali.tls needs exactly one of certManager or certificateSecret"
type KialiTLSSpec struct {
	// CertManager has cert-manager issue Kiali's certificate, for Kiali's
	// Service names, into the Secret "<name>-kiali-tls"; the proxy trusts
	// the issuer's CA that cert-manager writes there (ca.crt) unless CA
	// names another.
	// +optional
	CertManager *CertManagerCertificate `json:"certManager,omitempty"`

	// CertificateSecret is a kubernetes.io/tls Secret of the user's with
	// Kiali's certificate (keys tls.crt and tls.key), valid for
	// <kiali instance>.<namespace>.svc.cluster.local. It is only read.
	// +optional
	CertificateSecret *SecretReference `json:"certificateSecret,omitempty"`

	// CA is the CA bundle (PEM) the proxy verifies Kiali's certificate
	// with. Defaults to the key ca.crt of the certificate's Secret.
	// +optional
	CA *SecretKeyReference `json:"ca,omitempty"`
}
