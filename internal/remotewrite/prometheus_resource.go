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
		WriteRelabelConfigs: []monv1.RelabelConfig{
			{SourceLabels: []monv1.LabelName{"__name__"}, Regex: e.KeepRegex, Action: "keep"},
			{TargetLabel: e.ClusterLabel, Replacement: &e.Cluster, Action: "replace"},
		},
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

// EntryMap is PrometheusEntry as a JSON object.
func EntryMap(e Entry) (map[string]any, error) {
	raw, err := json.Marshal(PrometheusEntry(e))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	return out, json.Unmarshal(raw, &out)
}

// MergeList puts the entry into a Prometheus resource's spec.remoteWrite
// (nil when absent): in place of the item with its name, or at the end.
// The other items are returned as they were. changed is false when an
// equal entry is already there.
func MergeList(list []any, e Entry) ([]any, bool, error) {
	want, err := EntryMap(e)
	if err != nil {
		return nil, false, err
	}
	out := make([]any, 0, len(list)+1)
	found, changed := false, false
	for _, item := range list {
		if !found && itemName(item) == e.Name {
			found = true
			if !jsonEqual(item, want) {
				changed = true
				item = want
			}
		}
		out = append(out, item)
	}
	if !found {
		out = append(out, want)
		changed = true
	}
	return out, changed, nil
}

// RemoveFromList takes the items with the entry's name out of the list.
func RemoveFromList(list []any, name string) ([]any, bool) {
	var out []any
	changed := false
	for _, item := range list {
		if itemName(item) == name {
			changed = true
			continue
		}
		out = append(out, item)
	}
	return out, changed
}

func itemName(item any) string {
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
