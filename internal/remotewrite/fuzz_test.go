package remotewrite

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The fuzz targets check, for any configuration the merge accepts: it does
// not panic, merging again changes nothing, and, where the configuration
// had no entry of ours, taking it out again gives back the same data (an
// emptied list and the mappings it leaves empty aside).

func FuzzMergePrometheusYAML(f *testing.F) {
	for _, seed := range []string{
		userPrometheusYAML,
		"global:\n  scrape_interval: 30s\n",
		"global:\n  scrape_interval: 30s",
		"remote_write: []\n",
		"remote_write:\n",
		"remote_write:\n- name: a\n  url: http://a\n",
		"remote_write:\r\n  - name: a\r\n    url: http://a\r\n",
		"remote_write:\n  - url: http://a\n    name: " + ourName + "\n",
		"a: &x {b: 1}\nremote_write:\n- *x\n",
		"global: {}\n---\nremote_write: [1]\n",
		"remote_write:\n- url: x\n...\n",
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
		"prometheus:\n  retention: 1d",
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
	merged, changed, err := merge(config, e)
	if err != nil {
		if merged != "" || changed {
			t.Fatalf("an error with output: %q, changed=%v", merged, changed)
		}
		return
	}
	before, ok := documents(config)
	if !ok {
		t.Fatalf("merge accepted invalid YAML:\n%q", config)
	}
	again, changed, err := merge(merged, e)
	if err != nil || changed || again != merged {
		t.Fatalf("merge is not idempotent (changed=%v, err=%v):\n%q\n%q", changed, err, merged, again)
	}
	if len(before) > 0 && hasEntry(before[0], path, e.Name) {
		return
	}
	removed, _, err := remove(merged, e.Name)
	if err != nil {
		t.Fatalf("remove after merge: %v\n%q", err, merged)
	}
	after, ok := documents(removed)
	if !ok {
		t.Fatalf("remove made invalid YAML:\n%q", removed)
	}
	if len(before) == 0 {
		before = []any{nil}
	}
	if len(after) == 0 {
		after = []any{nil}
	}
	before[0], after[0] = normalize(before[0], path), normalize(after[0], path)
	if !reflect.DeepEqual(canonicalOf(t, before), canonicalOf(t, after)) {
		t.Fatalf("remove(merge(x)) != x:\n%q\n%q\nmerged:\n%q", config, removed, merged)
	}
}

func documents(text string) ([]any, bool) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var docs []any
	for {
		var d any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs, true
		}
		if err != nil {
			return nil, false
		}
		docs = append(docs, d)
	}
}

func canonicalOf(t *testing.T, docs []any) string {
	c, err := canonical(docs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hasEntry(doc any, path []string, name string) bool {
	for _, key := range path {
		v, _ := mapGet(doc, key)
		doc = v
	}
	list, _ := doc.([]any)
	for _, item := range list {
		if n, _ := mapGet(item, "name"); n == name {
			return true
		}
	}
	return false
}

// normalize drops what merging may create and removing takes away again:
// an empty or null list at path, and mappings on the way left empty.
func normalize(doc any, path []string) any {
	if len(path) == 0 {
		if l, ok := doc.([]any); ok && len(l) == 0 {
			return nil
		}
		return doc
	}
	if !isMap(doc) {
		return doc
	}
	out := map[any]any{}
	switch m := doc.(type) {
	case map[string]any:
		for k, v := range m {
			out[k] = v
		}
	case map[any]any:
		for k, v := range m {
			out[k] = v
		}
	}
	if v := normalize(out[path[0]], path[1:]); v == nil || (isMap(v) && mapLen(v) == 0) {
		delete(out, path[0])
	} else {
		out[path[0]] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
