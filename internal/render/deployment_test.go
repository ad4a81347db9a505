package render

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

func argsFor(t *testing.T, mutate func(*meshv1alpha1.KialiAuthProxy)) []string {
	t.Helper()
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	mutate(kap)
	d := kap.WithDefaults("")
	return ProxyArgs(d, NamesFor(d), fixedInputs(d))
}

func TestProxyArgsWithTLSOff(t *testing.T) {
	args := argsFor(t, func(k *meshv1alpha1.KialiAuthProxy) {
		off := false
		k.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{Enabled: &off}
	})
	if !slices.Contains(args, "-https-address=") {
		t.Errorf("the HTTPS listener is not turned off: %v", args)
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-tls-") || a == "-https-address=:3001" {
			t.Errorf("%s rendered with TLS off", a)
		}
	}
}

func TestProxyArgsOptionalFlags(t *testing.T) {
	args := argsFor(t, func(k *meshv1alpha1.KialiAuthProxy) {
		k.Spec.Proxy.Htpasswd = nil
		k.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{
			Expire:  &metav1.Duration{Duration: 23 * time.Hour},
			Refresh: &metav1.Duration{Duration: time.Hour},
		}
		k.Spec.Proxy.SubjectAccessReviews = []meshv1alpha1.SubjectAccessReview{
			{Namespace: "istio-system", Resource: "pods", Verb: "get"},
			{Resource: "namespaces", Verb: "list", ResourceName: "bookinfo", ResourceAPIGroup: ""},
		}
		k.Spec.Proxy.ExtraArgs = []string{"-upstream-timeout=2m"}
	})
	for _, want := range []string{
		"-cookie-expire=23h0m0s",
		`-openshift-sar=[{"namespace":"istio-system","resource":"pods","verb":"get"},{"resource":"namespaces","resourceName":"bookinfo","verb":"list"}]`,
		// OpenShift login is the only way in.
		"-skip-provider-button=true",
		"-request-logging=true",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("missing %s in %v", want, args)
		}
	}
	if args[len(args)-1] != "-upstream-timeout=2m" {
		t.Errorf("extra arguments are not appended last: %v", args)
	}
	for _, a := range args {
		// A refresh stored before admission refused it is not rendered:
		// it would end every session (see TestNoSessionEndsAtRefresh).
		if strings.HasPrefix(a, "-cookie-refresh") {
			t.Errorf("%s rendered", a)
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-htpasswd-file") || strings.HasPrefix(a, "-display-htpasswd-form") {
			t.Errorf("%s rendered without htpasswd", a)
		}
	}
}

func TestDeploymentChecksumFollowsInputs(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml").WithDefaults("")
	n := NamesFor(kap)
	in := fixedInputs(kap)
	a := Deployment(kap, n, in).Spec.Template.Annotations[InputsChecksumAnnotation]
	in.InputsChecksum = "sha256:other"
	b := Deployment(kap, n, in).Spec.Template.Annotations[InputsChecksumAnnotation]
	if a == b {
		t.Fatal("the pod template does not change with the inputs checksum")
	}
}

func TestProxyArgsKeepTheProviderButtonWithHtpasswd(t *testing.T) {
	args := argsFor(t, func(*meshv1alpha1.KialiAuthProxy) {})
	for _, a := range args {
		if strings.HasPrefix(a, "-skip-provider-button") {
			t.Errorf("%s rendered while htpasswd logins exist", a)
		}
	}
}

func TestProxyArgsRequestLoggingCanBeTurnedOff(t *testing.T) {
	args := argsFor(t, func(k *meshv1alpha1.KialiAuthProxy) {
		k.Spec.Proxy.RequestLogging = ptr.To(false)
	})
	if !slices.Contains(args, "-request-logging=false") {
		t.Errorf("request logging not turned off: %v", args)
	}
}

// An object stored before the allow list may hold any flag: none of those
// reach oauth-proxy, and the allowed ones still do.
func TestProxyArgsDropStoredFlagsTheAllowListRefuses(t *testing.T) {
	stored := []string{"-config=/etc/proxy/htpasswd/htpasswd", "-cookie-domain=.example.com", "-request-logging=false", "-upstream-timeout=2m", "-footer=<b>x</b>"}
	args := argsFor(t, func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Proxy.ExtraArgs = stored })
	for _, a := range args {
		for _, bad := range []string{"-config", "-cookie-domain", "-request-logging=false", "-footer"} {
			if strings.HasPrefix(a, bad) {
				t.Errorf("%s rendered", a)
			}
		}
	}
	if args[len(args)-1] != "-upstream-timeout=2m" {
		t.Errorf("the allowed extra argument is not rendered last: %v", args)
	}
	if _, dropped := SplitExtraArgs(stored); len(dropped) != 4 {
		t.Errorf("dropped %v", dropped)
	}
}

// proxyArgsSpread are specs that between them take every branch of
// ProxyArgs: TLS on and off, with and without a passthrough certificate, an
// htpasswd Secret, htpasswd users or none, cookie and request-log settings,
// several SubjectAccessReviews, a Route or a VirtualService, a session
// secret of the user's, and extra arguments.
func proxyArgsSpread(t *testing.T) map[string]*meshv1alpha1.KialiAuthProxy {
	t.Helper()
	spread := map[string]*meshv1alpha1.KialiAuthProxy{}
	for _, tls := range []bool{true, false} {
		for _, htpasswd := range []string{"secret", "users", "none"} {
			for _, route := range []bool{false, true} {
				kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
				kap.Spec.Proxy.TLS = &meshv1alpha1.ProxyTLSSpec{Enabled: ptr.To(tls)}
				switch htpasswd {
				case "users":
					kap.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Users: []meshv1alpha1.HtpasswdUser{{Name: "admin", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "admin-password"}}}}
				case "none":
					kap.Spec.Proxy.Htpasswd = nil
				}
				if route {
					kap.Spec.Exposure.VirtualService = nil
					kap.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
				} else if tls {
					kap.Spec.Exposure.VirtualService.Passthrough = &meshv1alpha1.PassthroughSpec{CertificateSecret: meshv1alpha1.SecretReference{Name: "host-cert"}}
				}
				name := "tls=" + strconv.FormatBool(tls) + ",htpasswd=" + htpasswd + ",route=" + strconv.FormatBool(route)
				spread[name] = kap
			}
		}
	}
	tuned := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	tuned.Spec.Proxy.RequestLogging = ptr.To(false)
	tuned.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Expire: &metav1.Duration{Duration: 2 * time.Hour}, Refresh: &metav1.Duration{Duration: time.Hour}}
	tuned.Spec.Proxy.SessionSecret = &meshv1alpha1.SecretKeyReference{Name: "my-session", Key: "secret"}
	tuned.Spec.Proxy.SubjectAccessReviews = []meshv1alpha1.SubjectAccessReview{
		{Namespace: "istio-system", Resource: "pods", Verb: "get"},
		{Resource: "namespaces", Verb: "list", ResourceName: "bookinfo"},
		{Resource: "virtualservices", ResourceAPIGroup: "networking.istio.io", Verb: "patch"},
	}
	tuned.Spec.Proxy.ExtraArgs = []string{"-proxy-websockets=false", "--set-xauthrequest", "-upstream-flush=1s", "-upstream-timeout=2m"}
	spread["tuned"] = tuned
	v2 := loadSample(t, "mesh_v1alpha1_kialiauthproxy_v2.yaml")
	spread["v2 sample"] = v2
	return spread
}

// Every flag the operator renders is in meshv1alpha1.ManagedProxyFlags, so
// the extraArgs rules refuse it with the field to use instead; and a flag
// is marked Always exactly when every spec renders it. A flag added to
// ProxyArgs but not to the list fails here.
func TestProxyArgsRenderOnlyManagedFlags(t *testing.T) {
	spread := proxyArgsSpread(t)
	renderedIn := map[string]int{}
	for name, kap := range spread {
		t.Run(name, func(t *testing.T) {
			d := kap.WithDefaults("")
			in := fixedInputs(d)
			args := ProxyArgs(d, NamesFor(d), in)
			checkManagedFlags(t, d, in, args)
			seen := map[string]bool{}
			for _, a := range args[:len(args)-len(d.Spec.Proxy.ExtraArgs)] {
				seen[flagName(a)] = true
			}
			for f := range seen {
				renderedIn[f]++
			}
		})
	}
	for _, f := range meshv1alpha1.ManagedProxyFlags {
		switch every := renderedIn[f.Name] == len(spread); {
		case f.Always && !every:
			t.Errorf("-%s is marked Always but is rendered for %d of %d specs", f.Name, renderedIn[f.Name], len(spread))
		case !f.Always && every:
			t.Errorf("-%s is rendered for every spec: mark it Always in meshv1alpha1.ManagedProxyFlags", f.Name)
		}
	}
}
