package render

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	validatecr "github.com/kialiauth/kiali-auth-proxy-operator/internal/validate"
)

// managedFlags must each appear exactly once on the proxy's command line,
// whatever the spec says.
var managedFlags = []string{
	"-provider", "-http-address", "-https-address", "-upstream", "-upstream-ca",
	"-openshift-service-account", "-openshift-sar", "-openshift-ca", "-email-domain",
	"-cookie-secret-file", "-cookie-expire", "-cookie-refresh", "-cookie-samesite", "-cookie-secure",
}

// fuzzKAP builds a KialiAuthProxy from fuzzed values and keeps it only if the
// CRD (schema and CEL rules, evaluated as the API server would) accepts it:
// the fuzzers explore what users can actually store.
func fuzzKAP(t *testing.T, name, host, gateway, version, annKey, annVal, sarVerb, sarResource, extraArg, overrides string, replicas uint8, tlsOff, route bool) *meshv1alpha1.KialiAuthProxy {
	exposure := map[string]any{"host": host}
	if route {
		exposure["route"] = map[string]any{}
	} else {
		exposure["virtualService"] = map[string]any{"gateways": []any{gateway}}
	}
	proxy := map[string]any{
		"replicas":             int64(replicas),
		"subjectAccessReviews": []any{map[string]any{"verb": sarVerb, "resource": sarResource}},
		"tls":                  map[string]any{"enabled": !tlsOff},
	}
	if extraArg != "" {
		proxy["extraArgs"] = []any{extraArg}
	}
	kiali := map[string]any{"version": version}
	if annKey != "" {
		kiali["podAnnotations"] = map[string]any{annKey: annVal}
	}
	if overrides != "" {
		var o any
		if json.Unmarshal([]byte(overrides), &o) != nil {
			return nil
		}
		kiali["overrides"] = o
	}
	obj := map[string]any{
		"apiVersion": "mesh.kialiauth.io/v1alpha1",
		"kind":       "KialiAuthProxy",
		"metadata":   map[string]any{"name": name, "namespace": "fuzz"},
		"spec":       map[string]any{"kiali": kiali, "proxy": proxy, "exposure": exposure},
	}
	errs, err := validatecr.Object(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		return nil
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := json.Unmarshal(raw, kap); err != nil {
		t.Fatalf("a valid object does not decode: %v", err)
	}
	return kap
}

// Any KialiAuthProxy the API server accepts renders, twice the same, into
// objects with valid names, labels and annotations, with every managed
// proxy flag exactly once and Kiali anonymous inside the mesh.
func FuzzRender(f *testing.F) {
	f.Add("kiali", "kiali.mesh.apps.north.example.com", "istio-system/mesh-apps-gateway", "default", "", "", "get", "pods", "", "", uint8(1), false, false)
	f.Add("console", "kiali.example.com", "mesh/gw", "v2.4", "example.com/team", "a", "list", "services", "-skip-provider-button", `{"deployment":{"pod_labels":null}}`, uint8(3), true, true)
	f.Fuzz(func(t *testing.T, name, host, gateway, version, annKey, annVal, sarVerb, sarResource, extraArg, overrides string, replicas uint8, tlsOff, route bool) {
		kap := fuzzKAP(t, name, host, gateway, version, annKey, annVal, sarVerb, sarResource, extraArg, overrides, replicas, tlsOff, route)
		if kap == nil {
			return
		}
		in := Inputs{SessionSecret: SecretKey{Name: NamesFor(kap).SessionSecret, Key: "session_secret"}, InputsChecksum: "sha256:x"}
		objs := Render(kap, in)
		first, err := YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		again, err := YAML(Render(kap, in))
		if err != nil || !bytes.Equal(first, again) {
			t.Fatalf("render is not stable (%v)", err)
		}
		for _, o := range objs {
			checkObjectMeta(t, o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), o.GetLabels(), o.GetAnnotations())
		}
		d := Deployment(kap.WithDefaults(""), NamesFor(kap.WithDefaults("")), in)
		checkObjectMeta(t, "pod template", "pod", d.Spec.Template.Labels, d.Spec.Template.Annotations)
		checkManagedFlags(t, d.Spec.Template.Spec.Containers[0].Args)

		spec := Kiali(kap.WithDefaults(""), NamesFor(kap.WithDefaults(""))).Object["spec"].(map[string]any)
		if spec["auth"].(map[string]any)["strategy"] != "anonymous" {
			t.Fatalf("Kiali is not anonymous: %v", spec["auth"])
		}
		ann := spec["deployment"].(map[string]any)["pod_annotations"].(map[string]any)
		if ann[SidecarInjectKey] != "true" {
			t.Fatalf("Kiali is not injected: %v", ann)
		}
		kialiAnn := map[string]string{}
		for k, v := range ann {
			s, ok := v.(string)
			if !ok {
				t.Fatalf("Kiali pod annotation %q is %T", k, v)
			}
			kialiAnn[k] = s
		}
		checkObjectMeta(t, "Kiali pod", "kiali", nil, kialiAnn)
	})
}

// Whatever extra arguments the API server accepts, they never repeat or
// override a flag the operator manages, nor set -pass-basic-auth.
func FuzzProxyArgs(f *testing.F) {
	f.Add("-skip-provider-button", false)
	f.Add("--upstream=http://elsewhere", true)
	f.Add("-pass-basic-auth=false", false)
	f.Add("-cookie-secure=false", true)
	f.Fuzz(func(t *testing.T, extraArg string, tlsOff bool) {
		kap := fuzzKAP(t, "kiali", "kiali.example.com", "istio-system/gw", "default", "", "", "get", "pods", extraArg, "", 1, tlsOff, false)
		if kap == nil {
			return
		}
		d := kap.WithDefaults("")
		checkManagedFlags(t, ProxyArgs(d, NamesFor(d), Inputs{SessionSecret: SecretKey{Name: "s", Key: "k"}}))
	})
}

func checkManagedFlags(t *testing.T, args []string) {
	t.Helper()
	count := map[string]int{}
	for _, a := range args {
		flag, _, _ := strings.Cut(a, "=")
		flag = "-" + strings.TrimLeft(flag, "-")
		count[flag]++
		if flag == "-pass-basic-auth" {
			t.Fatalf("-pass-basic-auth on the command line: %v", args)
		}
	}
	for _, f := range managedFlags {
		if count[f] != 1 {
			t.Fatalf("%s appears %d times in %v", f, count[f], args)
		}
	}
}

func checkObjectMeta(t *testing.T, kind, name string, labels, annotations map[string]string) {
	t.Helper()
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		t.Fatalf("%s name %q: %v", kind, name, errs)
	}
	switch kind {
	case "Service", "Deployment", "ServiceAccount":
		if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
			t.Fatalf("%s name %q: %v", kind, name, errs)
		}
	}
	for k, v := range labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Fatalf("%s label %q=%q: %v", kind, k, v, errs)
		}
	}
	size := 0
	for k, v := range annotations {
		if errs := validation.IsQualifiedName(strings.ToLower(k)); len(errs) > 0 {
			t.Fatalf("%s annotation %q: %v", kind, k, errs)
		}
		size += len(k) + len(v)
	}
	if size > 256*1024 {
		t.Fatalf("%s annotations are %d bytes", kind, size)
	}
}

// The fuzzers skip what the CRD rejects; make sure that gate lets valid
// specs through and stops invalid ones, so the fuzzers are not vacuous.
func TestFuzzGate(t *testing.T) {
	if fuzzKAP(t, "kiali", "kiali.mesh.apps.north.example.com", "istio-system/mesh-apps-gateway", "default", "", "", "get", "pods", "", "", 1, false, false) == nil {
		t.Error("the reference spec is rejected")
	}
	if fuzzKAP(t, "console", "kiali.example.com", "mesh/gw", "v2.4", "example.com/team", "a", "list", "services", "-skip-provider-button", `{"deployment":{"pod_labels":null}}`, 3, true, true) == nil {
		t.Error("a valid v2 spec with a Route is rejected")
	}
	for _, bad := range []string{"--upstream=http://elsewhere", "-pass-basic-auth=false", "not-a-flag"} {
		if fuzzKAP(t, "kiali", "kiali.example.com", "istio-system/gw", "default", "", "", "get", "pods", bad, "", 1, false, false) != nil {
			t.Errorf("extra argument %q is accepted", bad)
		}
	}
	if fuzzKAP(t, "kiali", "kiali.example.com", "istio-system/gw", "default", "Bad Key", "x", "get", "pods", "", "", 1, false, false) != nil {
		t.Error("an invalid pod annotation name is accepted")
	}
}
