package render

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"

	"k8s.io/apimachinery/pkg/util/validation"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	validatecr "github.com/kialiauth/kiali-auth-proxy-operator/internal/validate"
)

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
// objects with valid names, labels and annotations, with the managed proxy
// flags as meshv1alpha1.ManagedProxyFlags says, and Kiali anonymous inside
// the mesh with no protected pod annotation but the operator's.
func FuzzRender(f *testing.F) {
	f.Add("kiali", "kiali.mesh.apps.north.example.com", "istio-system/mesh-apps-gateway", "default", "", "", "get", "pods", "", "", uint8(1), false, false)
	f.Add("console", "kiali.example.com", "mesh/gw", "v2.4", "example.com/team", "a", "list", "services", "-upstream-timeout=2m", `{"deployment":{"pod_labels":null}}`, uint8(3), true, true)
	f.Add("kiali", "kiali.example.com", "mesh/gw", "latest", "", "", "get", "pods", "", `{"deployment":{"pod_annotations":{"traffic.sidecar.istio.io/excludeInboundPorts":"20001","proxy.istio.io/config":"{}"}}}`, uint8(1), false, false)
	f.Fuzz(func(t *testing.T, name, host, gateway, version, annKey, annVal, sarVerb, sarResource, extraArg, overrides string, replicas uint8, tlsOff, route bool) {
		kap := fuzzKAP(t, name, host, gateway, version, annKey, annVal, sarVerb, sarResource, extraArg, overrides, replicas, tlsOff, route)
		if kap == nil {
			return
		}
		in := Inputs{SessionSecret: SecretKey{Name: NamesFor(kap).SessionSecret, Key: "session_secret"}, InputsChecksum: "sha256:x"}
		objs := Objects(kap, in)
		first, err := apply.YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		again, err := apply.YAML(Objects(kap, in))
		if err != nil || !bytes.Equal(first, again) {
			t.Fatalf("render is not stable (%v)", err)
		}
		for _, o := range objs {
			checkObjectMeta(t, o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), o.GetLabels(), o.GetAnnotations())
		}
		d := Deployment(kap.WithDefaults(""), NamesFor(kap.WithDefaults("")), in)
		checkObjectMeta(t, "pod template", "pod", d.Spec.Template.Labels, d.Spec.Template.Annotations)
		checkManagedFlags(t, kap.WithDefaults(""), in, d.Spec.Template.Spec.Containers[0].Args)

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
			if own, mesh := MeshPodAnnotations()[k]; meshv1alpha1.PodAnnotationProtected(k) && (!mesh || s != own) {
				t.Fatalf("the protected annotation %s=%q reaches the Kiali pod", k, s)
			}
			kialiAnn[k] = s
		}
		checkObjectMeta(t, "Kiali pod", "kiali", nil, kialiAnn)
	})
}

// Whatever extra arguments the API server accepts, they only set flags of
// meshv1alpha1.AllowedProxyFlags: they never repeat or override a flag the
// operator manages.
func FuzzProxyArgs(f *testing.F) {
	for _, fl := range meshv1alpha1.AllowedProxyFlags {
		f.Add("-"+fl.Name, false)
		f.Add("--"+fl.Name+"=30s", true)
		f.Add("-"+fl.Name+"=false", false)
	}
	for _, fl := range meshv1alpha1.ManagedProxyFlags {
		f.Add("-"+fl.Name, false)
		f.Add("--"+fl.Name+"=x", true)
	}
	f.Add("-config=/etc/proxy/htpasswd/htpasswd", false)
	f.Fuzz(func(t *testing.T, extraArg string, tlsOff bool) {
		kap := fuzzKAP(t, "kiali", "kiali.example.com", "istio-system/gw", "default", "", "", "get", "pods", extraArg, "", 1, tlsOff, false)
		if kap == nil {
			return
		}
		d := kap.WithDefaults("")
		in := Inputs{SessionSecret: SecretKey{Name: "s", Key: "k"}}
		checkManagedFlags(t, d, in, ProxyArgs(d, NamesFor(d), in))
	})
}

// checkManagedFlags checks the rendered command line args of kap: the flags
// the operator renders for kap without extra arguments come first, are left
// as they are and are all managed flags; each managed flag appears at most
// once, and those marked Always exactly once; the extra arguments set
// allowed flags only.
func checkManagedFlags(t *testing.T, kap *meshv1alpha1.KialiAuthProxy, in Inputs, args []string) {
	t.Helper()
	bare := kap.DeepCopy()
	bare.Spec.Proxy.ExtraArgs = nil
	own := ProxyArgs(bare, NamesFor(bare), in)
	if len(args) < len(own) || !slices.Equal(args[:len(own)], own) {
		t.Fatalf("extra arguments changed the operator's own flags: %v, want %v first", args, own)
	}
	for _, a := range own {
		if _, ok := managedFlag(flagName(a)); !ok {
			t.Fatalf("the operator renders %q, but -%s is not in meshv1alpha1.ManagedProxyFlags, so the extraArgs rules do not refuse it with a message and nothing checks it stays the operator's", a, flagName(a))
		}
	}
	count := map[string]int{}
	for _, a := range args {
		count[flagName(a)]++
	}
	for _, f := range meshv1alpha1.ManagedProxyFlags {
		switch {
		case f.Always && count[f.Name] != 1:
			t.Fatalf("-%s is always rendered, but appears %d times in %v", f.Name, count[f.Name], args)
		case count[f.Name] > 1:
			t.Fatalf("-%s appears %d times in %v", f.Name, count[f.Name], args)
		}
	}
	for _, a := range args[len(own):] {
		name := flagName(a)
		if !slices.ContainsFunc(meshv1alpha1.AllowedProxyFlags, func(f meshv1alpha1.ProxyFlag) bool { return f.Name == name }) {
			t.Fatalf("extra argument %q sets -%s, which is not an allowed flag", a, name)
		}
	}
}

// flagName is the name of the flag an argument sets, without dashes.
func flagName(arg string) string {
	name, _, _ := strings.Cut(arg, "=")
	return strings.TrimLeft(name, "-")
}

// managedFlag is the entry of meshv1alpha1.ManagedProxyFlags for a flag name.
func managedFlag(name string) (meshv1alpha1.ManagedProxyFlag, bool) {
	i := slices.IndexFunc(meshv1alpha1.ManagedProxyFlags, func(f meshv1alpha1.ManagedProxyFlag) bool { return f.Name == name })
	if i < 0 {
		return meshv1alpha1.ManagedProxyFlag{}, false
	}
	return meshv1alpha1.ManagedProxyFlags[i], true
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
	if fuzzKAP(t, "console", "kiali.example.com", "mesh/gw", "v2.4", "example.com/team", "a", "list", "services", "-upstream-timeout=2m", `{"deployment":{"pod_labels":null}}`, 3, true, true) == nil {
		t.Error("a valid v2 spec with a Route is rejected")
	}
	for _, bad := range []string{"--upstream=http://elsewhere", "-pass-basic-auth=false", "-skip-provider-button", "-upstream-timeout", "-config=/x", "not-a-flag"} {
		if fuzzKAP(t, "kiali", "kiali.example.com", "istio-system/gw", "default", "", "", "get", "pods", bad, "", 1, false, false) != nil {
			t.Errorf("extra argument %q is accepted", bad)
		}
	}
	if fuzzKAP(t, "kiali", "kiali.example.com", "istio-system/gw", "default", "Bad Key", "x", "get", "pods", "", "", 1, false, false) != nil {
		t.Error("an invalid pod annotation name is accepted")
	}
}
