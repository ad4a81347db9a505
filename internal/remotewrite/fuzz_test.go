package remotewrite

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The fuzz targets check, for any configuration the merge accepts: merging
// again changes nothing, and taking the entry out gives back the user's
// configuration as data (as bytes where it was edited as text).

func FuzzMergePrometheusYAML(f *testing.F) {
	for _, seed := range []string{
		userPrometheusYAML,
		"global:\n  scrape_interval: 30s\n",
		"remote_write: []\n",
		"remote_write:\n- name: a\n  url: http://a\n",
		"remote_write:\n  - url: http://a\n    name: kialiauthproxy-kiali-kiali\n",
		"a: &x {b: 1}\nremote_write:\n- *x\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, config string) {
		checkRoundTrip(t, config, MergePrometheusYAML, RemovePrometheusYAML, prometheusYAMLPath)
	})
}

func FuzzMergeUWM(f *testing.F) {
	for _, seed := range []string{
		userUWM,
		"",
		"prometheus:\n",
		"prometheus: {}\nalertmanager: {}\n",
		"prometheus:\n  remoteWrite:\n  - name: a\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, config string) {
		checkRoundTrip(t, config, MergeUWM, RemoveUWM, uwmPath)
	})
}

func checkRoundTrip(t *testing.T, config string,
	merge func(string, Entry) (string, bool, error), remove func(string, string) (string, bool, error), path []string) {
	e := entry()
	var before any
	if yaml.Unmarshal([]byte(config), &before) != nil {
		return
	}
	if _, ok := before.(map[string]any); !ok && before != nil {
		// Not a configuration: the top level of both formats is a mapping
		// with string keys, and the merge refuses anything else.
		return
	}
	merged, _, err := merge(config, e)
	if err != nil {
		return
	}
	again, changed, err := merge(merged, e)
	if err != nil || changed || again != merged {
		t.Fatalf("merge is not idempotent (changed=%v, err=%v):\n%q\n%q", changed, err, merged, again)
	}
	if hasEntry(before, path, e.Name) {
		return
	}
	removed, _, err := remove(merged, e.Name)
	if err != nil {
		t.Fatalf("remove after merge: %v\n%q", err, merged)
	}
	var after any
	if err := yaml.Unmarshal([]byte(removed), &after); err != nil {
		t.Fatalf("remove made invalid YAML: %v\n%q", err, removed)
	}
	if !reflect.DeepEqual(normalize(before, path), normalize(after, path)) {
		t.Fatalf("remove(merge(x)) != x:\n%q\n%q", config, removed)
	}
}

func hasEntry(doc any, path []string, name string) bool {
	for _, key := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return false
		}
		doc = m[key]
	}
	list, _ := doc.([]any)
	for _, item := range list {
		if m, ok := item.(map[string]any); ok && m["name"] == name {
			return true
		}
	}
	return false
}

// normalize drops what merging may create and removing takes away again:
// an empty or null list at path, and mappings on the way left empty.
func normalize(doc any, path []string) any {
	m, ok := doc.(map[string]any)
	if !ok || len(path) == 0 {
		if l, ok := doc.([]any); ok && len(l) == 0 {
			return nil
		}
		return doc
	}
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	v := normalize(m[path[0]], path[1:])
	if mm, ok := v.(map[string]any); (ok && len(mm) == 0) || v == nil {
		delete(out, path[0])
	} else {
		out[path[0]] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
