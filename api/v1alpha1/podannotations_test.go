package v1alpha1

import (
	"slices"
	"strings"
	"testing"
)

// podAnnotationErrors validates a minimal KialiAuthProxy with the given
// pod annotations against the CRD's schema and CEL rules and returns the
// messages.
func podAnnotationErrors(t *testing.T, annotations map[string]string) []string {
	t.Helper()
	ann := map[string]any{}
	for k, v := range annotations {
		ann[k] = v
	}
	return specErrors(t, "kiali", map[string]any{"podAnnotations": ann})
}

// protectedExamples are keys an entry covers: the key itself, or for a
// family two of its members.
func protectedExamples(a ProtectedPodAnnotation) []string {
	if strings.HasSuffix(a.Key, "/") {
		return []string{a.Key + "excludeInboundPorts", a.Key + "x"}
	}
	return []string{a.Key}
}

// Every entry of ProtectedPodAnnotations is refused by the CRD, evaluated
// as the API server would, with the message of its group, which names it;
// the renderer's check agrees.
func TestEveryProtectedPodAnnotationIsRefused(t *testing.T) {
	for _, a := range ProtectedPodAnnotations {
		msg := a.Message()
		name := a.Key
		if strings.HasSuffix(name, "/") {
			name += "*"
		}
		if !strings.Contains(msg, " "+name+",") && !strings.Contains(msg, " "+name+" ") && !strings.Contains(msg, " "+name+":") {
			t.Errorf("the message for %s does not name it: %s", a.Key, msg)
		}
		for _, key := range protectedExamples(a) {
			if got, ok := RefusedPodAnnotation(key); !ok || got != a {
				t.Errorf("RefusedPodAnnotation(%q) is %v, %t", key, got, ok)
			}
			errs := podAnnotationErrors(t, map[string]string{key: "x", "example.com/team": "mesh"})
			if len(errs) != 1 || !strings.HasSuffix(errs[0], msg) {
				t.Errorf("%s: got %q, want one error ending in %q", key, errs, msg)
			}
		}
	}
}

// Keys near the protected ones, which Istio does not read, pass the CRD and
// the renderer's check alike: the rules and PodAnnotationProtected are
// the same list.
func TestNeighboursOfProtectedPodAnnotationsAreAccepted(t *testing.T) {
	for _, key := range []string{
		"example.com/team",
		"team",
		"sidecar.istio.io/rewriteAppHTTPProbers",
		"sidecar.istio.io/logLevel",
		"readiness.status.sidecar.istio.io/periodSeconds",
		"istio.io/rev",
		"proxy.istio.io/overrides",
		"traffic.sidecar.istio.io",
	} {
		if PodAnnotationProtected(key) {
			t.Errorf("PodAnnotationProtected(%q) is true", key)
		}
		if errs := podAnnotationErrors(t, map[string]string{key: "x"}); len(errs) > 0 {
			t.Errorf("%s is refused: %v", key, errs)
		}
	}
}

// The annotations the operator puts on the Kiali pod are protected: a
// user's value would otherwise replace the operator's.
func TestOperatorsPodAnnotationsAreProtected(t *testing.T) {
	for _, key := range []string{SidecarInjectAnnotation, ProxyConfigAnnotation} {
		if !PodAnnotationProtected(key) {
			t.Errorf("%s is not in ProtectedPodAnnotations", key)
		}
	}
}

// The CRD holds the rules derived from ProtectedPodAnnotations, after the
// one on the keys' form: a CRD generated before the list changed would
// enforce the old one.
func TestCRDCarriesThePodAnnotationRules(t *testing.T) {
	crd := loadCRD(t)
	kiali := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["kiali"]
	ann, ok := kiali.Properties["podAnnotations"]
	if !ok || len(ann.XValidations) == 0 {
		t.Fatal("no spec.kiali.podAnnotations rules in the CRD")
	}
	var got []PodAnnotationRule
	for _, r := range ann.XValidations[1:] {
		got = append(got, PodAnnotationRule{Rule: r.Rule, Message: r.Message})
	}
	if want := PodAnnotationRules(); !slices.Equal(got, want) {
		t.Errorf("the CRD's podAnnotations rules are not those of the list: run make generate manifests\n got: %v\nwant: %v", got, want)
	}
	if ann.MaxProperties == nil || *ann.MaxProperties != 64 {
		t.Error("spec.kiali.podAnnotations lost its bound, which bounds the rules' cost")
	}
}
