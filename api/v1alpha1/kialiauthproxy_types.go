package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// No field below carries a +kubebuilder:default marker: defaults live in
// defaults.go and are applied when rendering, so a CR kept in Git stays
// byte-identical to what the API server stores and GitOps tools see no drift.

// KialiAuthProxySpec describes one Kiali installation running with the
// anonymous strategy inside the mesh, fronted by an authenticating proxy:
// OpenShift's oauth-proxy, or oauth2-proxy with an OIDC issuer.
// +kubebuilder:validation:XValidation:rule="!has(self.platform) || self.platform != 'Kubernetes' || (has(self.proxy) && has(self.proxy.provider) && self.proxy.provider == 'OIDC')",message="spec.platform Kubernetes needs spec.proxy.provider OIDC: OpenShift's oauth-proxy logs users in only through OpenShift's OAuth server"
// +kubebuilder:validation:XValidation:rule="!has(self.kiali) || !has(self.kiali.tls) || (has(self.platform) && self.platform == 'Kubernetes')",message="spec.kiali.tls needs spec.platform Kubernetes: on OpenShift the service CA signs Kiali's certificate"
// +kubebuilder:validation:XValidation:rule="!has(self.platform) || self.platform != 'Kubernetes' || !has(self.exposure.route)",message="spec.exposure.route needs OpenShift: on spec.platform Kubernetes use virtualService or httpRoute"
// +kubebuilder:validation:XValidation:rule="!has(self.platform) || self.platform != 'Kubernetes' || (has(self.proxy) && has(self.proxy.tls) && ((has(self.proxy.tls.enabled) && !self.proxy.tls.enabled) || has(self.proxy.tls.certManager) || has(self.proxy.tls.certificateSecret)))",message="spec.proxy.tls needs certManager or certificateSecret on spec.platform Kubernetes, where no service CA signs the proxy's certificate, or enabled: false"
// +kubebuilder:validation:XValidation:rule="!has(self.exposure.virtualService) || !has(self.exposure.virtualService.passthrough) || !has(self.proxy) || !has(self.proxy.tls) || !has(self.proxy.tls.enabled) || self.proxy.tls.enabled",message="spec.exposure.virtualService.passthrough needs the proxy's HTTPS listener: remove spec.proxy.tls.enabled: false"
// +kubebuilder:validation:XValidation:rule="!has(self.clusters) || !self.clusters.exists(c, has(c.prometheus)) || has(self.metrics)",message="spec.metrics.receiver is required when a cluster has a prometheus: it is where the clusters write"
// +kubebuilder:validation:XValidation:rule="!has(self.clusters) || !has(self.metrics) || (!has(self.metrics.receiver.bearerToken) && !has(self.metrics.receiver.basicAuth) && !has(self.metrics.receiver.ca)) || self.clusters.all(c, !has(c.prometheus) || !has(c.prometheus.configMap) || has(c.prometheus.configMap.credentialsDir))",message="spec.clusters[].prometheus.configMap.credentialsDir is required when the receiver has credentials: a plain Prometheus reads them from files"
type KialiAuthProxySpec struct {
	// Platform is the kind of cluster: OpenShift (the default), or
	// Kubernetes for any other, where there is no service CA, no Route and
	// no OpenShift OAuth server, and the Kiali operator serves Kiali over
	// plain HTTP at the web root /kiali.
	// +kubebuilder:validation:Enum=OpenShift;Kubernetes
	// +optional
	Platform Platform `json:"platform,omitempty"`

	// Kiali configures the Kiali CR (kiali.io/v1alpha1 Kiali) that the
	// operator writes for the Kiali operator to install.
	// +optional
	Kiali KialiSpec `json:"kiali,omitempty"`

	// Proxy configures the proxy that logs users in and authorizes them
	// before they reach Kiali.
	// +optional
	Proxy ProxySpec `json:"proxy,omitempty"`

	// Exposure says how users reach the proxy from outside the cluster.
	Exposure ExposureSpec `json:"exposure"`

	// Adoption says what happens when an object the operator would make
	// already exists and was not made by this KialiAuthProxy, as after the
	// manual setup (a hand-made <name>-oauth Deployment, Service and
	// ServiceAccount, <name>-proxy session secret, VirtualService...).
	// Refuse, the default, applies nothing (the session secret is still
	// generated when none exists) and names each such object in the
	// Degraded condition: half an authentication setup is worse than the
	// old one; it looks again every minute. Adopt takes them over in place: the operator's fields
	// and owner reference are applied to them, and a hand-made
	// Deployment's spec becomes the operator's entirely, so no hand-made
	// container or volume is left beside the rendered ones. A hand-made
	// session secret is used as it is and stays the user's (it is never
	// written, and outlives the KialiAuthProxy). Objects controlled by
	// another owner, and a Deployment whose selector differs (a selector
	// cannot change), are never adopted.
	// +kubebuilder:validation:Enum=Refuse;Adopt
	// +optional
	Adoption AdoptionPolicy `json:"adoption,omitempty"`

	// MeshSecurity locks Kiali down so that only the proxy can reach it.
	// +optional
	MeshSecurity *MeshSecuritySpec `json:"meshSecurity,omitempty"`

	// Clusters are the mesh's remote clusters: Kiali lists them (its
	// clustering settings) and, where a cluster's Prometheus is given, the
	// operator makes it send the mesh metrics to spec.metrics.receiver.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Clusters []ClusterSpec `json:"clusters,omitempty"`

	// Metrics is where the clusters' metrics go, and how their arrival is
	// checked. Required when a cluster has a Prometheus.
	// +optional
	Metrics *MetricsSpec `json:"metrics,omitempty"`
}

// AdoptionPolicy is what happens to existing objects the operator did not
// make.
type AdoptionPolicy string

const (
	// AdoptionRefuse leaves existing objects alone and applies nothing.
	AdoptionRefuse AdoptionPolicy = "Refuse"
	// AdoptionAdopt takes existing objects over.
	AdoptionAdopt AdoptionPolicy = "Adopt"
)

// MeshSecuritySpec configures the lock-down of Kiali. An anonymous Kiali
// is an administrator console for anyone who reaches its port, so by default
// the operator admits only the proxy: an Istio AuthorizationPolicy for the
// proxy's mTLS identity, a STRICT PeerAuthentication so that identity is
// real, and a NetworkPolicy for clusters where a sidecar is bypassed.
type MeshSecuritySpec struct {
	// LockDown renders the AuthorizationPolicy, PeerAuthentication and
	// NetworkPolicy. Defaults to true; turning it off is reported by the
	// MeshLocked condition.
	// +optional
	LockDown *bool `json:"lockDown,omitempty"`

	// TrustDomain of the mesh, the first part of the proxy's SPIFFE
	// identity. Defaults to "cluster.local".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.meshSecurity.trustDomain must be a lowercase DNS name such as cluster.local"
	TrustDomain string `json:"trustDomain,omitempty"`
}

// KialiSpec configures the Kiali CR.
type KialiSpec struct {
	// Name of the Kiali CR. Defaults to the name of this KialiAuthProxy.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`

	// InstanceName is Kiali's deployment.instance_name: the name of the Kiali
	// Deployment and Service. Defaults to Kiali's own default, "kiali", and is
	// written to the Kiali CR only when set.
	// +optional
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	InstanceName string `json:"instanceName,omitempty"`

	// Version is the Kiali CR's spec.version: "default" (the Kiali operator's
	// default), "latest", or a version such as "v1.73" or "v2.4".
	// Defaults to "default".
	// +optional
	// +kubebuilder:validation:Pattern=`^(default|latest|v[0-9]+\.([0-9]+|x)(\.[0-9]+)?)$`
	Version string `json:"version,omitempty"`

	// Layout selects the Kiali CR field layout, which changed between Kiali
	// v1.73 (OpenShift Service Mesh 2.x) and Kiali v2. When unset it follows
	// from Version: v1.x selects "v1.73", v2.x and "latest" select "v2", and
	// "default" selects "v1.73", the version the OpenShift Service Mesh 2.x
	// Kiali operator installs by default. Set it to "v2" when "default" means
	// a Kiali v2 operator.
	// +optional
	// +kubebuilder:validation:Enum=v1.73;v2
	Layout KialiLayout `json:"layout,omitempty"`

	// IstioNamespace is the namespace of the Istio control plane.
	// Defaults to "istio-system".
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	IstioNamespace string `json:"istioNamespace,omitempty"`

	// Namespaces limits the namespaces Kiali may see. Empty means every
	// namespace. Written as deployment.accessible_namespaces (v1.73 layout)
	// or as a deployment.discovery_selectors entry (v2 layout).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespaces []string `json:"namespaces,omitempty"`

	// ViewOnlyMode disables every write action in the Kiali console.
	// Written to the Kiali CR only when set.
	// +optional
	ViewOnlyMode *bool `json:"viewOnlyMode,omitempty"`

	// Prometheus configures the Prometheus that Kiali reads metrics from.
	// +optional
	Prometheus *PrometheusSpec `json:"prometheus,omitempty"`

	// Grafana configures Kiali's links to Grafana.
	// +optional
	Grafana *GrafanaSpec `json:"grafana,omitempty"`

	// Istio names the Istio control plane objects Kiali inspects, for control
	// planes (such as OpenShift Service Mesh 2.x) that do not use Istio's
	// default names.
	// +optional
	Istio *IstioSpec `json:"istio,omitempty"`

	// Tracing configures Kiali's tracing integration.
	// +optional
	Tracing *TracingSpec `json:"tracing,omitempty"`

	// PodAnnotations are added to the Kiali pod. The annotations that put
	// Kiali in the mesh (sidecar.istio.io/inject and proxy.istio.io/config)
	// are always set by the operator and cannot be given here, nor can
	// those by which Istio decides how Kiali's sidecar is made and what
	// traffic it captures (traffic.sidecar.istio.io/*,
	// status.sidecar.istio.io/*, inject.istio.io/*, ambient.istio.io/* and
	// others): the lock-down is enforced by that sidecar.
	// +optional
	PodAnnotations KialiPodAnnotations `json:"podAnnotations,omitempty"`

	// WebRoot is the path Kiali serves under (the Kiali CR's
	// server.web_root). When unset the operator leaves it to the Kiali
	// operator, which picks "/" on OpenShift and "/kiali" elsewhere, and
	// follows the same default; users are sent from "/" to it.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^/([-._~A-Za-z0-9]+(/[-._~A-Za-z0-9]+)*)?$`
	WebRoot string `json:"webRoot,omitempty"`

	// TLS gives Kiali a serving certificate on spec.platform Kubernetes,
	// where it otherwise serves plain HTTP. On OpenShift the service CA
	// signs Kiali's certificate and this is refused.
	// +optional
	TLS *KialiTLSSpec `json:"tls,omitempty"`

	// Overrides is merged into the Kiali CR's spec last, key by key (objects
	// are merged recursively, any other value replaces what the operator
	// rendered). It is the escape hatch for Kiali settings this API does not
	// model. The authentication strategy cannot be overridden: an "auth"
	// key here is ignored and reported in the Degraded condition.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Overrides *apiextensionsv1.JSON `json:"overrides,omitempty"`
}

// KialiLayout names a Kiali CR field layout.
type KialiLayout string

const (
	// KialiLayoutV173 is the layout of Kiali v1.73 (OpenShift Service Mesh 2.x).
	KialiLayoutV173 KialiLayout = "v1.73"
	// KialiLayoutV2 is the layout of Kiali v2.
	KialiLayoutV2 KialiLayout = "v2"
)

// PrometheusSpec configures Kiali's Prometheus.
type PrometheusSpec struct {
	// URL of the Prometheus HTTP API, for example
	// http://prometheus-http.istio-system.svc:9090.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="spec.kiali.prometheus.url must be an http or https URL such as http://prometheus.istio-system.svc:9090"
	URL string `json:"url"`
}

// GrafanaSpec configures Kiali's Grafana integration.
type GrafanaSpec struct {
	// Enabled turns the Grafana integration on or off. Written to the Kiali
	// CR only when set.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// InClusterURL is the URL Kiali uses to query Grafana from inside the
	// cluster (v1.73: in_cluster_url, v2: internal_url).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="spec.kiali.grafana.inClusterURL must be an http or https URL"
	InClusterURL string `json:"inClusterURL,omitempty"`

	// ExternalURL is the URL users' browsers open for Grafana links
	// (v1.73: url, v2: external_url).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="spec.kiali.grafana.externalURL must be an http or https URL"
	ExternalURL string `json:"externalURL,omitempty"`
}

// IstioSpec names the Istio control plane objects Kiali inspects.
type IstioSpec struct {
	// ConfigMapName is the Istio mesh ConfigMap (config_map_name).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ConfigMapName string `json:"configMapName,omitempty"`

	// SidecarInjectorConfigMapName is the sidecar injector ConfigMap
	// (istio_sidecar_injector_config_map_name).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SidecarInjectorConfigMapName string `json:"sidecarInjectorConfigMapName,omitempty"`

	// IstiodDeploymentName is the istiod Deployment (istiod_deployment_name).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	IstiodDeploymentName string `json:"istiodDeploymentName,omitempty"`

	// URLServiceVersion is istiod's version endpoint (url_service_version),
	// for example http://istiod-basic.istio-system:15014/version.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="spec.kiali.istio.urlServiceVersion must be an http or https URL"
	URLServiceVersion string `json:"urlServiceVersion,omitempty"`
}

// TracingSpec configures Kiali's tracing integration.
type TracingSpec struct {
	// Enabled turns the tracing integration on or off.
	Enabled bool `json:"enabled"`
}

// ProxySpec configures the proxy Deployment.
// +kubebuilder:validation:XValidation:rule="has(self.oidc) == (has(self.provider) && self.provider == 'OIDC')",message="spec.proxy.oidc is required with spec.proxy.provider OIDC, and only then"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'OIDC' || !has(self.htpasswd)",message="spec.proxy.htpasswd needs the OpenShift provider: with OIDC every user logs in at the issuer"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'OIDC' || !has(self.extraArgs) || size(self.extraArgs) == 0",message="spec.proxy.extraArgs are oauth-proxy flags and need the OpenShift provider"
// +kubebuilder:validation:XValidation:rule="(has(self.provider) && self.provider == 'OIDC') || !has(self.cookie) || !has(self.cookie.refresh) || (oldSelf.hasValue() && has(oldSelf.value().cookie) && has(oldSelf.value().cookie.refresh) && oldSelf.value().cookie.refresh == self.cookie.refresh)",optionalOldSelf=true,message="spec.proxy.cookie.refresh is not supported with the OpenShift provider: oauth-proxy validates the session's token again by sending it as an access_token query parameter, which the OpenShift API server does not accept, so every session would end at its first refresh; remove it and bound sessions with spec.proxy.cookie.expire"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || self.provider != 'OIDC' || !has(self.cookie) || !has(self.cookie.refresh) || duration(self.cookie.refresh) < (has(self.cookie.expire) ? duration(self.cookie.expire) : duration('8h'))",message="spec.proxy.cookie.refresh must be shorter than spec.proxy.cookie.expire (8h by default): oauth2-proxy refuses to start otherwise"
type ProxySpec struct {
	// Provider logs users in: OpenShift (oauth-proxy with OpenShift's
	// integrated OAuth server, the default) or OIDC (oauth2-proxy with the
	// issuer of spec.proxy.oidc).
	// +kubebuilder:validation:Enum=OpenShift;OIDC
	// +optional
	Provider ProxyProvider `json:"provider,omitempty"`

	// OIDC is the issuer users log in with, required with provider OIDC.
	// +optional
	OIDC *OIDCSpec `json:"oidc,omitempty"`

	// Image is the proxy image. Defaults, for the OpenShift provider, to the
	// operator's RELATED_IMAGE_OAUTH_PROXY environment variable or an
	// OpenShift oauth-proxy image, and for OIDC to RELATED_IMAGE_OAUTH2_PROXY
	// or the oauth2-proxy release the operator is tested with.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?([.][a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*(:[0-9]+)?/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$')",message="spec.proxy.image must be an image reference such as quay.io/openshift/origin-oauth-proxy:4.18 or registry/name@sha256:<digest>"
	Image string `json:"image,omitempty"`

	// Replicas of the proxy Deployment. Defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	Replicas *int32 `json:"replicas,omitempty"`

	// Resources of the proxy container. Defaults to small requests and a
	// memory limit.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// SubjectAccessReviews a user must all pass to be let through, rendered
	// as a JSON list to -openshift-sar. Defaults to "get pods" in the Istio
	// namespace: users who can see the control plane can see its console.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	SubjectAccessReviews []SubjectAccessReview `json:"subjectAccessReviews,omitempty"`

	// Htpasswd lets users log in with a password (HTTP basic auth) instead
	// of through OpenShift: either a Secret holding an htpasswd file, or
	// users whose file the operator builds. oauth-proxy does not check the
	// SubjectAccessReviews for these users; the HtpasswdBypassesSAR
	// condition says so while it is set.
	// +optional
	Htpasswd *HtpasswdSpec `json:"htpasswd,omitempty"`

	// SessionSecret names a Secret holding the cookie secret (exactly 16, 24
	// or 32 bytes). When unset the operator generates one, once, in a Secret
	// named after this KialiAuthProxy, and never regenerates it.
	// +optional
	SessionSecret *SecretKeyReference `json:"sessionSecret,omitempty"`

	// Cookie configures the session cookie.
	// +optional
	Cookie *CookieSpec `json:"cookie,omitempty"`

	// TLS configures the proxy's HTTPS listener, served with a certificate
	// from the OpenShift service CA.
	// +optional
	TLS *ProxyTLSSpec `json:"tls,omitempty"`

	// RequestLogging logs every request the proxy serves, with the user who
	// made it (-request-logging). Kiali runs anonymously, so this log is the
	// only record of who did what in the console. Defaults to true.
	// +optional
	RequestLogging *bool `json:"requestLogging,omitempty"`

	// ExtraArgs are appended to the oauth-proxy command line. Only flags
	// known to be harmless may be given: -proxy-websockets and
	// -set-xauthrequest as -name, -name=true or -name=false, and
	// -upstream-flush and -upstream-timeout as -name=<duration>, such as
	// -upstream-timeout=2m. A flag the operator manages is refused with the
	// field to use instead; any other flag is refused because it can weaken
	// authentication, the session cookie, the request log or what the proxy
	// trusts.
	// +optional
	// +listType=atomic
	ExtraArgs ProxyExtraArgs `json:"extraArgs,omitempty"`
}

// HtpasswdSpec is an htpasswd Secret of the user's, or users to build one
// for. Exactly one of name and users is set.
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.users)",message="spec.proxy.htpasswd needs exactly one of name (an htpasswd Secret) or users"
// +kubebuilder:validation:XValidation:rule="!has(self.key) || has(self.name)",message="spec.proxy.htpasswd.key goes with spec.proxy.htpasswd.name"
type HtpasswdSpec struct {
	// Name of a Secret holding an htpasswd file (bcrypt entries). The
	// operator only reads it.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name,omitempty"`

	// Key of the htpasswd file in the Secret. Defaults to "auth".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`

	// Users to build an htpasswd file for, each with a password read from a
	// Secret. The operator stores the bcrypt hashes in a Secret of its own
	// and rebuilds it only when a password Secret changes.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Users []HtpasswdUser `json:"users,omitempty"`
}

// HtpasswdUser is one password login.
type HtpasswdUser struct {
	// Name the user logs in with.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._@-]+$`
	Name string `json:"name"`

	// PasswordSecret holds the user's password. Key defaults to "password".
	PasswordSecret SecretKeyReference `json:"passwordSecret"`
}

// SubjectAccessReview is one OpenShift SubjectAccessReview a user must pass.
type SubjectAccessReview struct {
	// Namespace the review is made in. Empty means cluster-wide.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// Verb, for example "get".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^([a-z]+|\*)$`
	Verb string `json:"verb"`

	// Resource, for example "pods".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([a-z0-9.]+(/[a-z]+)?|\*)$`
	Resource string `json:"resource"`

	// ResourceAPIGroup of the resource; empty is the core group.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ResourceAPIGroup string `json:"resourceAPIGroup,omitempty"`

	// ResourceName restricts the review to one object.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ResourceName string `json:"resourceName,omitempty"`
}

// SecretKeyReference names one key of a Secret in the KialiAuthProxy's
// namespace.
type SecretKeyReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Key in the Secret's data. Defaults to "session_secret" for the session
	// secret and "password" for an htpasswd user's password.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// CookieSpec configures the proxy's session cookie.
type CookieSpec struct {
	// Expire is how long a session lasts (-cookie-expire). Defaults to 8h.
	// oauth-proxy checks the SubjectAccessReviews and the user's OpenShift
	// token only at login, so this is how long a user keeps access after
	// losing a permission, being deleted or having the token revoked: one
	// working day, not the 24h an OpenShift OAuth token lives.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	Expire *metav1.Duration `json:"expire,omitempty"`

	// Refresh, with the OIDC provider, is how old a session may get before
	// oauth2-proxy refreshes it with the issuer's refresh token. Defaults to
	// 1m: with SubjectAccessReview authorization the ID token in the session
	// is checked on every request, so the session must be refreshed before
	// the token expires (ID tokens often live 5 minutes). It must be shorter
	// than Expire.
	//
	// With the OpenShift provider it is not supported and is refused
	// when set or changed (-cookie-refresh would end every session at its
	// first refresh: openshift/oauth-proxy's default
	// ProviderData.ValidateSessionState sends the token as an access_token
	// query parameter, which the OpenShift 4 API server does not
	// authenticate). An object stored with it before stays valid; the
	// operator ignores the value and reports it in the Degraded condition.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	Refresh *metav1.Duration `json:"refresh,omitempty"`
}

// ProxyTLSSpec configures the proxy's HTTPS listener.
// +kubebuilder:validation:XValidation:rule="!(has(self.certManager) && has(self.certificateSecret))",message="spec.proxy.tls takes certManager or certificateSecret, not both"
type ProxyTLSSpec struct {
	// Enabled turns the HTTPS listener (port 3001) on. Defaults to true.
	// The plain HTTP listener (port 3080) is always on: inside the mesh the
	// hop from the gateway to the proxy is protected by mTLS.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// CertManager has cert-manager issue the listener's certificate, for
	// the proxy Service's DNS names, into the Secret "<name>-oauth-tls",
	// instead of the OpenShift service CA.
	// +optional
	CertManager *CertManagerCertificate `json:"certManager,omitempty"`

	// CertificateSecret is a kubernetes.io/tls Secret of the user's (keys
	// tls.crt and tls.key) the listener serves instead of a certificate of
	// the service CA's. It is only read; a new certificate rolls the pods.
	// +optional
	CertificateSecret *SecretReference `json:"certificateSecret,omitempty"`
}

// ExposureSpec says how users reach the proxy. Exactly one of virtualService,
// route and httpRoute is set.
// +kubebuilder:validation:XValidation:rule="[has(self.virtualService), has(self.route), has(self.httpRoute)].filter(x, x).size() == 1",message="spec.exposure needs exactly one of virtualService, route or httpRoute"
type ExposureSpec struct {
	// Host is the DNS name users open, for example kiali.apps.example.com.
	// It is also the OAuth redirect URI host.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="spec.exposure.host must be a lowercase DNS name such as kiali.apps.example.com"
	Host string `json:"host"`

	// VirtualService exposes the proxy on Istio gateways.
	// +optional
	VirtualService *VirtualServiceExposure `json:"virtualService,omitempty"`

	// Route exposes the proxy with an OpenShift Route.
	// +optional
	Route *RouteExposure `json:"route,omitempty"`

	// HTTPRoute exposes the proxy with a Gateway API HTTPRoute on Gateways
	// that terminate TLS for the host, such as Istio's.
	// +optional
	HTTPRoute *HTTPRouteExposure `json:"httpRoute,omitempty"`
}

// VirtualServiceExposure exposes the proxy on Istio gateways.
type VirtualServiceExposure struct {
	// Name of the VirtualService. Defaults to "<name>-mesh".
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`

	// Gateways the host is served on, each as "namespace/name".
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=317
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="each gateway must be namespace/name, such as istio-system/mesh-apps-gateway"
	Gateways []string `json:"gateways"`

	// Passthrough also serves the host to gateways that pass TLS through to
	// the proxy (a tls route on port 443 matched by SNI, to the proxy's
	// HTTPS listener). Browsers then talk TLS to the proxy itself, so it
	// must present a certificate for spec.exposure.host that they trust: the
	// service CA's certificate is for <name>-oauth.<ns>.svc and signed by a
	// CA no browser knows. Without it only gateways that terminate TLS are
	// served. Needs the HTTPS listener (spec.proxy.tls.enabled).
	// +optional
	Passthrough *PassthroughSpec `json:"passthrough,omitempty"`
}

// PassthroughSpec is the certificate the proxy serves to browsers whose TLS
// the gateway passes through.
type PassthroughSpec struct {
	// CertificateSecret is a kubernetes.io/tls Secret in this namespace
	// (keys tls.crt and tls.key) whose certificate is valid for
	// spec.exposure.host. It is only read; a new certificate rolls the
	// proxy pods.
	CertificateSecret SecretReference `json:"certificateSecret"`
}

// RouteExposure exposes the proxy with an OpenShift Route.
type RouteExposure struct {
	// Name of the Route. Defaults to the proxy's name, "<name>-oauth".
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`
}

// KialiAuthProxyStatus is computed afresh on every reconcile.
type KialiAuthProxyStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// URL users open to reach Kiali.
	// +optional
	URL string `json:"url,omitempty"`

	// Conditions: Ready summarises KialiConfigured, ProxyAvailable and
	// Exposed; Degraded reports invalid references.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Clusters reports each of spec.clusters: Kiali's access to it and,
	// where it has a Prometheus, its metrics.
	// +optional
	// +listType=map
	// +listMapKey=name
	Clusters []ClusterStatus `json:"clusters,omitempty"`
}

// KialiAuthProxy is a Kiali installation secured by an OpenShift oauth-proxy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=kap,categories=kiali
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="metadata.name must be at most 40 characters: the names of the objects made for it are derived from it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label starting with a letter: it names the proxy's Service"
type KialiAuthProxy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   KialiAuthProxySpec   `json:"spec"`
	Status KialiAuthProxyStatus `json:"status,omitempty"`
}

// KialiAuthProxyList is a list of KialiAuthProxy.
//
// +kubebuilder:object:root=true
type KialiAuthProxyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []KialiAuthProxy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&KialiAuthProxy{}, &KialiAuthProxyList{})
}
