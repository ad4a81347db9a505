package controller

import (
	"strings"
	"testing"

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
	if len(ps) != 1 || ps[0].reason != ReasonOverrideIgnored {
		t.Fatalf("problems %v, want one %s", ps, ReasonOverrideIgnored)
	}
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment":{"pod_annotations":{"sidecar.istio.io/inject":"false","team":"a"},"pod_labels":{"sidecar.istio.io/inject":"true"}}}`)}
	ps = specProblems(kap)
	if len(ps) != 1 || !strings.Contains(ps[0].message, `pod_annotations["sidecar.istio.io/inject"] is ignored`) {
		t.Fatalf("problems %v, want one for the injection annotation", ps)
	}
}
