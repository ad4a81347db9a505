package apply

import "testing"

func TestIsSubset(t *testing.T) {
	for _, tc := range []struct {
		name          string
		desired, live any
		want          bool
	}{
		{"equal scalars", "a", "a", true},
		{"different scalars", "a", "b", false},
		{"int and float of one value", int64(3080), float64(3080), true},
		{"bool and string", true, "true", false},
		{"server defaults are extra", map[string]any{"a": "x"}, map[string]any{"a": "x", "b": "default"}, true},
		{"missing field", map[string]any{"a": "x"}, map[string]any{}, false},
		{"empty desired map matches absence", map[string]any{"a": map[string]any{}}, map[string]any{}, true},
		{"nested change", map[string]any{"a": map[string]any{"b": "1"}}, map[string]any{"a": map[string]any{"b": "2"}}, false},
		{"atomic list equal", []any{"-a", "-b"}, []any{"-a", "-b"}, true},
		{"atomic list reordered", []any{"-a", "-b"}, []any{"-b", "-a"}, false},
		{"atomic list with extra element", []any{"-a"}, []any{"-a", "-b"}, false},
		{"keyed list allows foreign elements",
			[]any{map[string]any{"name": "proxy", "image": "i"}},
			[]any{map[string]any{"name": "istio-proxy"}, map[string]any{"name": "proxy", "image": "i", "tty": false}}, true},
		{"keyed list element changed",
			[]any{map[string]any{"name": "proxy", "image": "i"}},
			[]any{map[string]any{"name": "proxy", "image": "j"}}, false},
		{"keyed list element missing",
			[]any{map[string]any{"name": "proxy"}},
			[]any{map[string]any{"name": "other"}}, false},
		{"owner references by uid",
			[]any{map[string]any{"uid": "1", "kind": "KialiAuthProxy"}},
			[]any{map[string]any{"uid": "2", "kind": "Other"}, map[string]any{"uid": "1", "kind": "KialiAuthProxy"}}, true},
		{"unkeyed object list by position",
			[]any{map[string]any{"port": int64(443)}},
			[]any{map[string]any{"port": int64(443)}, map[string]any{"port": int64(80)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isSubset(tc.desired, tc.live); got != tc.want {
				t.Fatalf("isSubset(%v, %v) = %v, want %v", tc.desired, tc.live, got, tc.want)
			}
		})
	}
}
