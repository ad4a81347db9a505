package remotewrite

import (
	"reflect"
	"strings"
	"testing"
)

// userUWM is a user-workload monitoring config.yaml with the user's own
// settings around the remoteWrite list.
const userUWM = `# user workload monitoring
prometheus:
  retention: 24h
  externalLabels:
    region: north   # also on alerts
  resources:
    requests:
      memory: 2Gi
  remoteWrite:
  - name: archive
    url: https://archive.example.com/write
    remoteTimeout: 30s
alertmanager:
  enabled: true # user's
  enableAlertmanagerConfig: true
thanosRuler:
  retention: 24h
`

func TestMergeUWM(t *testing.T) {
	moved := entry()
	moved.URL = "https://hub2.example.com/api/v1/write"
	for _, tc := range []struct {
		name, config string
		e            Entry
		want         string // exact; empty where the tree is encoded again
		removed      string // default: config
	}{{
		name:   "empty config: a minimal document",
		config: "",
		e:      entry(),
		want:   "prometheus:\n  remoteWrite:\n" + uwmItemText(2, hub, "east"),
	}, {
		name:   "comments only",
		config: "# set by the cluster admin\n",
		e:      entry(),
		want:   "# set by the cluster admin\nprometheus:\n  remoteWrite:\n" + uwmItemText(2, hub, "east"),
	}, {
		name:   "after the user's entry; every other setting as it was",
		config: userUWM,
		e:      entry(),
		want:   strings.Replace(userUWM, "    remoteTimeout: 30s\n", "    remoteTimeout: 30s\n"+uwmItemText(2, hub, "east"), 1),
	}, {
		name: "a new remoteWrite at the end of prometheus",
		config: `prometheus:
  retention: 24h
  externalLabels:
    region: north

# alerting
alertmanager:
  enabled: true
`,
		e: entry(),
		want: `prometheus:
  retention: 24h
  externalLabels:
    region: north
  remoteWrite:
` + uwmItemText(2, hub, "east") + `
# alerting
alertmanager:
  enabled: true
`,
	}, {
		name:   "no prometheus section",
		config: "alertmanager:\n  enabled: true\n",
		e:      entry(),
		want:   "alertmanager:\n  enabled: true\nprometheus:\n  remoteWrite:\n" + uwmItemText(2, hub, "east"),
	}, {
		name:    "empty prometheus key",
		config:  "prometheus:\nalertmanager:\n  enabled: true\n",
		e:       entry(),
		want:    "prometheus:\n  remoteWrite:\n" + uwmItemText(2, hub, "east") + "alertmanager:\n  enabled: true\n",
		removed: "alertmanager:\n  enabled: true\n",
	}, {
		name:    "empty remoteWrite key",
		config:  "prometheus:\n  retention: 24h\n  remoteWrite:\n",
		e:       entry(),
		want:    "prometheus:\n  retention: 24h\n  remoteWrite:\n" + uwmItemText(2, hub, "east"),
		removed: "prometheus:\n  retention: 24h\n",
	}, {
		name: "updated in place between the user's entries, indented dashes",
		config: `prometheus:
  remoteWrite:
    - name: first
      url: http://a.example.com/write
    - url: http://old.example.com/write
      name: ` + ourName + `
    - name: last
      url: http://c.example.com/write
  retention: 24h
`,
		e: moved,
		want: `prometheus:
  remoteWrite:
    - name: first
      url: http://a.example.com/write
` + uwmItemText(4, moved.URL, "east") + `    - name: last
      url: http://c.example.com/write
  retention: 24h
`,
		removed: `prometheus:
  remoteWrite:
    - name: first
      url: http://a.example.com/write
    - name: last
      url: http://c.example.com/write
  retention: 24h
`,
	}, {
		name:   "CRLF line breaks",
		config: "prometheus:\r\n  retention: 24h\r\n",
		e:      entry(),
		want:   "prometheus:\r\n  retention: 24h\r\n  remoteWrite:\r\n" + strings.ReplaceAll(uwmItemText(2, hub, "east"), "\n", "\r\n"),
	}, {
		name:   "flow-style prometheus: the node tree is encoded again",
		config: "prometheus: {retention: 24h, remoteWrite: [{name: archive, url: 'https://archive.example.com/write'}]}\nalertmanager: {enabled: true}\n",
		e:      entry(),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			merged, changed, err := MergeUWM(tc.config, tc.e)
			if err != nil || !changed {
				t.Fatalf("merge: changed=%v err=%v", changed, err)
			}
			if tc.want != "" && merged != tc.want {
				t.Errorf("merged:\n%s\nwant:\n%s", merged, tc.want)
			}
			assertUWM(t, tc.config, merged, tc.e)

			again, changed, err := MergeUWM(merged, tc.e)
			if err != nil || changed || again != merged {
				t.Errorf("second merge: changed=%v err=%v\n%s", changed, err, again)
			}
			removed, changed, err := RemoveUWM(merged, tc.e.Name)
			if err != nil || !changed {
				t.Fatalf("remove: changed=%v err=%v", changed, err)
			}
			want := tc.removed
			if want == "" {
				want = tc.config
			}
			if tc.want == "" {
				assertSameData(t, removed, want)
			} else if removed != want {
				t.Errorf("removed:\n%q\nwant:\n%q", removed, want)
			}
		})
	}
}

// assertUWM checks a merged config.yaml: every remoteWrite item is a valid
// RemoteWriteSpec, ours is there once as e describes it, and nothing but
// the list changed.
func assertUWM(t *testing.T, config, merged string, e Entry) {
	t.Helper()
	doc, specs := uwmItems(t, merged)
	var ours []any
	prom, _ := doc["prometheus"].(map[string]any)
	list, _ := prom["remoteWrite"].([]any)
	for i, item := range list {
		if specs[i].Name != nil && *specs[i].Name == e.Name {
			ours = append(ours, item)
		}
	}
	secret := func(key string) map[string]any { return map[string]any{"name": e.Auth.Secret, "key": key} }
	rules := []any{map[string]any{"sourceLabels": []any{"__name__"}, "regex": e.KeepRegex, "action": "keep"}}
	if r := e.ReplicaLabel; r != "" {
		rules = append(rules,
			map[string]any{"sourceLabels": []any{r}, "regex": "(.*-0)?", "action": "keep"},
			map[string]any{"regex": r, "action": "labeldrop"})
	}
	rules = append(rules, map[string]any{"targetLabel": e.ClusterLabel, "replacement": e.Cluster, "action": "replace"})
	want := map[string]any{
		"name":                e.Name,
		"url":                 e.URL,
		"writeRelabelConfigs": rules,
	}
	if e.Auth.BearerToken {
		want["authorization"] = map[string]any{"type": "Bearer", "credentials": secret("token")}
	}
	if e.Auth.BasicAuth {
		want["basicAuth"] = map[string]any{"username": secret("username"), "password": secret("password")}
	}
	if e.Auth.CA {
		want["tlsConfig"] = map[string]any{"ca": map[string]any{"secret": secret("ca.crt")}}
	}
	if len(ours) != 1 || !reflect.DeepEqual(ours[0], want) {
		t.Errorf("entries named %s: %#v\nwant one: %#v", e.Name, ours, want)
	}
	before, _ := uwmItems(t, config)
	if b, a := withoutPath(before, "prometheus", "remoteWrite"), withoutPath(doc, "prometheus", "remoteWrite"); !reflect.DeepEqual(b, a) {
		t.Errorf("settings besides prometheus.remoteWrite changed:\n%#v\nwere:\n%#v", a, b)
	}
	var afterOthers []any
	for _, item := range list {
		if m, _ := item.(map[string]any); m["name"] != e.Name {
			afterOthers = append(afterOthers, item)
		}
	}
	if beforeOthers := dropNamed(asList(before), e.Name); !reflect.DeepEqual(beforeOthers, afterOthers) {
		t.Errorf("the user's entries changed: %#v\nwere: %#v", afterOthers, beforeOthers)
	}
}

func asList(doc map[string]any) []any {
	prom, _ := doc["prometheus"].(map[string]any)
	list, _ := prom["remoteWrite"].([]any)
	return list
}

func dropNamed(list []any, name string) []any {
	var out []any
	for _, item := range list {
		if m, _ := item.(map[string]any); m["name"] != name {
			out = append(out, item)
		}
	}
	return out
}

func TestUWMCredentials(t *testing.T) {
	for authName, auth := range authVariants("") {
		for configName, config := range map[string]string{"empty": "", "user's": userUWM} {
			e := entry()
			e.Auth = auth
			merged, changed, err := MergeUWM(config, e)
			if err != nil || !changed {
				t.Errorf("%s, %s: changed=%v err=%v", authName, configName, changed, err)
				continue
			}
			assertUWM(t, config, merged, e)
			if strings.Contains(merged, "cert:") || strings.Contains(merged, "{}") {
				t.Errorf("%s, %s: empty settings written:\n%s", authName, configName, merged)
			}
			removed, _, err := RemoveUWM(merged, e.Name)
			if err != nil || removed != config {
				t.Errorf("%s, %s: remove: %v\n%q", authName, configName, err, removed)
			}
		}
	}
}

func TestRemoveUWM(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
		changed            bool
	}{{
		name: "absent", config: userUWM, want: userUWM,
	}, {
		name: "empty", config: "", want: "",
	}, {
		name: "no prometheus", config: "alertmanager:\n  enabled: true\n", want: "alertmanager:\n  enabled: true\n",
	}, {
		name:    "ours alone in prometheus: the section goes",
		config:  "alertmanager:\n  enabled: true\nprometheus:\n  remoteWrite:\n  - name: " + ourName + "\n    url: http://x/w\nthanosRuler: {}\n",
		want:    "alertmanager:\n  enabled: true\nthanosRuler: {}\n",
		changed: true,
	}, {
		name:    "ours alone in the document: nothing is left",
		config:  "prometheus:\n  remoteWrite:\n  - name: " + ourName + "\n    url: http://x/w\n",
		want:    "",
		changed: true,
	}, {
		name:    "ours alone, other prometheus settings stay",
		config:  "prometheus:\n  remoteWrite:\n  - name: " + ourName + "\n    url: http://x/w\n  retention: 24h\n",
		want:    "prometheus:\n  retention: 24h\n",
		changed: true,
	}, {
		name:    "the user's entries stay",
		config:  "prometheus:\n  remoteWrite:\n  - name: a\n    url: http://a/w\n  - name: " + ourName + "\n    url: http://x/w\n  - name: b\n    url: http://b/w\n",
		want:    "prometheus:\n  remoteWrite:\n  - name: a\n    url: http://a/w\n  - name: b\n    url: http://b/w\n",
		changed: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := RemoveUWM(tc.config, ourName)
			if err != nil || changed != tc.changed || got != tc.want {
				t.Errorf("changed=%v err=%v\n%q\nwant:\n%q", changed, err, got, tc.want)
			}
		})
	}
}

func TestUWMBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, config, err string
	}{
		{"not YAML", "prometheus: {\n", "not valid YAML"},
		{"a list at the top", "- prometheus\n", "configuration is a list, not a mapping"},
		{"prometheus a number", "prometheus: 3\n", "prometheus is a number, not a mapping"},
		{"prometheus a list", "prometheus:\n- remoteWrite\n", "prometheus is a list, not a mapping"},
		{"remoteWrite a string", "prometheus:\n  remoteWrite: https://hub.example.com/write\n", "prometheus.remoteWrite is a string, not a list"},
		{"remoteWrite a mapping", "prometheus:\n  remoteWrite:\n    url: https://hub.example.com/write\n", "prometheus.remoteWrite is a mapping, not a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := MergeUWM(tc.config, entry())
			if err == nil || !strings.Contains(err.Error(), tc.err) || changed || out != "" {
				t.Errorf("merge: %q, changed=%v, err=%v; want an error with %q", out, changed, err, tc.err)
			}
			out, changed, err = RemoveUWM(tc.config, ourName)
			if err == nil || !strings.Contains(err.Error(), tc.err) || changed || out != "" {
				t.Errorf("remove: %q, changed=%v, err=%v; want an error with %q", out, changed, err, tc.err)
			}
		})
	}
}

func TestUWMRoundTrip(t *testing.T) {
	e := entry()
	e.Auth = Auth{Secret: "rw-creds", BasicAuth: true, CA: true}
	for i, config := range []string{
		"",
		userUWM,
		"# only a comment\n",
		"prometheus:\n  retention: 24h",
		"prometheus:\r\n  remoteWrite:\r\n    - name: a\r\n      url: http://a/w\r\n",
		"alertmanager:\n  enabled: true\n\n# prometheus comes later\n",
		"prometheus:\n    retention: 24h\n    remoteWrite:\n        - url: http://a/w\n          name: a\n    # more\nthanosRuler: {}\n",
		"prometheus:\n  externalLabels: {region: north}\n  remoteWrite:\n  - {name: a, url: 'http://a/w'}\n",
		"---\nprometheus:\n  retention: 24h\n...\n",
	} {
		merged, changed, err := MergeUWM(config, e)
		if err != nil || !changed {
			t.Errorf("%d: merge: changed=%v err=%v", i, changed, err)
			continue
		}
		assertUWM(t, config, merged, e)
		if again, changed, err := MergeUWM(merged, e); err != nil || changed || again != merged {
			t.Errorf("%d: second merge: changed=%v err=%v", i, changed, err)
		}
		removed, changed, err := RemoveUWM(merged, e.Name)
		if err != nil || !changed || removed != config {
			t.Errorf("%d: remove: changed=%v err=%v\n%q\nwant:\n%q\nmerged:\n%s", i, changed, err, removed, config, merged)
		}
	}
}
