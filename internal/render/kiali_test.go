package render

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

func renderedKialiSpec(t *testing.T, kap *meshv1alpha1.KialiAuthProxy) map[string]any {
	t.Helper()
	d := kap.WithDefaults("")
	return Kiali(d, NamesFor(d)).Object["spec"].(map[string]any)
}

func nested(t *testing.T, m map[string]any, path ...string) any {
	t.Helper()
	v, found, err := unstructured.NestedFieldNoCopy(m, path...)
	if err != nil || !found {
		t.Fatalf("%v not found (%v)", path, err)
	}
	return v
}

func TestKialiOverridesMergeButKeepTheStrategy(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{
		"auth": {"strategy": "token"},
		"deployment": {"replicas": 2, "view_only_mode": true},
		"external_services": {"prometheus": {"url": "http://thanos-querier:9091"}}
	}`)}
	spec := renderedKialiSpec(t, kap)
	if got := nested(t, spec, "auth", "strategy"); got != "anonymous" {
		t.Errorf("auth.strategy = %v: overrides must not change it", got)
	}
	if got := nested(t, spec, "deployment", "replicas"); got != int64(2) {
		t.Errorf("deployment.replicas = %#v, want 2", got)
	}
	if got := nested(t, spec, "deployment", "view_only_mode"); got != true {
		t.Errorf("an override did not replace a rendered value: %v", got)
	}
	if got := nested(t, spec, "deployment", "namespace"); got != "kiali" {
		t.Errorf("merging dropped a rendered sibling: %v", got)
	}
	if got := nested(t, spec, "external_services", "prometheus", "url"); got != "http://thanos-querier:9091" {
		t.Errorf("prometheus url %v", got)
	}
	if got := nested(t, spec, "external_services", "grafana", "url"); got != "https://grafana-istio-system.apps.north.example.com" {
		t.Errorf("merging dropped grafana: %v", got)
	}
}

func TestKialiLayouts(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	kap.Spec.Kiali.Namespaces = []string{"bookinfo"}

	v1 := renderedKialiSpec(t, kap)
	if got := nested(t, v1, "deployment", "accessible_namespaces"); len(got.([]any)) != 1 {
		t.Errorf("v1.73 accessible_namespaces %v", got)
	}
	nested(t, v1, "external_services", "grafana", "in_cluster_url")

	kap.Spec.Kiali.Layout = meshv1alpha1.KialiLayoutV2
	v2 := renderedKialiSpec(t, kap)
	if _, found, _ := unstructured.NestedFieldNoCopy(v2, "deployment", "accessible_namespaces"); found {
		t.Error("v2 layout renders the v1.73 accessible_namespaces")
	}
	if got := nested(t, v2, "deployment", "cluster_wide_access"); got != false {
		t.Errorf("v2 cluster_wide_access %v", got)
	}
	nested(t, v2, "deployment", "discovery_selectors", "default")
	nested(t, v2, "external_services", "grafana", "internal_url")
	nested(t, v2, "external_services", "grafana", "external_url")
	if _, found, _ := unstructured.NestedFieldNoCopy(v2, "external_services", "grafana", "in_cluster_url"); found {
		t.Error("v2 layout renders in_cluster_url")
	}
}

func TestKialiStaysInTheMesh(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	// The CRD rejects these keys; render enforces them all the same.
	kap.Spec.Kiali.PodAnnotations = map[string]string{"sidecar.istio.io/inject": "false", "team": "a"}
	ann := nested(t, renderedKialiSpec(t, kap), "deployment", "pod_annotations").(map[string]any)
	if ann["sidecar.istio.io/inject"] != "true" || ann["proxy.istio.io/config"] != `{ "holdApplicationUntilProxyStarts": true }` || ann["team"] != "a" {
		t.Errorf("pod annotations %v", ann)
	}
}

func TestKialiOverridesCannotTakeKialiOutOfTheMesh(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment": {
		"pod_annotations": {"sidecar.istio.io/inject": "false", "proxy.istio.io/config": "{}", "team": "a"},
		"pod_labels": null}}`)}
	spec := renderedKialiSpec(t, kap)
	ann := nested(t, spec, "deployment", "pod_annotations").(map[string]any)
	if ann["sidecar.istio.io/inject"] != "true" || ann["proxy.istio.io/config"] != `{ "holdApplicationUntilProxyStarts": true }` || ann["team"] != "a" {
		t.Errorf("pod annotations %v", ann)
	}
	labels := nested(t, spec, "deployment", "pod_labels").(map[string]any)
	if labels["sidecar.istio.io/inject"] != "true" || labels[KialiPodLabel] != "kiali" {
		t.Errorf("pod labels %v", labels)
	}
}

func TestKialiClusteringFollowsSpecClusters(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	kap.Spec.Clusters = []meshv1alpha1.ClusterSpec{
		{Name: "east"},
		{Name: "west", KialiSecret: "west-kubeconfig"},
	}
	// An override may not contradict the one list of clusters.
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(
		`{"kiali_feature_flags": {"clustering": {"clusters": [{"name": "stray"}]}}}`)}
	want := []any{
		map[string]any{"name": "east", "secret_name": "kiali-remote-cluster-secret-east"},
		map[string]any{"name": "west", "secret_name": "west-kubeconfig"},
	}
	for _, tc := range []struct {
		layout meshv1alpha1.KialiLayout
		path   []string
	}{
		{meshv1alpha1.KialiLayoutV173, []string{"kiali_feature_flags", "clustering"}},
		{meshv1alpha1.KialiLayoutV2, []string{"clustering"}},
	} {
		kap.Spec.Kiali.Layout = tc.layout
		spec := renderedKialiSpec(t, kap)
		got := nested(t, spec, append(tc.path, "clusters")...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: clusters = %#v, want %#v", tc.layout, got, want)
		}
		if got := nested(t, spec, append(tc.path, "autodetect_secrets", "enabled")...); got != false {
			t.Errorf("%s: autodetect_secrets.enabled = %v, want false", tc.layout, got)
		}
	}
	kap.Spec.Kiali.Layout = meshv1alpha1.KialiLayoutV173
	if ignored := IgnoredOverrides(kap); !reflect.DeepEqual(ignored, []string{"kiali_feature_flags.clustering"}) {
		t.Errorf("ignored overrides = %v", ignored)
	}

	kap.Spec.Clusters = nil
	spec := renderedKialiSpec(t, kap)
	if _, found, _ := unstructured.NestedFieldNoCopy(spec, "kiali_feature_flags", "clustering", "autodetect_secrets"); found {
		t.Error("without spec.clusters the clustering settings are Kiali's (or the overrides') own")
	}
}

// Every protected setting, from the one list: an override of it is
// dropped (the rendered value, or the Kiali operator's default, stays) and
// reported.
func TestProtectedKialiSettingsCannotBeOverridden(t *testing.T) {
	for _, layout := range []meshv1alpha1.KialiLayout{meshv1alpha1.KialiLayoutV173, meshv1alpha1.KialiLayoutV2} {
		kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
		kap.Spec.Kiali.Layout = layout
		kap.Spec.Kiali.Version = "latest"
		kap.Spec.Clusters = []meshv1alpha1.ClusterSpec{{Name: "east"}}
		want := renderedKialiSpec(t, kap)
		settings := ProtectedKialiSettings(kap.WithDefaults(""))
		for _, s := range settings {
			path := strings.Join(s.Path, ".")
			override := map[string]any{}
			setPath(override, "overridden", s.Path...)
			raw, _ := json.Marshal(override)
			kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: raw}
			if got := renderedKialiSpec(t, kap); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: overriding %s changed the Kiali CR", layout, path)
			}
			if ignored := IgnoredOverrides(kap); !slices.Contains(ignored, path) {
				t.Errorf("%s: overriding %s is not reported: %v", layout, path, ignored)
			}
		}
		// The settings found voiding the lock-down or breaking the upstream.
		for _, path := range []string{"deployment.host_network", "identity.cert_file", "identity.private_key_file", "server.web_root",
			"deployment.network_policy.enabled", "deployment.additional_pod_init_containers_yaml", "server.port", "auth"} {
			if !slices.ContainsFunc(settings, func(s ProtectedSetting) bool { return strings.Join(s.Path, ".") == path }) {
				t.Errorf("%s is not protected", path)
			}
		}
	}

}

// protectedAnnotationExamples are keys each entry of
// meshv1alpha1.ProtectedPodAnnotations covers, the operator's own
// annotations left out: the key itself, or a member of its family.
func protectedAnnotationExamples() []string {
	var keys []string
	for _, a := range meshv1alpha1.ProtectedPodAnnotations {
		key := a.Key
		if strings.HasSuffix(key, "/") {
			key += "redirection"
		}
		if _, own := MeshPodAnnotations()[key]; !own {
			keys = append(keys, key)
		}
	}
	return keys
}

// Every protected pod annotation, from the one list, stays off the Kiali
// pod whether it comes from spec.kiali.podAnnotations (stored before the
// rules) or from the overrides, and is reported; the operator's own
// annotations keep their values.
func TestProtectedPodAnnotationsNeverReachKiali(t *testing.T) {
	for key := range MeshPodAnnotations() {
		if !meshv1alpha1.PodAnnotationProtected(key) {
			t.Errorf("the operator sets %s on the Kiali pod, but it is not in meshv1alpha1.ProtectedPodAnnotations", key)
		}
	}
	keys := protectedAnnotationExamples()
	stored := map[string]string{"team": "a"}
	overrides := map[string]any{"team": "b"}
	for key := range MeshPodAnnotations() {
		stored[key] = "x"
		overrides[key] = "x"
	}
	for _, key := range keys {
		stored[key] = "x"
		overrides[key] = "x"
	}
	raw, err := json.Marshal(map[string]any{"deployment": map[string]any{"pod_annotations": overrides}})
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*meshv1alpha1.KialiAuthProxy){
		"podAnnotations": func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.PodAnnotations = stored },
		"overrides":      func(k *meshv1alpha1.KialiAuthProxy) { k.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: raw} },
	} {
		kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
		mutate(kap)
		ann := nested(t, renderedKialiSpec(t, kap), "deployment", "pod_annotations").(map[string]any)
		want := map[string]any{"team": "a"}
		if name == "overrides" {
			want["team"] = "b"
		}
		for k, v := range MeshPodAnnotations() {
			want[k] = v
		}
		if !reflect.DeepEqual(ann, want) {
			t.Errorf("%s: pod annotations %v, want %v", name, ann, want)
		}
		ig := Render(PlanFor(kap, ""), Inputs{}).Ignored
		for _, key := range keys {
			if name == "podAnnotations" && !slices.Contains(ig.PodAnnotations, key) {
				t.Errorf("spec.kiali.podAnnotations %s is not reported: %v", key, ig.PodAnnotations)
			}
			if name == "overrides" && !slices.Contains(ig.Overrides, "deployment.pod_annotations."+key) {
				t.Errorf("the override of %s is not reported: %v", key, ig.Overrides)
			}
		}
	}
}

// kiali-operator v2.17 makes its own NetworkPolicy unless told not to
// (roles/default/kiali-deploy/defaults/main.yml at v2.17.0, not at v2.16.0).
func TestKialiNetworkPolicyOffWhereTheOperatorMayMakeOne(t *testing.T) {
	for _, tc := range []struct {
		version string
		layout  meshv1alpha1.KialiLayout
		off     bool
	}{
		{"latest", "", true},
		{"v2.17", "", true},
		{"v2.17.1", "", true},
		{"v2.22", "", true},
		{"v3.0", "", true},
		{"v2.x", "", true},
		{"default", meshv1alpha1.KialiLayoutV2, true},
		// The operator's version decides, whatever field layout was picked.
		{"v2.20", meshv1alpha1.KialiLayoutV173, true},
		{"latest", meshv1alpha1.KialiLayoutV173, true},
		{"default", "", false},
		{"v2.16", "", false},
		{"v2.4", "", false},
		{"v1.73", "", false},
	} {
		kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
		kap.Spec.Kiali.Version, kap.Spec.Kiali.Layout = tc.version, tc.layout
		v, found, _ := unstructured.NestedBool(renderedKialiSpec(t, kap), "deployment", "network_policy", "enabled")
		if got := found && !v; got != tc.off {
			t.Errorf("%s (layout %q): network_policy.enabled false rendered = %v, want %v", tc.version, tc.layout, got, tc.off)
		}
	}
}

func TestKialiViewOnlyFollowsTheOverrides(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml")
	if KialiViewOnly(kap.WithDefaults("")) {
		t.Error("view-only without asking")
	}
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment": {"view_only_mode": true}}`)}
	if !KialiViewOnly(kap.WithDefaults("")) {
		t.Error("view_only_mode from the overrides is not seen")
	}
}

// An override that gives a protected setting the value the lock-down needs
// anyway is kept, and is no problem.
func TestSafeOverridesOfProtectedSettingsAreKept(t *testing.T) {
	kap := loadSample(t, "mesh_v1alpha1_kialiauthproxy.yaml") // v1.73: no network_policy rendered
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment": {"network_policy": {"enabled": false}, "host_network": false}}`)}
	spec := renderedKialiSpec(t, kap)
	if got := nested(t, spec, "deployment", "network_policy", "enabled"); got != false {
		t.Errorf("network_policy.enabled = %v", got)
	}
	if got := nested(t, spec, "deployment", "host_network"); got != false {
		t.Errorf("host_network = %v", got)
	}
	if ignored := IgnoredOverrides(kap); len(ignored) != 0 {
		t.Errorf("safe overrides reported: %v", ignored)
	}
	kap.Spec.Kiali.Overrides = &apiextensionsv1.JSON{Raw: []byte(`{"deployment": {"network_policy": {"enabled": true}, "host_network": true}}`)}
	if ignored := IgnoredOverrides(kap); !reflect.DeepEqual(ignored, []string{"deployment.host_network", "deployment.network_policy.enabled"}) {
		t.Errorf("unsafe overrides reported as %v", ignored)
	}
}
