package render

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// KialiGVK is the Kiali operator's custom resource.
var KialiGVK = schema.GroupVersionKind{Group: "kiali.io", Version: "v1alpha1", Kind: "Kiali"}

// kialiSpec is the Kiali CR's spec: the anonymous strategy (the proxy in
// front does authentication and authorization), the pod injected into the
// mesh so that mesh policy can admit only the proxy, and the external
// services. Field names follow the layout of the Kiali version; only what
// the user set is written, so the Kiali operator's own defaults apply to
// everything else. It also returns the override paths it refused.
func kialiSpec(kap *meshv1alpha1.KialiAuthProxy, n Names) (map[string]any, []string) {
	k := &kap.Spec.Kiali
	v2 := k.Layout == meshv1alpha1.KialiLayoutV2
	spec := map[string]any{
		"version":         k.Version,
		"istio_namespace": k.IstioNamespace,
		"auth":            map[string]any{"strategy": "anonymous"},
	}

	podAnnotations := map[string]any{}
	for key, v := range k.PodAnnotations {
		podAnnotations[key] = v
	}
	for key, v := range MeshPodAnnotations() {
		podAnnotations[key] = v
	}
	podLabels := map[string]any{}
	for key, v := range MeshPodLabels(kap) {
		podLabels[key] = v
	}
	setPath(spec, podAnnotations, "deployment", "pod_annotations")
	setPath(spec, podLabels, "deployment", "pod_labels")
	if kap.Spec.LockDownEnabled() && ingressCanBeDisabled(k) {
		// Kiali is reached only through the proxy: no Route or Ingress of its
		// own. Before v2.4 the Kiali operator fails on OpenShift when ingress
		// is disabled (it waits for a Route that never comes), so older
		// versions keep their default and rely on the lock-down policies,
		// which refuse the router because it has no mesh identity.
		setPath(spec, false, "deployment", "ingress", "enabled")
	}
	setPath(spec, n.Namespace, "deployment", "namespace")
	if k.InstanceName != "" {
		setPath(spec, k.InstanceName, "deployment", "instance_name")
	}
	if k.ViewOnlyMode != nil {
		setPath(spec, *k.ViewOnlyMode, "deployment", "view_only_mode")
	}
	if len(k.Namespaces) > 0 {
		if v2 {
			// v2 replaced accessible_namespaces with label selectors.
			setPath(spec, false, "deployment", "cluster_wide_access")
			setPath(spec, []any{map[string]any{
				"matchExpressions": []any{map[string]any{
					"key":      "kubernetes.io/metadata.name",
					"operator": "In",
					"values":   toAnySlice(k.Namespaces),
				}},
			}}, "deployment", "discovery_selectors", "default")
		} else {
			setPath(spec, toAnySlice(k.Namespaces), "deployment", "accessible_namespaces")
		}
	}

	if g := k.Grafana; g != nil {
		if g.Enabled != nil {
			setPath(spec, *g.Enabled, "external_services", "grafana", "enabled")
		}
		internal, external := "in_cluster_url", "url"
		if v2 {
			internal, external = "internal_url", "external_url"
		}
		if g.InClusterURL != "" {
			setPath(spec, g.InClusterURL, "external_services", "grafana", internal)
		}
		if g.ExternalURL != "" {
			setPath(spec, g.ExternalURL, "external_services", "grafana", external)
		}
	}
	if i := k.Istio; i != nil {
		for key, v := range map[string]string{
			"config_map_name":                        i.ConfigMapName,
			"istio_sidecar_injector_config_map_name": i.SidecarInjectorConfigMapName,
			"istiod_deployment_name":                 i.IstiodDeploymentName,
			"url_service_version":                    i.URLServiceVersion,
		} {
			if v != "" {
				setPath(spec, v, "external_services", "istio", key)
			}
		}
	}
	if p := k.Prometheus; p != nil {
		setPath(spec, p.URL, "external_services", "prometheus", "url")
	}
	if t := k.Tracing; t != nil {
		setPath(spec, t.Enabled, "external_services", "tracing", "enabled")
	}
	if len(kap.Spec.Clusters) > 0 {
		setPath(spec, kialiClustering(kap.Spec.Clusters), clusteringPath(v2)...)
	}

	// Overrides come last, but cannot undo what keeps Kiali anonymous,
	// inside the mesh and behind the proxy.
	rendered := deepCopyMap(spec)
	mergeInto(spec, overridesOf(k))
	ignored := restoreProtected(spec, rendered, kap)
	return spec, ignored
}

// kialiClustering lists the remote clusters with their Secrets. Detection of
// Secrets by label is turned off: the list in the KialiAuthProxy is the one
// truth, so a stray labelled Secret does not add a cluster to Kiali behind
// the operator's back.
func kialiClustering(clusters []meshv1alpha1.ClusterSpec) map[string]any {
	list := make([]any, 0, len(clusters))
	for _, c := range clusters {
		list = append(list, map[string]any{"name": c.Name, "secret_name": c.KialiSecret})
	}
	return map[string]any{
		"autodetect_secrets": map[string]any{"enabled": false},
		"clusters":           list,
	}
}

// clusteringPath is where the clustering settings live: under the feature
// flags up to v1.73, at the top of the spec from v2.
func clusteringPath(v2 bool) []string {
	if v2 {
		return []string{"clustering"}
	}
	return []string{"kiali_feature_flags", "clustering"}
}

// Kiali is the Kiali CR; see kialiSpec for its spec.
func Kiali(kap *meshv1alpha1.KialiAuthProxy, n Names) *unstructured.Unstructured {
	spec, _ := kialiSpec(kap, n)
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(KialiGVK)
	u.SetName(n.Kiali)
	u.SetNamespace(n.Namespace)
	u.SetLabels(Labels(kap, ComponentKiali))
	return u
}

// MeshPodAnnotations are the Kiali pod annotations the operator always
// sets: injection, and holding Kiali until its sidecar is ready (Kiali must
// not start before its sidecar can carry its calls to the API server and
// Prometheus). Written whole on every render: Kiali v2 replaces, rather than
// merges, its default pod annotations with the CR's.
func MeshPodAnnotations() map[string]string {
	return map[string]string{
		SidecarInjectKey:      "true",
		ProxyConfigAnnotation: holdUntilProxyStartsJSON,
	}
}

// MeshPodLabels are the Kiali pod labels the operator always sets:
// injection (upstream Istio reads the label, OpenShift Service Mesh 2.x the
// annotation) and what the lock-down policies select Kiali by.
func MeshPodLabels(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	return map[string]string{
		SidecarInjectKey: "true",
		KialiPodLabel:    kap.Name,
	}
}

// ingressCanBeDisabled reports whether the Kiali version is known to be
// v2.4 or later. "default" and "v2.x" could be older, so they are not.
func ingressCanBeDisabled(k *meshv1alpha1.KialiSpec) bool {
	if k.Version == "latest" {
		return true
	}
	v, ok := strings.CutPrefix(k.Version, "v")
	if !ok {
		return false
	}
	parts := strings.Split(v, ".")
	major, err := strconv.Atoi(parts[0])
	if err != nil || major < 2 {
		return false
	}
	if major > 2 {
		return true
	}
	minor, err := strconv.Atoi(parts[1])
	return err == nil && minor >= 4
}

// overridesOf decodes spec.kiali.overrides. The API server stores only
// objects there (the CRD types the field as one), so a stored
// KialiAuthProxy always decodes.
func overridesOf(k *meshv1alpha1.KialiSpec) map[string]any {
	overrides := map[string]any{}
	if k.Overrides != nil && len(k.Overrides.Raw) > 0 {
		_ = utiljson.Unmarshal(k.Overrides.Raw, &overrides)
	}
	return overrides
}

// sidecarBypassPrefixes are pod annotations that would let traffic past the
// sidecar (and so past the lock-down) or spoof its injection status.
var sidecarBypassPrefixes = []string{"traffic.sidecar.istio.io/", "status.sidecar.istio.io/", "sidecar.istio.io/interceptionMode"}

// restoreProtected undoes what overrides did to the settings that keep Kiali
// anonymous behind the proxy and inside the mesh, and returns the paths it
// had to restore.
func restoreProtected(spec, rendered map[string]any, kap *meshv1alpha1.KialiAuthProxy) []string {
	var restored []string
	restore := func(path ...string) {
		want, wantFound, _ := unstructured.NestedFieldCopy(rendered, path...)
		got, gotFound, _ := unstructured.NestedFieldNoCopy(spec, path...)
		if wantFound == gotFound && reflect.DeepEqual(want, got) {
			return
		}
		restored = append(restored, strings.Join(path, "."))
		if wantFound {
			setPath(spec, want, path...)
		} else {
			unstructured.RemoveNestedField(spec, path...)
		}
	}
	restore("auth")
	restore("deployment", "namespace")
	restore("deployment", "instance_name")
	restore("deployment", "ingress", "enabled")
	restore("server", "port")
	if len(kap.Spec.Clusters) > 0 {
		// spec.clusters is the one list of clusters, for Kiali and metrics.
		restore(clusteringPath(kap.Spec.Kiali.Layout == meshv1alpha1.KialiLayoutV2)...)
	}
	for key := range MeshPodAnnotations() {
		restore("deployment", "pod_annotations", key)
	}
	for key := range MeshPodLabels(kap) {
		restore("deployment", "pod_labels", key)
	}
	ann, _, _ := unstructured.NestedFieldNoCopy(spec, "deployment", "pod_annotations")
	if m, ok := ann.(map[string]any); ok {
		for key := range m {
			for _, p := range sidecarBypassPrefixes {
				if strings.HasPrefix(key, p) {
					restored = append(restored, "deployment.pod_annotations."+key)
					delete(m, key)
				}
			}
		}
	}
	sort.Strings(restored)
	return restored
}

// IgnoredOverrides lists the paths of spec.kiali.overrides that the
// operator does not let through, for the status to report.
func IgnoredOverrides(kap *meshv1alpha1.KialiAuthProxy) []string {
	d := kap.WithDefaults("")
	_, ignored := kialiSpec(d, NamesFor(d))
	return ignored
}

func deepCopyMap(m map[string]any) map[string]any {
	return runtime.DeepCopyJSON(m)
}

// setPath sets value at the nested keys, creating maps on the way.
func setPath(m map[string]any, value any, keys ...string) {
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}

// mergeInto merges src into dst: objects recursively, anything else
// replaced.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				mergeInto(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
