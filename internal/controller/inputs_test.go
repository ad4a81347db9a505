package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

func TestSpecProblems(t *testing.T) {
	kap := testKAP()
	if ps := specProblems(kap); len(ps) != 0 {
		t.Fatalf("problems for a valid spec: %v", ps)
	}
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment":{"replicas":2}}`)}
	if ps := specProblems(kap); len(ps) != 0 {
		t.Fatalf("problems for a harmless override: %v", ps)
	}
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"auth":{"strategy":"token"}}`)}
	ps := specProblems(kap)
	if len(ps) != 1 || ps[0].Reason != meshv1alpha1.ReasonOverrideIgnored {
		t.Fatalf("problems %v, want one %s", ps, meshv1alpha1.ReasonOverrideIgnored)
	}
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment":{"namespace":"elsewhere","ingress":{"enabled":true},
		"pod_annotations":{"sidecar.istio.io/inject":"false","traffic.sidecar.istio.io/excludeInboundPorts":"20001","team":"a"},
		"pod_labels":{"sidecar.istio.io/inject":"true"}},"server":{"port":8080}}`)}
	ps = specProblems(kap)
	if len(ps) != 1 {
		t.Fatalf("problems %v, want one", ps)
	}
	for _, path := range []string{"deployment.namespace", "deployment.pod_annotations.sidecar.istio.io/inject",
		"deployment.pod_annotations.traffic.sidecar.istio.io/excludeInboundPorts", "server.port"} {
		if !strings.Contains(ps[0].Message, path) {
			t.Errorf("%q is not reported: %s", path, ps[0].Message)
		}
	}
	for _, fine := range []string{"pod_labels", "team"} {
		if strings.Contains(ps[0].Message, fine) {
			t.Errorf("%q reported though it changes nothing protected: %s", fine, ps[0].Message)
		}
	}
}

func TestSpecProblemsReportStoredSettingsNoLongerRendered(t *testing.T) {
	kap := testKAP()
	kap.Spec.Proxy.ExtraArgs = []string{"-client-secret=hunter2", "-upstream-timeout=2m"}
	kap.Spec.Proxy.Cookie = &meshv1alpha1.CookieSpec{Refresh: &metav1.Duration{Duration: time.Hour}}
	kap.Spec.Kiali.PodAnnotations = map[string]string{"traffic.sidecar.istio.io/excludeInboundPorts": "20001", "example.com/team": "mesh"}
	got := map[string]string{}
	for _, p := range specProblems(kap.WithDefaults("")) {
		got[p.Reason] = p.Message
	}
	if msg := got[meshv1alpha1.ReasonExtraArgsIgnored]; !strings.Contains(msg, "-client-secret") || strings.Contains(msg, "hunter2") || strings.Contains(msg, "upstream-timeout") {
		t.Errorf("ExtraArgsIgnored: %q", msg)
	}
	if msg := got[meshv1alpha1.ReasonPodAnnotationsIgnored]; !strings.Contains(msg, "traffic.sidecar.istio.io/excludeInboundPorts") || strings.Contains(msg, "20001") || strings.Contains(msg, "example.com/team") {
		t.Errorf("PodAnnotationsIgnored: %q", msg)
	}
	if msg := got[meshv1alpha1.ReasonCookieRefreshIgnored]; !strings.Contains(msg, "1h0m0s") || !strings.Contains(msg, "8h0m0s") {
		t.Errorf("CookieRefreshIgnored: %q", msg)
	}
}

// specProblems are the problems the status reports for what render left
// out of kap.
func specProblems(kap *meshv1alpha1.KialiAuthProxy) []conditions.Problem {
	plan := render.PlanFor(kap, "")
	return ignoredProblems(plan.KAP, render.Render(plan, render.Inputs{}).Ignored)
}
