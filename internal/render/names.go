package render

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Every name, label, annotation, path and port of the objects the operator
// makes is decided here, so nothing else spells them.

// Ports and paths of the oauth-proxy container.
const (
	ProxyContainerName = "oauth-proxy"
	ProxyHTTPPort      = 3080
	ProxyHTTPSPort     = 3001
	ProxyHTTPPortName  = "http"
	ProxyHTTPSPortName = "https"
	// Service port names start with the protocol, as Istio's protocol
	// selection expects.
	ServiceHTTPPortName  = "http-kiali-oauth"
	ServiceHTTPSPortName = "https-kiali-oauth"
	HealthPath           = "/oauth/healthz"
	// OAuth2ProxyHealthPath is oauth2-proxy's liveness endpoint (its
	// --ping-path), answered without authentication or a call to Kiali;
	// OAuth2ProxyReadyPath also checks its session store (--ready-path).
	OAuth2ProxyHealthPath = "/ping"
	OAuth2ProxyReadyPath  = "/ready"
	// OAuth2ProxyCallbackPath is where the issuer sends users back to
	// (oauth2-proxy's --proxy-prefix, /oauth2, followed by /callback).
	OAuth2ProxyCallbackPath = "/oauth2/callback"

	// The authorizing proxy between oauth2-proxy and Kiali: the operator's
	// own binary (its "authorize" subcommand) in a second container. It
	// listens on loopback only, so nothing but oauth2-proxy in the same pod
	// reaches it; its health endpoint is on a port of its own.
	AuthorizerContainerName = "authorize"
	AuthorizerPort          = 3090
	AuthorizerHealthPort    = 3091
	AuthorizerHealthName    = "authz-health"
	AuthorizerHealthPath    = "/healthz"
	// OAuth2ProxyConfigKey is oauth2-proxy's alpha configuration in its
	// ConfigMap.
	OAuth2ProxyConfigKey = "oauth2-proxy.yaml"
	// ProxyConfigChecksumAnnotation on the pod template fingerprints that
	// file.
	ProxyConfigChecksumAnnotation = "mesh.kialiauth.io/proxy-config-checksum"

	// KialiPort is the port of the Kiali Service the proxy forwards to.
	KialiPort = 20001
	// IstioAgentPort is the sidecar agent's port: Istio rewrites the
	// kubelet's probes to it and serves merged Prometheus metrics there.
	IstioAgentPort = 15020

	sessionSecretMountDir = "/etc/proxy/session"
	htpasswdMountDir      = "/etc/proxy/htpasswd"
	tlsMountDir           = "/etc/tls/private"
	upstreamCAMountDir    = "/etc/proxy/upstream-ca"
	clientSecretMountDir  = "/etc/proxy/oidc"
	proxyConfigMountDir   = "/etc/proxy/config"
	// kialiCertMountDir is where Kiali finds its certificate with
	// spec.kiali.tls: the path the Kiali operator uses on OpenShift.
	kialiCertMountDir = "/kiali-cert"
	issuerCAMountDir  = "/etc/proxy/issuer-ca"
	// Secret volumes project only the referenced key, under these fixed
	// file names, so the command line does not depend on the user's key.
	sessionSecretFile = "session_secret"
	htpasswdFile      = "htpasswd"
	clientSecretFile  = "client-secret"
	kialiCAFile       = "kiali-ca.crt"
	issuerCAFile      = "ca.crt"
	// serviceAccountCAFile is the cluster CA every pod gets with its token;
	// oauth-proxy uses it to talk to the OpenShift API and OAuth server.
	serviceAccountCAFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// Keys OpenShift's service CA operator reads or writes.
const (
	ServingCertAnnotation    = "service.beta.openshift.io/serving-cert-secret-name"
	InjectCABundleAnnotation = "service.beta.openshift.io/inject-cabundle"
	// CABundleKey is written by the service CA operator into the CA bundle
	// ConfigMap; the operator never writes or clears it.
	CABundleKey             = "service-ca.crt"
	OAuthRedirectAnnotation = "serviceaccounts.openshift.io/oauth-redirecturi.primary"
	SidecarInjectKey        = meshv1alpha1.SidecarInjectAnnotation
	ProxyConfigAnnotation   = meshv1alpha1.ProxyConfigAnnotation
	// ExposeRouteLabel marks the pods OpenShift Service Mesh 2.x lets the
	// router reach in a member namespace.
	ExposeRouteLabel         = "maistra.io/expose-route"
	holdUntilProxyStartsJSON = `{ "holdApplicationUntilProxyStarts": true }`
)

// Labels and annotations of the operator's own.
// Operator is the name the operator goes by: the value of its managed-by
// label, the field manager of every write it makes and the source of its
// events.
const Operator = "kiali-auth-proxy-operator"

const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelInstance names the owning KialiAuthProxy. It is deliberately not
	// app.kubernetes.io/instance: Argo CD tracks the objects of an
	// application by that label, and would claim (and prune) ours when the
	// application and the KialiAuthProxy share a name.
	LabelInstance  = "mesh.kialiauth.io/instance"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelComponent = "app.kubernetes.io/component"
	LabelName      = "app.kubernetes.io/name"

	ManagedByValue = Operator
	PartOfValue    = "kiali-auth-proxy"

	ComponentProxy         = "oauth-proxy"
	ComponentLockDown      = "lock-down"
	ComponentHtpasswd      = "htpasswd"
	ComponentKiali         = "kiali"
	ComponentExposure      = "exposure"
	ComponentSessionSecret = "session-secret"
	ComponentMetrics       = "metrics"
	// ComponentRemoteAccess: Kiali's access to another cluster, there and
	// in its remote-cluster Secrets at the hub.
	ComponentRemoteAccess = "remote-access"

	// KialiPodLabel is set on the Kiali pods (through the Kiali CR's
	// deployment.pod_labels) to the KialiAuthProxy's name, so the lock-down
	// policies select exactly this Kiali.
	KialiPodLabel = "mesh.kialiauth.io/kiali"

	// InputsChecksumAnnotation on the proxy pod template changes whenever a
	// secret the proxy reads changes, so the pods roll and read it again.
	InputsChecksumAnnotation = "mesh.kialiauth.io/inputs-checksum"
)

// The CA bundle's name must never be one the Kiali operator uses in the
// same namespace: two owners of one ConfigMap delete it under each other
// (our owner reference with the KialiAuthProxy, the Kiali operator with its
// Kiali CR) and fight over its labels. Every ConfigMap the Kiali operator
// makes or mounts is the Kiali instance name, which it requires to be a DNS
// label of at most 40 characters, followed by a suffix without a dot: "",
// "-cabundle", "-cabundle-openshift" and "-oauth-cabundle" (kiali-operator
// roles/*/kiali-deploy: tasks/main.yml, templates/openshift/cabundle.yaml,
// templates/openshift/deployment.yaml). A name with a dot is none of them,
// whatever the instance is called; Kubernetes and OpenShift name their own CA
// ConfigMaps this way (kube-root-ca.crt, openshift-service-ca.crt).
const caBundleSuffix = "-oauth-upstream-ca.crt"

// legacyCABundleSuffix is what release 0.1.0 used. For the reference setup
// that gives "kiali-cabundle": the Kiali operator's own CA bundle in its
// roles v1.73 to v2.17 (and in its default role up to v2.20), and from v2.21
// the optional ConfigMap of extra CAs a user adds, whose keys Kiali mounts
// over those of the operator's own. A ConfigMap of that name the operator
// made is released, never pruned (internal/controller/legacy.go).
const legacyCABundleSuffix = "-cabundle"

// Names are the names of the objects made for one KialiAuthProxy.
type Names struct {
	Namespace      string
	Proxy          string // Deployment, Service and ServiceAccount
	ServingCert    string
	CABundle       string // see caBundleSuffix
	LegacyCABundle string // 0.1.0's name for it: released, never rendered (see legacyCABundleSuffix)
	SessionSecret  string // generated session secret
	Kiali          string // Kiali CR
	KialiInstance  string // Kiali Deployment and Service
	VirtualService string
	Route          string
	// LockDown names the AuthorizationPolicy, PeerAuthentication and
	// NetworkPolicy around Kiali.
	LockDown string
	// HtpasswdPrefix starts the names of generated htpasswd Secrets, which
	// end in a fingerprint of their inputs.
	HtpasswdPrefix string
	// TrustDomain is the mesh trust domain of the proxy's identity.
	TrustDomain string
	// KialiServesTLS: Kiali has a serving certificate (OpenShift's service
	// CA, or spec.kiali.tls), so the proxy reaches it over HTTPS and trusts
	// that certificate's CA.
	KialiServesTLS bool
	// KialiServingCert is the Secret cert-manager issues Kiali's
	// certificate into, with spec.kiali.tls.certManager.
	KialiServingCert string
	// HTTPRoute names the Gateway API route.
	HTTPRoute string
	// ProxyConfig names oauth2-proxy's configuration ConfigMap (OIDC).
	ProxyConfig string
	// RemoteWriteEntry names the operator's remote_write entry in every
	// cluster's Prometheus, and the receiver credentials Secret next to it.
	// The namespace is part of it: several hubs may write to one cluster.
	RemoteWriteEntry string
	// RemoteWriteRecord is the ConfigMap that records where on other
	// clusters the operator wrote, so that it can take it out again.
	RemoteWriteRecord string
	// RemoteKiali names Kiali's ServiceAccount, ClusterRole and
	// ClusterRoleBinding on every cluster with kialiAccess Managed. Like
	// the remote_write entry it holds the namespace: several hubs may give
	// their Kiali access to one cluster.
	RemoteKiali string
}

// NamesFor decides the names for a KialiAuthProxy, defaulted or not. With
// the object named "kiali" they are the names of the hand-made reference
// setup. A reconcile names once, in PlanFor.
func NamesFor(kap *meshv1alpha1.KialiAuthProxy) Names {
	return namesOf(kap.WithDefaults(""))
}

// namesOf names the objects of a defaulted KialiAuthProxy.
func namesOf(d *meshv1alpha1.KialiAuthProxy) Names {
	kap := d
	base := kap.Name
	n := Names{
		Namespace:        kap.Namespace,
		Proxy:            base + "-oauth",
		ServingCert:      base + "-oauth-tls",
		CABundle:         base + caBundleSuffix,
		LegacyCABundle:   base + legacyCABundleSuffix,
		SessionSecret:    base + "-proxy",
		Kiali:            base,
		KialiInstance:    kap.Spec.Kiali.KialiInstanceName(),
		VirtualService:   base + "-mesh",
		Route:            base + "-oauth",
		LockDown:         base + "-lockdown",
		HtpasswdPrefix:   base + "-htpasswd-",
		TrustDomain:      kap.Spec.MeshSecurity.TrustDomain,
		KialiServesTLS:   kap.Spec.Platform != meshv1alpha1.PlatformKubernetes || kap.Spec.Kiali.TLS != nil,
		KialiServingCert: base + "-kiali-tls",
		HTTPRoute:        base + "-oauth",
		ProxyConfig:      base + "-oauth2-proxy.yaml",

		RemoteWriteEntry:  "kialiauthproxy-" + kap.Namespace + "-" + base,
		RemoteWriteRecord: base + "-remote-write",
		RemoteKiali:       "kialiauthproxy-" + kap.Namespace + "-" + base,
	}
	if kap.Spec.Kiali.Name != "" {
		n.Kiali = kap.Spec.Kiali.Name
	}
	if vs := kap.Spec.Exposure.VirtualService; vs != nil && vs.Name != "" {
		n.VirtualService = vs.Name
	}
	if r := kap.Spec.Exposure.Route; r != nil && r.Name != "" {
		n.Route = r.Name
	}
	if r := kap.Spec.Exposure.HTTPRoute; r != nil && r.Name != "" {
		n.HTTPRoute = r.Name
	}
	return n
}

// ProxyFQDN is the cluster-local DNS name of the proxy's Service.
func (n Names) ProxyFQDN() string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", n.Proxy, n.Namespace)
}

// KialiFQDN is the cluster-local DNS name of Kiali's Service.
func (n Names) KialiFQDN() string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", n.KialiInstance, n.Namespace)
}

// KialiUpstream is the URL of the Kiali Service the proxy forwards to:
// HTTPS on OpenShift, where the Kiali operator gives Kiali a serving
// certificate of the service CA, plain HTTP elsewhere, where it gives none
// (kiali-operator roles/default/kiali-deploy/tasks/main.yml: identity
// cert_file only "if is_openshift") and the mesh's mTLS protects the hop.
// Paths are forwarded unchanged: Kiali itself serves its web root and
// redirects "/" to it (kiali routing/router.go).
func (n Names) KialiUpstream() string {
	scheme := "https"
	if !n.KialiServesTLS {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, n.KialiFQDN(), KialiPort)
}

// ProxyPrincipal is the proxy's mTLS identity in the mesh.
func (n Names) ProxyPrincipal() string {
	return fmt.Sprintf("%s/ns/%s/sa/%s", n.TrustDomain, n.Namespace, n.Proxy)
}

// KialiSelector selects this KialiAuthProxy's Kiali pods.
func KialiSelector(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	return map[string]string{KialiPodLabel: kap.Name}
}

// OwnerLabels select every object made for one KialiAuthProxy; pruning
// lists by them.
func OwnerLabels(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	return map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelInstance:  kap.Name,
	}
}

// Labels are the labels of one object: the owner labels plus its component.
// The KialiAuthProxy's own labels are never copied: a GitOps tool that
// tracks its objects by label would otherwise claim ours too.
func Labels(kap *meshv1alpha1.KialiAuthProxy, component string) map[string]string {
	l := OwnerLabels(kap)
	l[LabelPartOf] = PartOfValue
	l[LabelComponent] = component
	return l
}

// objectMeta is the metadata of one object made for kap.
func objectMeta(kap *meshv1alpha1.KialiAuthProxy, n Names, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: n.Namespace, Labels: Labels(kap, component)}
}

// ProxySelector selects the proxy's pods. It must never change: a
// Deployment's selector is immutable.
func ProxySelector(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	return map[string]string{
		LabelInstance:  kap.Name,
		LabelComponent: ComponentProxy,
	}
}
