package remotewrite

import (
	"encoding/json"
	"reflect"

	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
)

// PrometheusEntry is the entry in the Prometheus Operator's own types, used
// for a Prometheus resource's spec.remoteWrite and for OpenShift
// user-workload monitoring, whose remoteWrite items have the same shape.
func PrometheusEntry(e Entry) monv1.RemoteWriteSpec {
	name := e.Name
	spec := monv1.RemoteWriteSpec{
		Name: &name,
		URL:  monv1.URL(e.URL),
	}
	for _, r := range e.rules() {
		rc := monv1.RelabelConfig{Regex: r.regex, TargetLabel: r.targetLabel, Action: r.action}
		for _, l := range r.sourceLabels {
			rc.SourceLabels = append(rc.SourceLabels, monv1.LabelName(l))
		}
		if r.action == "replace" {
			replacement := r.replacement
			rc.Replacement = &replacement
		}
		spec.WriteRelabelConfigs = append(spec.WriteRelabelConfigs, rc)
	}
	secret := func(key string) *corev1.SecretKeySelector {
		return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: e.Auth.Secret}, Key: key}
	}
	if e.Auth.BearerToken {
		spec.Authorization = &monv1.Authorization{SafeAuthorization: monv1.SafeAuthorization{Type: "Bearer", Credentials: secret(BearerTokenKey)}}
	}
	if e.Auth.BasicAuth {
		spec.BasicAuth = &monv1.BasicAuth{Username: *secret(UsernameKey), Password: *secret(PasswordKey)}
	}
	if e.Auth.CA {
		spec.TLSConfig = &monv1.TLSConfig{SafeTLSConfig: monv1.SafeTLSConfig{CA: monv1.SecretOrConfigMap{Secret: secret(CAKey)}}}
	}
	return spec
}

// EntryMap is PrometheusEntry as a JSON object, as it appears in an
// unstructured Prometheus resource. Empty objects are left out: the typed
// structs marshal an unset tlsConfig.cert as {}, which says nothing.
func EntryMap(e Entry) (map[string]any, error) {
	if err := e.check(false); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(PrometheusEntry(e))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	dropEmptyObjects(out)
	return out, nil
}

func dropEmptyObjects(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			dropEmptyObjects(c)
			if m, ok := c.(map[string]any); ok && len(m) == 0 {
				delete(v, k)
			}
		}
	case []any:
		for _, c := range v {
			dropEmptyObjects(c)
		}
	}
}

// MergeList puts the entry into a Prometheus resource's spec.remoteWrite
// (nil when absent): in place of the first item with its name, or at the
// end; further items with its name are dropped, since Prometheus wants
// names unique. The other items are returned as they were (the same
// values). changed is false when an equal entry is already there.
func MergeList(list []any, e Entry) ([]any, bool, error) {
	want, err := EntryMap(e)
	if err != nil {
		return nil, false, err
	}
	out := make([]any, 0, len(list)+1)
	found, changed := false, false
	for _, item := range list {
		if itemNameOf(item) != e.Name {
			out = append(out, item)
			continue
		}
		switch {
		case found:
			changed = true
		case jsonEqual(item, want):
			out = append(out, item)
		default:
			out = append(out, want)
			changed = true
		}
		found = true
	}
	if !found {
		out = append(out, want)
		changed = true
	}
	return out, changed, nil
}

// RemoveFromList takes the items named name out of the list, keeping the
// others in order; nil when none is left. An empty name removes nothing.
func RemoveFromList(list []any, name string) ([]any, bool) {
	if name == "" {
		return list, false
	}
	var out []any
	changed := false
	for _, item := range list {
		if itemNameOf(item) == name {
			changed = true
			continue
		}
		out = append(out, item)
	}
	return out, changed
}

func itemNameOf(item any) string {
	m, ok := item.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m["name"].(string)
	return s
}

// jsonEqual compares two values as JSON documents, so that int64 from the
// API server and float64 from encoding/json compare equal.
func jsonEqual(a, b any) bool {
	ra, err1 := json.Marshal(a)
	rb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(ra, &va) != nil || json.Unmarshal(rb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
