package render

import (
	"maps"
	"reflect"
	"slices"
	"sort"
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
func kialiSpec(kap *meshv1alpha1.KialiAuthProxy, n Names, secrets map[string]string) (map[string]any, []string) {
	k := &kap.Spec.Kiali
	v2 := k.Layout == meshv1alpha1.KialiLayoutV2
	spec := map[string]any{
		"version":         k.Version,
		"istio_namespace": k.IstioNamespace,
		"auth":            map[string]any{"strategy": "anonymous"},
	}

	podAnnotations := map[string]any{}
	kept, _ := SplitPodAnnotations(k.PodAnnotations)
	for key, v := range kept {
		podAnnotations[key] = v
	}
	for key, v := range MeshPodAnnotations() {
		podAnnotations[key] = v
	}
	podLabels := map[string]any{}
	for key, v := range MeshPodLabels(kap) {
		podLabels[key] = v
	}
	if k.WebRoot != "" {
		setPath(spec, k.WebRoot, "server", "web_root")
	}
	if k.TLS != nil {
		// Kiali's identity off OpenShift: the certificate's Secret mounted
		// as a custom secret (kiali-operator templates/kubernetes/
		// deployment.yaml mounts deployment.custom_secrets, and serves and
		// probes HTTPS once identity.cert_file is set).
		setPath(spec, []any{map[string]any{"name": KialiCertSecret(kap, n), "mount": kialiCertMountDir}}, "deployment", "custom_secrets")
		setPath(spec, kialiCertMountDir+"/tls.crt", "identity", "cert_file")
		setPath(spec, kialiCertMountDir+"/tls.key", "identity", "private_key_file")
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
	if networkPolicyCanBeOn(k) {
		// kiali-operator v2.17 added its own NetworkPolicy, on by default
		// (roles/default/kiali-deploy/defaults/main.yml,
		// templates/*/networkpolicy.yaml): it admits Kiali's port from
		// anywhere, and NetworkPolicies add up, so ours would restrict
		// nothing.
		setPath(spec, false, "deployment", "network_policy", "enabled")
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
		setPath(spec, kialiClustering(kap.Spec.Clusters, secrets), clusteringPath(v2)...)
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
//
// Only clusters whose Secret exists are listed: the Kiali operator mounts
// each listed Secret as a volume that is not optional (kiali-operator
// roles/v1.73/kiali-deploy/templates/kubernetes/deployment.yaml and
// roles/default/kiali-deploy/templates/kubernetes/deployment.yaml), so one
// missing Secret would keep the whole Kiali pod from starting. secrets
// maps each cluster whose Secret exists to that Secret; nil (offline, with
// nothing read) lists every Provided cluster under kialiSecret and leaves
// out the Managed ones, whose Secrets the operator has yet to make.
func kialiClustering(clusters []meshv1alpha1.ClusterSpec, secrets map[string]string) map[string]any {
	list := make([]any, 0, len(clusters))
	for _, c := range clusters {
		secret, ok := secrets[c.Name]
		if secrets == nil && c.KialiAccess != meshv1alpha1.KialiAccessManaged {
			secret, ok = c.KialiSecret, true
		}
		if !ok {
			continue
		}
		list = append(list, map[string]any{"name": c.Name, "secret_name": secret})
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
	u, _, _ := kialiCR(kap, n, nil)
	return u
}

// kialiCR is the Kiali CR, the override paths it refused, and whether it
// puts Kiali in view-only mode.
func kialiCR(kap *meshv1alpha1.KialiAuthProxy, n Names, secrets map[string]string) (*unstructured.Unstructured, []string, bool) {
	spec, ignored := kialiSpec(kap, n, secrets)
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetGroupVersionKind(KialiGVK)
	u.SetName(n.Kiali)
	u.SetNamespace(n.Namespace)
	u.SetLabels(Labels(kap, ComponentKiali))
	viewOnly, _, _ := unstructured.NestedBool(spec, "deployment", "view_only_mode")
	return u, ignored, viewOnly
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
// annotation), what the lock-down policies select Kiali by, and the
// instance label by which the operator watches the pods whose mesh
// membership MeshLocked reports.
func MeshPodLabels(kap *meshv1alpha1.KialiAuthProxy) map[string]string {
	return map[string]string{
		SidecarInjectKey: "true",
		KialiPodLabel:    kap.Name,
		LabelInstance:    kap.Name,
	}
}

// ingressCanBeDisabled reports whether the Kiali version is known to be
// v2.4 or later. "default" and "v2.x" could be older, so they are not.
func ingressCanBeDisabled(k *meshv1alpha1.KialiSpec) bool {
	return k.Version == "latest" || meshv1alpha1.KialiVersionAtLeast(k.Version, 2, 4)
}

// networkPolicyCanBeOn reports whether the Kiali operator may be v2.17 or
// later, and so make its own NetworkPolicy: "latest", "v2.x", v2.17+, and
// "default" when it means a Kiali v2 operator (the v2 layout). Older
// operators ignore the setting (the Kiali CRD keeps unknown fields).
func networkPolicyCanBeOn(k *meshv1alpha1.KialiSpec) bool {
	switch k.Version {
	case "latest":
		return true
	case "default":
		return k.Layout == meshv1alpha1.KialiLayoutV2
	}
	// By the version alone: a v2.17 operator makes its NetworkPolicy
	// whichever field layout the spec picked.
	return meshv1alpha1.KialiVersionAtLeast(k.Version, 2, 17) || strings.HasSuffix(k.Version, ".x") && meshv1alpha1.KialiVersionAtLeast(k.Version, 2, 0)
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

// SplitPodAnnotations separates the annotations of spec.kiali.podAnnotations
// that go on the Kiali pod from those meshv1alpha1.ProtectedPodAnnotations
// refuses. Admission refuses the latter, but an object stored before a rule
// existed may still hold them: they are never rendered, and the status
// reports their keys, sorted.
func SplitPodAnnotations(annotations map[string]string) (kept map[string]string, dropped []string) {
	kept = map[string]string{}
	for key, v := range annotations {
		if meshv1alpha1.PodAnnotationProtected(key) {
			dropped = append(dropped, key)
		} else {
			kept[key] = v
		}
	}
	sort.Strings(dropped)
	return kept, dropped
}

// ProtectedSetting is a Kiali CR setting that spec.kiali.overrides may not
// change: the operator keeps it at the rendered value (or, where nothing is
// rendered, at the Kiali operator's default) because the strategy, the
// lock-down or the proxy's upstream depends on it.
type ProtectedSetting struct {
	Path []string
	// Why the setting is protected, for the documentation and the tests.
	Why string
	// Safe, when set, is a value an override may give where nothing is
	// rendered: it is what the lock-down needs anyway (no host network,
	// no NetworkPolicy of Kiali's own), so it is kept and not reported.
	Safe any
}

// ProtectedKialiSettings is the one list of protected settings for a
// (defaulted) KialiAuthProxy; render restores them and the tests derive
// their cases from it. Where a path is absent from the rendered spec the
// proxy is rendered for the Kiali operator's default (on OpenShift:
// identity from the service CA, web root "/", port 20001), so an override
// there is removed.
func ProtectedKialiSettings(kap *meshv1alpha1.KialiAuthProxy) []ProtectedSetting {
	list := []ProtectedSetting{
		{Path: []string{"auth"}, Why: "Kiali runs anonymously behind the proxy; another strategy would log users in twice or not at all"},
		{Path: []string{"deployment", "namespace"}, Why: "the lock-down policies and the proxy's upstream are in the KialiAuthProxy's namespace"},
		{Path: []string{"deployment", "instance_name"}, Why: "the proxy's upstream is the Service of this instance"},
		{Path: []string{"deployment", "ingress", "enabled"}, Why: "Kiali must not have a Route or Ingress of its own around the proxy"},
		{Path: []string{"deployment", "network_policy", "enabled"}, Why: "Kiali's own NetworkPolicy admits its port from anywhere and voids the lock-down's NetworkPolicy", Safe: false},
		{Path: []string{"deployment", "host_network"}, Why: "a host-network pod gets no sidecar and listens on the node's address", Safe: false},
		{Path: []string{"deployment", "additional_pod_init_containers_yaml"}, Why: "an extra init container in Kiali's pod can undo the sidecar's traffic redirection"},
		{Path: []string{"deployment", "additional_pod_containers_yaml"}, Why: "an extra container in Kiali's pod can undo the sidecar's traffic redirection or serve Kiali around it"},
		{Path: []string{"server", "port"}, Why: "the proxy's upstream and the lock-down policies name port 20001"},
		{Path: []string{"server", "web_root"}, Why: "the proxy forwards paths unchanged to Kiali's root: set spec.kiali.webRoot"},
		{Path: []string{"identity", "cert_file"}, Why: "the proxy speaks HTTPS to Kiali and verifies it with the service CA"},
		{Path: []string{"identity", "private_key_file"}, Why: "the proxy speaks HTTPS to Kiali and verifies it with the service CA"},
	}
	if len(kap.Spec.Clusters) > 0 {
		list = append(list, ProtectedSetting{Path: clusteringPath(kap.Spec.Kiali.Layout == meshv1alpha1.KialiLayoutV2),
			Why: "spec.clusters is the one list of clusters, for Kiali and the metrics"})
	}
	for _, key := range slices.Sorted(maps.Keys(MeshPodAnnotations())) {
		list = append(list, ProtectedSetting{Path: []string{"deployment", "pod_annotations", key}, Why: "it puts Kiali in the mesh"})
	}
	for _, key := range slices.Sorted(maps.Keys(MeshPodLabels(kap))) {
		list = append(list, ProtectedSetting{Path: []string{"deployment", "pod_labels", key}, Why: "it puts Kiali in the mesh and selects it for the lock-down"})
	}
	return list
}

// restoreProtected undoes what overrides did to the protected settings,
// drops the pod annotations of meshv1alpha1.ProtectedPodAnnotations that
// the operator did not render, and returns the paths it had to restore or
// drop.
func restoreProtected(spec, rendered map[string]any, kap *meshv1alpha1.KialiAuthProxy) []string {
	var restored []string
	for _, s := range ProtectedKialiSettings(kap) {
		want, wantFound, _ := unstructured.NestedFieldCopy(rendered, s.Path...)
		got, gotFound, _ := unstructured.NestedFieldNoCopy(spec, s.Path...)
		if wantFound == gotFound && reflect.DeepEqual(want, got) {
			continue
		}
		if !wantFound && s.Safe != nil && reflect.DeepEqual(got, s.Safe) {
			continue
		}
		restored = append(restored, strings.Join(s.Path, "."))
		if wantFound {
			setPath(spec, want, s.Path...)
		} else {
			removePath(spec, rendered, s.Path...)
		}
	}
	ann, _, _ := unstructured.NestedFieldNoCopy(spec, "deployment", "pod_annotations")
	renderedAnn, _, _ := unstructured.NestedMap(rendered, "deployment", "pod_annotations")
	if m, ok := ann.(map[string]any); ok {
		for key := range m {
			if _, own := renderedAnn[key]; !own && meshv1alpha1.PodAnnotationProtected(key) {
				restored = append(restored, "deployment.pod_annotations."+key)
				delete(m, key)
			}
		}
	}
	sort.Strings(restored)
	return restored
}

// KialiViewOnly reports whether the Kiali CR, overrides included, puts
// Kiali in view-only mode.
func KialiViewOnly(kap *meshv1alpha1.KialiAuthProxy) bool {
	return Render(PlanFor(kap, ""), Inputs{}).KialiViewOnly
}

// IgnoredOverrides lists the paths of spec.kiali.overrides that the
// operator does not let through, for the status to report.
func IgnoredOverrides(kap *meshv1alpha1.KialiAuthProxy) []string {
	return Render(PlanFor(kap, ""), Inputs{}).Ignored.Overrides
}

func deepCopyMap(m map[string]any) map[string]any {
	return runtime.DeepCopyJSON(m)
}

// removePath removes the value at the nested keys, and the objects on the
// way that are left empty and were not rendered, so that taking an override
// out leaves the spec as if it had not been given.
func removePath(spec, rendered map[string]any, keys ...string) {
	unstructured.RemoveNestedField(spec, keys...)
	for i := len(keys) - 1; i > 0; i-- {
		parent := keys[:i]
		v, _, _ := unstructured.NestedFieldNoCopy(spec, parent...)
		m, ok := v.(map[string]any)
		if _, inRendered, _ := unstructured.NestedFieldNoCopy(rendered, parent...); !ok || len(m) > 0 || inRendered {
			return
		}
		unstructured.RemoveNestedField(spec, parent...)
	}
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
