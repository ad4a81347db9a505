package v1alpha1

import (
	"reflect"
	"testing"
)

func TestLayoutForVersion(t *testing.T) {
	for version, want := range map[string]KialiLayout{
		"default": KialiLayoutV173,
		"v1.73":   KialiLayoutV173,
		"v1.73.8": KialiLayoutV173,
		"v1.x":    KialiLayoutV173,
		"v2.4":    KialiLayoutV2,
		"v2.x":    KialiLayoutV2,
		"v3.0":    KialiLayoutV2,
		"latest":  KialiLayoutV2,
	} {
		if got := LayoutForVersion(version); got != want {
			t.Errorf("LayoutForVersion(%q) = %q, want %q", version, got, want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	in := &KialiAuthProxy{Spec: KialiAuthProxySpec{
		Proxy: ProxySpec{
			Htpasswd:      &HtpasswdSpec{Name: "htpasswd"},
			SessionSecret: &SecretKeyReference{Name: "session"},
		},
	}}
	before := in.DeepCopy()
	d := in.WithDefaults("")
	if !reflect.DeepEqual(in, before) {
		t.Fatal("WithDefaults modified its receiver")
	}
	k, p := d.Spec.Kiali, d.Spec.Proxy
	for name, got := range map[string]any{
		"kiali.version":         k.Version,
		"kiali.layout":          k.Layout,
		"kiali.istioNamespace":  k.IstioNamespace,
		"proxy.image":           p.Image,
		"proxy.replicas":        *p.Replicas,
		"proxy.htpasswd.key":    p.Htpasswd.Key,
		"proxy.sessionSecret":   p.SessionSecret.Key,
		"proxy.tls.enabled":     *p.TLS.Enabled,
		"proxy.sar":             p.SubjectAccessReviews,
		"proxy.cookie.expire":   p.Cookie.Expire.Duration.String(),
		"proxy.cookie.refresh":  p.Cookie.Refresh == nil,
		"proxy.requestLogging":  *p.RequestLogging,
		"lockDown":              *d.Spec.MeshSecurity.LockDown,
		"trustDomain":           d.Spec.MeshSecurity.TrustDomain,
		"kiali.instance (name)": k.KialiInstanceName(),
	} {
		want := map[string]any{
			"kiali.version":         "default",
			"kiali.layout":          KialiLayoutV173,
			"kiali.istioNamespace":  "istio-system",
			"proxy.image":           DefaultProxyImage,
			"proxy.replicas":        int32(1),
			"proxy.htpasswd.key":    "auth",
			"proxy.sessionSecret":   "session_secret",
			"proxy.tls.enabled":     true,
			"proxy.sar":             []SubjectAccessReview{{Namespace: "istio-system", Resource: "pods", Verb: "get"}},
			"proxy.cookie.expire":   "8h0m0s",
			"proxy.cookie.refresh":  true,
			"proxy.requestLogging":  true,
			"lockDown":              true,
			"trustDomain":           "cluster.local",
			"kiali.instance (name)": "kiali",
		}[name]
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if p.Resources == nil || p.Resources.Limits.Memory().IsZero() {
		t.Error("no default resources")
	}
}

func TestWithDefaultsPrecedence(t *testing.T) {
	in := &KialiAuthProxy{}
	if got := in.WithDefaults("mirror.example.com/oauth-proxy:1").Spec.Proxy.Image; got != "mirror.example.com/oauth-proxy:1" {
		t.Errorf("the operator's image default was not used: %s", got)
	}
	in.Spec.Proxy.Image = "mine:1"
	if got := in.WithDefaults("mirror.example.com/oauth-proxy:1").Spec.Proxy.Image; got != "mine:1" {
		t.Errorf("spec.proxy.image was overridden: %s", got)
	}
	in.Spec.Kiali.Version = "default"
	in.Spec.Kiali.Layout = KialiLayoutV2
	if got := in.WithDefaults("").Spec.Kiali.Layout; got != KialiLayoutV2 {
		t.Errorf("spec.kiali.layout was overridden: %s", got)
	}
	off := false
	in.Spec.Proxy.TLS = &ProxyTLSSpec{Enabled: &off}
	if in.WithDefaults("").Spec.Proxy.TLSEnabled() {
		t.Error("spec.proxy.tls.enabled=false was overridden")
	}
}
