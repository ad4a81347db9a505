package render

import (
	"slices"
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
