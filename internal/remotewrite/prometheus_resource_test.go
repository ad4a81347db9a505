package remotewrite

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestPrometheusEntry(t *testing.T) {
	for name, auth := range authVariants("/unused") {
		t.Run(name, func(t *testing.T) {
			e := entry()
			e.Auth = auth
			m, err := EntryMap(e)
			if err != nil {
				t.Fatal(err)
			}
			spec := strictSpec(t, m)
			if spec.Name == nil || *spec.Name != e.Name || string(spec.URL) != e.URL {
				t.Errorf("name, url: %#v", m)
			}
			rc := spec.WriteRelabelConfigs
			if len(rc) != 2 ||
				rc[0].Action != "keep" || len(rc[0].SourceLabels) != 1 || rc[0].SourceLabels[0] != "__name__" || rc[0].Regex != e.KeepRegex ||
				rc[1].Action != "replace" || rc[1].TargetLabel != e.ClusterLabel || rc[1].Replacement == nil || *rc[1].Replacement != e.Cluster {
				t.Errorf("relabel rules: %#v", m["writeRelabelConfigs"])
			}
			if a := spec.Authorization; (a != nil) != auth.BearerToken ||
				a != nil && (a.Type != "Bearer" || a.Credentials == nil || a.Credentials.Name != auth.Secret || a.Credentials.Key != "token") {
				t.Errorf("authorization: %#v", m["authorization"])
			}
			if b := spec.BasicAuth; (b != nil) != auth.BasicAuth ||
				b != nil && (b.Username.Name != auth.Secret || b.Username.Key != "username" || b.Password.Name != auth.Secret || b.Password.Key != "password") {
				t.Errorf("basicAuth: %#v", m["basicAuth"])
			}
			if c := spec.TLSConfig; (c != nil) != auth.CA ||
				c != nil && (c.CA.Secret == nil || c.CA.Secret.Name != auth.Secret || c.CA.Secret.Key != "ca.crt" || c.CA.ConfigMap != nil) {
				t.Errorf("tlsConfig: %#v", m["tlsConfig"])
			}
			if tls, _ := m["tlsConfig"].(map[string]any); tls != nil && len(tls) != 1 {
				t.Errorf("tlsConfig has more than ca: %#v", tls)
			}
		})
	}
}

// samePointer: the same map, not just an equal one.
func samePointer(a, b any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestMergeList(t *testing.T) {
	want, err := EntryMap(entry())
	if err != nil {
		t.Fatal(err)
	}
	archive := map[string]any{"name": "archive", "url": "https://a.example.com/w", "queueConfig": map[string]any{"maxSamplesPerSend": int64(500)}}
	last := map[string]any{"url": "https://c.example.com/w"}
	old := map[string]any{"name": ourName, "url": "http://old.example.com/w"}
	// As read back from the API server: the same entry, decoded afresh.
	var live map[string]any
	raw, _ := json.Marshal(want)
	_ = json.Unmarshal(raw, &live)

	for _, tc := range []struct {
		name    string
		list    []any
		want    []any
		changed bool
	}{
		{"absent list", nil, []any{want}, true},
		{"appended", []any{archive, last}, []any{archive, last, want}, true},
		{"replaced in place", []any{archive, old, last}, []any{archive, want, last}, true},
		{"already there", []any{archive, live}, []any{archive, live}, false},
		{"duplicates dropped", []any{old, archive, live}, []any{want, archive}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := MergeList(tc.list, entry())
			if err != nil || changed != tc.changed || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("changed=%v err=%v\n%#v\nwant:\n%#v", changed, err, got, tc.want)
			}
			for i, item := range got {
				strictSpec(t, item)
				if m, _ := item.(map[string]any); m["name"] != ourName && !samePointer(item, tc.want[i]) {
					t.Errorf("item %d is a copy, not the user's value", i)
				}
			}
		})
	}

	moved := entry()
	moved.Cluster = "west"
	got, changed, _ := MergeList([]any{archive, live}, moved)
	rc := got[1].(map[string]any)["writeRelabelConfigs"].([]any)
	if !changed || rc[1].(map[string]any)["replacement"] != "west" {
		t.Errorf("cluster not updated: %#v", got)
	}
}

func TestRemoveFromList(t *testing.T) {
	a := map[string]any{"name": "a", "url": "http://a/w"}
	b := map[string]any{"url": "http://b/w"}
	ours := map[string]any{"name": ourName, "url": "http://x/w"}
	for _, tc := range []struct {
		name    string
		list    []any
		want    []any
		changed bool
	}{
		{"absent", []any{a, b}, []any{a, b}, false},
		{"nil list", nil, nil, false},
		{"order kept", []any{a, ours, b, ours}, []any{a, b}, true},
		{"only ours", []any{ours}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := RemoveFromList(tc.list, ourName)
			if changed != tc.changed || !reflect.DeepEqual(got, tc.want) || (tc.want == nil) != (got == nil) {
				t.Fatalf("changed=%v %#v", changed, got)
			}
			for i := range got {
				if !samePointer(got[i], tc.want[i]) {
					t.Errorf("item %d is a copy", i)
				}
			}
		})
	}
}

func TestInvalidEntries(t *testing.T) {
	both := entry()
	both.Auth = Auth{Secret: "rw-creds", Dir: "/etc/rw", BearerToken: true, BasicAuth: true, Username: "writer"}
	unnamed := entry()
	unnamed.Name = ""
	noDir := entry()
	noDir.Auth = Auth{Secret: "rw-creds", CA: true}
	noSecret := entry()
	noSecret.Auth = Auth{Dir: "/etc/rw", BearerToken: true}
	const config = "global: {}\nremote_write:\n- url: http://unnamed/w\n"
	for _, tc := range []struct {
		name       string
		e          Entry
		yml, other string // expected errors; "" for none
	}{
		{"bearer token and basic auth", both, "cannot be used together", "cannot be used together"},
		{"no name", unnamed, "no name", "no name"},
		{"no directory for files", noDir, "directory", ""},
		{"no Secret to refer to", noSecret, "", "Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(what string, err error, want string) {
				t.Helper()
				if want == "" && err != nil {
					t.Errorf("%s: %v", what, err)
				}
				if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
					t.Errorf("%s: %v; want an error with %q", what, err, want)
				}
			}
			_, _, err := MergePrometheusYAML(config, tc.e)
			check("prometheus.yml", err, tc.yml)
			_, _, err = MergeUWM("", tc.e)
			check("user-workload monitoring", err, tc.other)
			_, _, err = MergeList(nil, tc.e)
			check("Prometheus resource", err, tc.other)
		})
	}
	// Removing by an empty name must not take the user's unnamed entries.
	if out, changed, err := RemovePrometheusYAML(config, ""); err == nil || changed || out != "" {
		t.Errorf("prometheus.yml: %q %v %v", out, changed, err)
	}
	if out, changed, err := RemoveUWM("prometheus:\n  remoteWrite:\n  - url: http://u/w\n", ""); err == nil || changed || out != "" {
		t.Errorf("user-workload monitoring: %q %v %v", out, changed, err)
	}
	list := []any{map[string]any{"url": "http://u/w"}}
	if out, changed := RemoveFromList(list, ""); changed || len(out) != 1 {
		t.Errorf("Prometheus resource: %#v %v", out, changed)
	}
}
