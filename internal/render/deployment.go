package render

import (
	"encoding/json"
	"path"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

const (
	volSessionSecret = "session-secret"
	volHtpasswd      = "htpasswd"
	volServingCert   = "serving-cert"
	volUpstreamCA    = "upstream-ca"
	volClientSecret  = "client-secret"
	volIssuerCA      = "issuer-ca"
	volProxyConfig   = "proxy-config"
)

// Deployment runs the proxy: with the OpenShift provider oauth-proxy
// (OpenShift login, the SubjectAccessReviews as authorization, then a TLS
// hop to Kiali verified with the service CA), with OIDC oauth2-proxy and the
// authorizing proxy behind it (oauth2proxy.go). The pods are injected into
// the mesh so that Kiali's sidecar sees the proxy's identity.
func Deployment(kap *meshv1alpha1.KialiAuthProxy, n Names, in Inputs) *appsv1.Deployment {
	p := &kap.Spec.Proxy
	podLabels := Labels(kap, ComponentProxy)
	podLabels[LabelName] = n.Proxy
	podLabels[SidecarInjectKey] = "true"
	if kap.Spec.Exposure.Route != nil {
		// OpenShift Service Mesh 2.x admits the router into a member
		// namespace only to pods carrying this label (its
		// istio-expose-route NetworkPolicy).
		podLabels[ExposeRouteLabel] = "true"
	}

	volumes, containers := proxyPod(kap, n, in)
	annotations := map[string]string{
		SidecarInjectKey:         "true",
		InputsChecksumAnnotation: in.InputsChecksum,
	}
	if p.IsOIDC() {
		annotations[ProxyConfigChecksumAnnotation] = ProxyConfigChecksum(kap)
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objectMeta(kap, n, n.Proxy, ComponentProxy),
		Spec: appsv1.DeploymentSpec{
			Replicas: p.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: ProxySelector(kap)},
			// Never take a serving pod away before its replacement is ready:
			// the proxy is the only way into Kiali.
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromInt32(1)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      podLabels,
					Annotations: annotations,
				},
				Spec: corev1.PodSpec{
					ServiceAccountName: n.Proxy,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: containers,
					Volumes:    volumes,
				},
			},
		},
	}
}

// proxyPod is the pod's volumes and containers: OpenShift's oauth-proxy
// alone, or oauth2-proxy followed by the authorizing proxy it forwards to.
func proxyPod(kap *meshv1alpha1.KialiAuthProxy, n Names, in Inputs) ([]corev1.Volume, []corev1.Container) {
	p := &kap.Spec.Proxy
	volumes, mounts := proxyVolumes(kap, n, in)
	if !p.IsOIDC() {
		c := proxyContainer(p, ProxyArgs(kap, n, in), mounts.proxy)
		c.ReadinessProbe, c.LivenessProbe = healthProbe(HealthPath, ProxyHTTPPortName, 5), healthProbe(HealthPath, ProxyHTTPPortName, 10)
		return volumes, []corev1.Container{c}
	}
	c := proxyContainer(p, OAuth2ProxyArgs(kap), mounts.proxy)
	c.ReadinessProbe, c.LivenessProbe = healthProbe(OAuth2ProxyReadyPath, ProxyHTTPPortName, 5), healthProbe(OAuth2ProxyHealthPath, ProxyHTTPPortName, 10)
	return volumes, []corev1.Container{c, authorizerContainer(kap, n, in, mounts.authorizer)}
}

// proxyContainer is the container users' requests reach first.
func proxyContainer(p *meshv1alpha1.ProxySpec, args []string, mounts []corev1.VolumeMount) corev1.Container {
	return corev1.Container{
		Name:            ProxyContainerName,
		Image:           p.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            args,
		Ports:           proxyPorts(p),
		Resources:       *p.Resources,
		VolumeMounts:    mounts,
		SecurityContext: restrictedContainer(),
	}
}

// restrictedContainer is the security context of every container of the
// pod: what the restricted Pod Security Standard asks, and a read-only root.
func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// ProxyArgs is the oauth-proxy command line.
func ProxyArgs(kap *meshv1alpha1.KialiAuthProxy, n Names, in Inputs) []string {
	p := &kap.Spec.Proxy
	args := []string{
		"-provider=openshift",
		"-http-address=:" + strconv.Itoa(ProxyHTTPPort),
	}
	if p.TLSEnabled() {
		args = append(args, "-https-address=:"+strconv.Itoa(ProxyHTTPSPort))
	} else {
		// oauth-proxy listens on :8443 unless told otherwise; an empty
		// address is how its HTTPS listener is turned off.
		args = append(args, "-https-address=")
	}
	args = append(args,
		"-upstream="+n.KialiUpstream(),
		// Kiali's serving certificate is signed by the service CA; trusting
		// exactly that CA replaces setting SSL_CERT_DIR for the whole process.
		"-upstream-ca="+UpstreamCAFile(kap),
		"-openshift-service-account="+n.Proxy,
		"-openshift-sar="+SubjectAccessReviewsJSON(p.SubjectAccessReviews),
		"-openshift-ca="+serviceAccountCAFile,
		// OpenShift users have no e-mail address; oauth-proxy's e-mail domain
		// filter must let every user through to the SubjectAccessReviews.
		"-email-domain=*",
		"-cookie-secret-file="+path.Join(sessionSecretMountDir, sessionSecretFile),
	)
	args = append(args,
		// No -cookie-refresh: openshift/oauth-proxy re-validates a session
		// through the default ProviderData.ValidateSessionState
		// (providers/provider_default.go), whose validateToken
		// (providers/internal_util.go) sends the token as an access_token
		// query parameter that the OpenShift 4 API server does not
		// authenticate, so every session would end at its first refresh.
		// The session's expiry is the bound instead.
		"-cookie-expire="+p.Cookie.Expire.Duration.String(),
		"-cookie-samesite=lax",
		"-cookie-secure=true",
		// Kiali is anonymous: the proxy's request log, which names the
		// user of every request, is the only audit trail of the console.
		"-request-logging="+strconv.FormatBool(*p.RequestLogging),
	)
	if in.Htpasswd != nil {
		args = append(args,
			"-htpasswd-file="+path.Join(htpasswdMountDir, htpasswdFile),
			"-display-htpasswd-form=false",
		)
	} else {
		// OpenShift login is the only way in: send the browser straight to
		// it instead of a page with one button.
		args = append(args, "-skip-provider-button=true")
	}
	if p.TLSEnabled() {
		args = append(args,
			"-tls-cert="+path.Join(tlsMountDir, corev1.TLSCertKey),
			"-tls-key="+path.Join(tlsMountDir, corev1.TLSPrivateKeyKey),
		)
	}
	kept, _ := SplitExtraArgs(p.ExtraArgs)
	return append(args, kept...)
}

// SplitExtraArgs separates the extra arguments the allow list accepts from
// those it refuses. Admission refuses the latter, but an object stored
// before the rule existed may still hold them (-config, -cookie-domain, a
// second -request-logging that would win over the operator's): they are
// never rendered, and the status reports them.
func SplitExtraArgs(args []string) (kept, dropped []string) {
	for _, a := range args {
		if meshv1alpha1.ExtraArgAllowed(a) {
			kept = append(kept, a)
		} else {
			dropped = append(dropped, a)
		}
	}
	return kept, dropped
}

// sarJSON is the OpenShift SubjectAccessReview body oauth-proxy posts for
// each entry of -openshift-sar; field order is fixed for byte-stable output.
type sarJSON struct {
	Namespace        string `json:"namespace,omitempty"`
	Resource         string `json:"resource"`
	ResourceAPIGroup string `json:"resourceAPIGroup,omitempty"`
	ResourceName     string `json:"resourceName,omitempty"`
	Verb             string `json:"verb"`
}

// SubjectAccessReviewsJSON renders the reviews as the JSON list
// -openshift-sar takes.
func SubjectAccessReviewsJSON(sars []meshv1alpha1.SubjectAccessReview) string {
	list := make([]sarJSON, 0, len(sars))
	for _, s := range sars {
		list = append(list, sarJSON{
			Namespace:        s.Namespace,
			Resource:         s.Resource,
			ResourceAPIGroup: s.ResourceAPIGroup,
			ResourceName:     s.ResourceName,
			Verb:             s.Verb,
		})
	}
	b, err := json.Marshal(list)
	if err != nil {
		// A slice of plain string structs always encodes.
		panic(err)
	}
	return string(b)
}

func proxyPorts(p *meshv1alpha1.ProxySpec) []corev1.ContainerPort {
	ports := []corev1.ContainerPort{{Name: ProxyHTTPPortName, ContainerPort: ProxyHTTPPort, Protocol: corev1.ProtocolTCP}}
	if p.TLSEnabled() {
		ports = append(ports, corev1.ContainerPort{Name: ProxyHTTPSPortName, ContainerPort: ProxyHTTPSPort, Protocol: corev1.ProtocolTCP})
	}
	return ports
}

// healthProbe checks a proxy's own health endpoint, which answers without
// authentication and without calling Kiali.
func healthProbe(path, port string, initialDelay int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path:   path,
			Port:   intstr.FromString(port),
			Scheme: corev1.URISchemeHTTP,
		}},
		InitialDelaySeconds: initialDelay,
		PeriodSeconds:       10,
		TimeoutSeconds:      2,
		FailureThreshold:    3,
	}
}

// upstreamCAVolume holds the CA the proxy verifies Kiali's certificate
// with: on OpenShift the service CA, injected into the CA bundle ConfigMap;
// with spec.kiali.tls the CA of Kiali's certificate from a Secret.
func upstreamCAVolume(kap *meshv1alpha1.KialiAuthProxy, n Names) corev1.Volume {
	if ref := KialiCA(kap, n); ref != nil {
		return secretVolume(volUpstreamCA, ref.Name, ref.Key, kialiCAFile)
	}
	return corev1.Volume{
		Name: volUpstreamCA,
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: n.CABundle},
			Items:                []corev1.KeyToPath{{Key: CABundleKey, Path: CABundleKey}},
		}},
	}
}

// UpstreamCAFile is where the proxy finds the CA of Kiali's certificate.
func UpstreamCAFile(kap *meshv1alpha1.KialiAuthProxy) string {
	if kap.Spec.Kiali.TLS != nil {
		return path.Join(upstreamCAMountDir, kialiCAFile)
	}
	return path.Join(upstreamCAMountDir, CABundleKey)
}

// KialiCA is the Secret key holding the CA of Kiali's certificate with
// spec.kiali.tls: the one named, else ca.crt of the certificate's Secret
// (cert-manager writes the issuer's CA there, pkg/apis/meta/v1 TLSCAKey of
// cert-manager). Nil without spec.kiali.tls.
func KialiCA(kap *meshv1alpha1.KialiAuthProxy, n Names) *SecretKey {
	t := kap.Spec.Kiali.TLS
	switch {
	case t == nil:
		return nil
	case t.CA != nil:
		return &SecretKey{Name: t.CA.Name, Key: t.CA.Key}
	}
	return &SecretKey{Name: KialiCertSecret(kap, n), Key: meshv1alpha1.DefaultCAKey}
}

// KialiCertSecret is the Secret of Kiali's certificate with spec.kiali.tls.
func KialiCertSecret(kap *meshv1alpha1.KialiAuthProxy, n Names) string {
	if t := kap.Spec.Kiali.TLS; t != nil && t.CertificateSecret != nil {
		return t.CertificateSecret.Name
	}
	return n.KialiServingCert
}

// podMounts are the volume mounts of each container.
type podMounts struct{ proxy, authorizer []corev1.VolumeMount }

func proxyVolumes(kap *meshv1alpha1.KialiAuthProxy, n Names, in Inputs) ([]corev1.Volume, podMounts) {
	p := &kap.Spec.Proxy
	var m podMounts
	volumes := []corev1.Volume{secretVolume(volSessionSecret, in.SessionSecret.Name, in.SessionSecret.Key, sessionSecretFile)}
	m.proxy = append(m.proxy, corev1.VolumeMount{Name: volSessionSecret, MountPath: sessionSecretMountDir, ReadOnly: true})
	if n.KialiServesTLS {
		volumes = append(volumes, upstreamCAVolume(kap, n))
		// Whoever makes the TLS hop to Kiali trusts the CA: oauth-proxy, or
		// behind oauth2-proxy (which has no upstream CA setting) the
		// authorizing proxy.
		ca := corev1.VolumeMount{Name: volUpstreamCA, MountPath: upstreamCAMountDir, ReadOnly: true}
		if p.IsOIDC() {
			m.authorizer = append(m.authorizer, ca)
		} else {
			m.proxy = append(m.proxy, ca)
		}
	}
	if h := in.Htpasswd; h != nil {
		volumes = append(volumes, secretVolume(volHtpasswd, h.Name, h.Key, htpasswdFile))
		m.proxy = append(m.proxy, corev1.VolumeMount{Name: volHtpasswd, MountPath: htpasswdMountDir, ReadOnly: true})
	}
	if o := p.OIDC; p.IsOIDC() && o != nil {
		volumes = append(volumes, corev1.Volume{
			Name: volProxyConfig,
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: n.ProxyConfig},
			}},
		})
		m.proxy = append(m.proxy, corev1.VolumeMount{Name: volProxyConfig, MountPath: proxyConfigMountDir, ReadOnly: true})
		volumes = append(volumes, secretVolume(volClientSecret, o.ClientSecret.Name, o.ClientSecret.Key, clientSecretFile))
		m.proxy = append(m.proxy, corev1.VolumeMount{Name: volClientSecret, MountPath: clientSecretMountDir, ReadOnly: true})
		if ca := o.IssuerCA; ca != nil {
			volumes = append(volumes, corev1.Volume{
				Name: volIssuerCA,
				VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: ca.Name},
					Items:                []corev1.KeyToPath{{Key: ca.Key, Path: issuerCAFile}},
				}},
			})
			m.proxy = append(m.proxy, corev1.VolumeMount{Name: volIssuerCA, MountPath: issuerCAMountDir, ReadOnly: true})
		}
	}
	if p.TLSEnabled() {
		volumes = append(volumes, corev1.Volume{
			Name:         volServingCert,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: ListenerCertSecret(kap, n)}},
		})
		m.proxy = append(m.proxy, corev1.VolumeMount{Name: volServingCert, MountPath: tlsMountDir, ReadOnly: true})
	}
	return volumes, m
}

// ListenerCertSecret is the Secret the proxy's HTTPS listener serves: the
// user's certificate for the host when TLS is passed through to the proxy,
// else the user's certificate Secret, else the serving certificate the
// service CA or cert-manager writes.
func ListenerCertSecret(kap *meshv1alpha1.KialiAuthProxy, n Names) string {
	if pt := Passthrough(kap); pt != nil {
		return pt.CertificateSecret.Name
	}
	if s := kap.Spec.Proxy.TLS; s != nil && s.CertificateSecret != nil {
		return s.CertificateSecret.Name
	}
	return n.ServingCert
}

// ServiceCASignsListener reports whether the listener's certificate comes
// from OpenShift's service CA, through the Service's annotation.
func ServiceCASignsListener(kap *meshv1alpha1.KialiAuthProxy) bool {
	p := &kap.Spec.Proxy
	return p.TLSEnabled() && Passthrough(kap) == nil && kap.Spec.Platform != meshv1alpha1.PlatformKubernetes &&
		(p.TLS == nil || (p.TLS.CertManager == nil && p.TLS.CertificateSecret == nil))
}

// Passthrough is the spec's TLS passthrough, or nil.
func Passthrough(kap *meshv1alpha1.KialiAuthProxy) *meshv1alpha1.PassthroughSpec {
	if vs := kap.Spec.Exposure.VirtualService; vs != nil && kap.Spec.Proxy.TLSEnabled() {
		return vs.Passthrough
	}
	return nil
}

// secretVolume projects one key of a Secret under a fixed file name.
func secretVolume(name, secret, key, file string) corev1.Volume {
	return corev1.Volume{
		Name: name,
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret,
			Items:      []corev1.KeyToPath{{Key: key, Path: file}},
		}},
	}
}
