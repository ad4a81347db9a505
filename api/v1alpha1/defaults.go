package v1alpha1

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Defaults that are not derived from the object's name. Names derived from
// metadata.name are decided in internal/render/names.go.
const (
	DefaultKialiVersion      = "default"
	DefaultKialiInstanceName = "kiali"
	DefaultIstioNamespace    = "istio-system"
	DefaultHtpasswdKey       = "auth"
	DefaultSessionSecretKey  = "session_secret"

	// DefaultProxyImage is used when neither spec.proxy.image nor the
	// operator's RELATED_IMAGE_OAUTH_PROXY environment variable is set.
	DefaultProxyImage = "quay.io/openshift/origin-oauth-proxy:4.18"
)

// WithDefaults returns a copy of the object with every unset field that has
// a default filled in. proxyImage is the operator-wide default image (from
// RELATED_IMAGE_OAUTH_PROXY); empty means DefaultProxyImage. Defaults that
// depend on the object's name are left to the renderer's names.
func (in *KialiAuthProxy) WithDefaults(proxyImage string) *KialiAuthProxy {
	out := in.DeepCopy()
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

	p := &out.Spec.Proxy
	if p.Image == "" {
		p.Image = proxyImage
	}
	if p.Image == "" {
		p.Image = DefaultProxyImage
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
	if p.Htpasswd != nil && p.Htpasswd.Key == "" {
		p.Htpasswd.Key = DefaultHtpasswdKey
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
	return out
}

// LayoutForVersion is the Kiali CR field layout a spec.version implies.
// "default" maps to v1.73 because the OpenShift Service Mesh 2.x Kiali
// operator installs v1.73 for it; a Kiali v2 operator user sets Layout.
func LayoutForVersion(version string) KialiLayout {
	if version == "latest" {
		return KialiLayoutV2
	}
	if major, ok := strings.CutPrefix(version, "v"); ok {
		major, _, _ = strings.Cut(major, ".")
		if n, err := strconv.Atoi(major); err == nil && n >= 2 {
			return KialiLayoutV2
		}
	}
	return KialiLayoutV173
}

// KialiInstanceName is the name of the Kiali Deployment and Service.
func (s *KialiSpec) KialiInstanceName() string {
	if s.InstanceName != "" {
		return s.InstanceName
	}
	return DefaultKialiInstanceName
}

// TLSEnabled reports whether the proxy's HTTPS listener is on.
func (s *ProxySpec) TLSEnabled() bool {
	return s.TLS == nil || s.TLS.Enabled == nil || *s.TLS.Enabled
}
