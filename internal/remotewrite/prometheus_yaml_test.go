package remotewrite

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const hub = "https://hub.example.com/api/v1/write"

// userPrometheusYAML is a configuration with the user's own remote_write
// entry, comments, flow and block style, and quoting.
const userPrometheusYAML = `# Prometheus for the mesh
global:
  scrape_interval: 15s # keep
  external_labels: {region: north}

remote_write:
- name: archive
  url: "https://archive.example.com/write"   # the user's
  queue_config:
    max_samples_per_send: 500

# scraping
scrape_configs:
  - job_name: pods
    static_configs: [{targets: ["localhost:9090"]}]
`

func TestMergePrometheusYAML(t *testing.T) {
	pt := newPromtool(t)
	moved := entry()
	moved.URL = "https://hub2.example.com/api/v1/write"
	renamed := entry()
	renamed.Cluster = "west"
	for _, tc := range []struct {
		name   string
		config string
		e      Entry
		// want is the merged text, exactly; empty for the fallback cases,
		// which are checked as data.
		want string
		// removed is what taking our entry out again gives; by default
		// config itself.
		removed string
	}{{
		name:   "appended after the user's entry, dash at the key's column",
		config: userPrometheusYAML,
		e:      entry(),
		want: strings.Replace(userPrometheusYAML, "    max_samples_per_send: 500\n",
			"    max_samples_per_send: 500\n"+ymlItem(0, hub, "east"), 1),
	}, {
		name: "appended with the list's indented dashes, before the comment that leads on",
		config: `global:
  scrape_interval: 15s
remote_write:
  - name: archive
    url: https://archive.example.com/write
  # the next one is for the lab
  - name: lab
    url: http://lab.example.com/write # plain http

  # end of remote_write
scrape_configs: []
`,
		e: entry(),
		want: `global:
  scrape_interval: 15s
remote_write:
  - name: archive
    url: https://archive.example.com/write
  # the next one is for the lab
  - name: lab
    url: http://lab.example.com/write # plain http
` + ymlItem(2, hub, "east") + `
  # end of remote_write
scrape_configs: []
`,
	}, {
		name: "a new remote_write key at the end of the document",
		config: `global:
  scrape_interval: 15s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: [localhost:9090]
# end of file
`,
		e: entry(),
		want: `global:
  scrape_interval: 15s
scrape_configs:
  - job_name: self
    static_configs:
      - targets: [localhost:9090]
# end of file
remote_write:
` + ymlItem(0, hub, "east"),
	}, {
		name:    "an empty remote_write key is filled",
		config:  "global:\n  scrape_interval: 15s\nremote_write: # filled by the operator\nscrape_configs: []\n",
		e:       entry(),
		want:    "global:\n  scrape_interval: 15s\nremote_write: # filled by the operator\n" + ymlItem(0, hub, "east") + "scrape_configs: []\n",
		removed: "global:\n  scrape_interval: 15s\nscrape_configs: []\n",
	}, {
		name: "URL updated in place between the user's entries",
		config: `remote_write:
  - name: first
    url: http://a.example.com/write
  - name: ` + ourName + ` # ours
    url: http://old.example.com/write
    # a comment inside ours goes with it
    write_relabel_configs: []
  - name: last
    url: http://c.example.com/write
scrape_configs: []
`,
		e: moved,
		want: `remote_write:
  - name: first
    url: http://a.example.com/write
` + ymlItem(2, moved.URL, "east") + `  - name: last
    url: http://c.example.com/write
scrape_configs: []
`,
		removed: `remote_write:
  - name: first
    url: http://a.example.com/write
  - name: last
    url: http://c.example.com/write
scrape_configs: []
`,
	}, {
		name:    "cluster updated in place at the end",
		config:  "remote_write:\n- name: archive\n  url: https://archive.example.com/write\n" + ymlItem(0, hub, "east") + "# trailing comment\n",
		e:       renamed,
		want:    "remote_write:\n- name: archive\n  url: https://archive.example.com/write\n" + ymlItem(0, hub, "west") + "# trailing comment\n",
		removed: "remote_write:\n- name: archive\n  url: https://archive.example.com/write\n# trailing comment\n",
	}, {
		name:    "further entries with our name are dropped",
		config:  "remote_write:\n- name: " + ourName + "\n  url: http://x/w\n- name: archive\n  url: http://a/w\n- name: " + ourName + "\n  url: http://y/w\n",
		e:       entry(),
		want:    "remote_write:\n" + ymlItem(0, hub, "east") + "- name: archive\n  url: http://a/w\n",
		removed: "remote_write:\n- name: archive\n  url: http://a/w\n",
	}, {
		name: "odd indentation",
		config: `global:
    scrape_interval: 15s
remote_write:
    -   name: archive
        url: https://archive.example.com/write
`,
		e: entry(),
		want: `global:
    scrape_interval: 15s
remote_write:
    -   name: archive
        url: https://archive.example.com/write
` + ymlItem(4, hub, "east"),
	}, {
		name: "quoted key",
		config: `"remote_write":
- name: archive
  url: https://archive.example.com/write
`,
		e: entry(),
		want: `"remote_write":
- name: archive
  url: https://archive.example.com/write
` + ymlItem(0, hub, "east"),
	}, {
		name:   "CRLF line breaks",
		config: "global:\r\n  scrape_interval: 15s\r\nremote_write:\r\n- name: archive\r\n  url: https://archive.example.com/write\r\n",
		e:      entry(),
		want: "global:\r\n  scrape_interval: 15s\r\nremote_write:\r\n- name: archive\r\n  url: https://archive.example.com/write\r\n" +
			strings.ReplaceAll(ymlItem(0, hub, "east"), "\n", "\r\n"),
	}, {
		name:   "no line break at the end",
		config: "remote_write:\n- name: archive\n  url: https://archive.example.com/write",
		e:      entry(),
		want:   "remote_write:\n- name: archive\n  url: https://archive.example.com/write\n" + strings.TrimSuffix(ymlItem(0, hub, "east"), "\n"),
	}, {
		name:   "a new key with no line break at the end",
		config: "global:\n  scrape_interval: 15s",
		e:      entry(),
		want:   "global:\n  scrape_interval: 15s\nremote_write:\n" + strings.TrimSuffix(ymlItem(0, hub, "east"), "\n"),
	}, {
		name:   "only the first document is Prometheus's",
		config: "global:\n  scrape_interval: 15s\n---\nnot: read by prometheus\n",
		e:      entry(),
		want:   "global:\n  scrape_interval: 15s\nremote_write:\n" + ymlItem(0, hub, "east") + "---\nnot: read by prometheus\n",
	}, {
		name:   "document end marker",
		config: "global: {}\n...\n",
		e:      entry(),
		want:   "global: {}\nremote_write:\n" + ymlItem(0, hub, "east") + "...\n",
	}, {
		name:   "flow-style list: the node tree is encoded again",
		config: "# comment kept\nremote_write: [{name: other, url: 'http://o.example.com/w'}]\nglobal: {scrape_interval: 5s}\n",
		e:      entry(),
	}, {
		name:   "empty flow-style list",
		config: "global:\n  scrape_interval: 15s\nremote_write: []\n",
		e:      entry(),
		// The emptied list goes rather than coming back as [].
		removed: "global:\n  scrape_interval: 15s\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			merged, changed, err := MergePrometheusYAML(tc.config, tc.e)
			if err != nil || !changed {
				t.Fatalf("merge: changed=%v err=%v", changed, err)
			}
			if tc.want != "" && merged != tc.want {
				t.Errorf("merged:\n%s\nwant:\n%s", merged, tc.want)
			}
			pt.check(tc.name, merged)
			assertOurYAMLEntry(t, merged, tc.e)
			if tc.want == "" {
				// Fallback: compare as data, ours appended.
				before := yamlValue(t, tc.config).(map[string]any)
				after := yamlValue(t, merged).(map[string]any)
				if !reflect.DeepEqual(withoutPath(before, "remote_write"), withoutPath(after, "remote_write")) {
					t.Errorf("other settings changed:\n%s", merged)
				}
				if strings.HasPrefix(tc.config, "#") && !strings.Contains(merged, strings.SplitN(tc.config, "\n", 2)[0]) {
					t.Errorf("comment lost:\n%s", merged)
				}
			}

			again, changed, err := MergePrometheusYAML(merged, tc.e)
			if err != nil || changed || again != merged {
				t.Errorf("second merge: changed=%v err=%v\n%s", changed, err, again)
			}

			removed, changed, err := RemovePrometheusYAML(merged, tc.e.Name)
			if err != nil || !changed {
				t.Fatalf("remove: changed=%v err=%v", changed, err)
			}
			want := tc.removed
			if want == "" {
				want = tc.config
			}
			if tc.want == "" && tc.removed == "" {
				assertSameData(t, removed, want)
			} else if removed != want {
				t.Errorf("removed:\n%q\nwant:\n%q", removed, want)
			}
			if strings.Contains(removed, ourName) {
				t.Errorf("entry left behind:\n%s", removed)
			}
		})
	}
}

// assertOurYAMLEntry checks the entry in a merged prometheus.yml is the
// one e describes, key by key.
func assertOurYAMLEntry(t *testing.T, config string, e Entry) {
	t.Helper()
	doc, _ := yamlValue(t, config).(map[string]any)
	var ours []any
	list, _ := doc["remote_write"].([]any)
	for _, item := range list {
		if m, _ := item.(map[string]any); m["name"] == e.Name {
			ours = append(ours, item)
		}
	}
	rules := []any{map[string]any{"source_labels": []any{"__name__"}, "regex": e.KeepRegex, "action": "keep"}}
	if r := e.ReplicaLabel; r != "" {
		rules = append(rules,
			map[string]any{"source_labels": []any{r}, "regex": "(.*-0)?", "action": "keep"},
			map[string]any{"regex": r, "action": "labeldrop"})
	}
	rules = append(rules, map[string]any{"target_label": e.ClusterLabel, "replacement": e.Cluster, "action": "replace"})
	want := map[string]any{
		"name":                  e.Name,
		"url":                   e.URL,
		"write_relabel_configs": rules,
	}
	if e.Auth.BearerToken {
		want["authorization"] = map[string]any{"type": "Bearer", "credentials_file": filepath.Join(e.Auth.Dir, "token")}
	}
	if e.Auth.BasicAuth {
		want["basic_auth"] = map[string]any{"username": e.Auth.Username, "password_file": filepath.Join(e.Auth.Dir, "password")}
	}
	if e.Auth.CA {
		want["tls_config"] = map[string]any{"ca_file": filepath.Join(e.Auth.Dir, "ca.crt")}
	}
	if len(ours) != 1 || !reflect.DeepEqual(ours[0], want) {
		t.Errorf("entries named %s: %#v\nwant one: %#v", e.Name, ours, want)
	}
}

// TestPrometheusYAMLCredentials: each kind of receiver credentials, in
// each kind of configuration, is accepted by promtool, which also checks
// that the token, password and CA files exist and the CA parses.
func TestPrometheusYAMLCredentials(t *testing.T) {
	pt := newPromtool(t)
	dir := credentials(t)
	for authName, auth := range authVariants(dir) {
		for configName, config := range map[string]string{
			"user's entries":  userPrometheusYAML,
			"no remote_write": "global:\n  scrape_interval: 15s\n",
			"empty key":       "global:\n  scrape_interval: 15s\nremote_write:\n",
			"flow list":       "remote_write: [{name: other, url: 'http://o.example.com/w'}]\n",
		} {
			e := entry()
			e.Auth = auth
			merged, changed, err := MergePrometheusYAML(config, e)
			if err != nil || !changed {
				t.Errorf("%s, %s: changed=%v err=%v", authName, configName, changed, err)
				continue
			}
			assertOurYAMLEntry(t, merged, e)
			assertCredentialFiles(t, merged)
			pt.check(authName+", "+configName, merged)
			// Switching credentials rewrites only our entry.
			plain, changed, err := MergePrometheusYAML(merged, entry())
			if err != nil || changed != (auth != Auth{}) {
				t.Errorf("%s, %s: back to no auth: changed=%v err=%v", authName, configName, changed, err)
			}
			pt.check(authName+", "+configName+", back to no auth", plain)
		}
	}
}

func TestRemovePrometheusYAML(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
		changed            bool
	}{{
		name:   "absent: nothing changes",
		config: userPrometheusYAML, want: userPrometheusYAML,
	}, {
		name:   "no remote_write at all",
		config: "global:\n  scrape_interval: 15s\n", want: "global:\n  scrape_interval: 15s\n",
	}, {
		name:   "empty text",
		config: "", want: "",
	}, {
		name:   "another entry's name only looks like ours",
		config: "remote_write:\n- name: " + ourName + "-2\n  url: http://a/w\n- url: http://b/w\n  name: 7\n",
		want:   "remote_write:\n- name: " + ourName + "-2\n  url: http://a/w\n- url: http://b/w\n  name: 7\n",
	}, {
		name:    "ours first, user's entry kept",
		config:  "remote_write:\n  - name: " + ourName + "\n    url: http://x/w\n\n  # user's\n  - name: archive\n    url: http://a/w\nrule_files: []\n",
		want:    "remote_write:\n\n  # user's\n  - name: archive\n    url: http://a/w\nrule_files: []\n",
		changed: true,
	}, {
		name:    "ours alone: the key goes",
		config:  "global:\n  scrape_interval: 15s\n# remote write\nremote_write:\n  - name: " + ourName + "\n    url: http://x/w\n# rules\nrule_files: []\n",
		want:    "global:\n  scrape_interval: 15s\n# remote write\n# rules\nrule_files: []\n",
		changed: true,
	}, {
		name:    "ours written in flow style inside a block list",
		config:  "remote_write:\n- {name: " + ourName + ", url: 'http://x/w'}\n- name: archive\n  url: http://a/w\n",
		want:    "remote_write:\n- name: archive\n  url: http://a/w\n",
		changed: true,
	}, {
		name:    "flow-style list",
		config:  "remote_write: [{name: " + ourName + ", url: 'http://x/w'}, {name: archive, url: 'http://a/w'}]\n",
		want:    "remote_write: [{name: archive, url: 'http://a/w'}]\n",
		changed: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := RemovePrometheusYAML(tc.config, ourName)
			if err != nil || changed != tc.changed {
				t.Fatalf("changed=%v err=%v", changed, err)
			}
			if got != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestPrometheusYAMLBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, config, err string
	}{
		{"empty", "", "ConfigMap key"},
		{"blank", "  \n\n", "ConfigMap key"},
		{"comments only", "# nothing yet\n", "ConfigMap key"},
		{"not YAML", "remote_write: [\n", "not valid YAML"},
		{"tab indentation", "global:\n\tscrape_interval: 15s\n", "not valid YAML"},
		{"duplicate key", "global: {}\nglobal: {}\n", "not valid YAML"},
		{"a list at the top", "- a\n- b\n", "configuration is a list, not a mapping"},
		{"a string at the top", "just words\n", "configuration is a string, not a mapping"},
		{"remote_write a string", "remote_write: http://x.example.com/write\n", "remote_write is a string, not a list"},
		{"remote_write a mapping", "remote_write:\n  url: http://x.example.com/write\n", "remote_write is a mapping, not a list"},
		{"remote_write shared by an alias", "x: &rw [{name: a}]\nremote_write: *rw\n", "remote_write cannot be edited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := MergePrometheusYAML(tc.config, entry())
			if err == nil || !strings.Contains(err.Error(), tc.err) || changed || out != "" {
				t.Errorf("merge: %q, changed=%v, err=%v; want an error with %q", out, changed, err, tc.err)
			}
			if tc.err == "ConfigMap key" {
				return
			}
			if strings.Contains(tc.err, "cannot be edited") {
				return // removing an absent entry from it is fine
			}
			out, changed, err = RemovePrometheusYAML(tc.config, ourName)
			if err == nil || changed || out != "" {
				t.Errorf("remove: %q, changed=%v, err=%v; want an error", out, changed, err)
			}
		})
	}
}

// TestPrometheusYAMLRoundTrip: for configurations without our entry,
// removing what merging added gives back the exact bytes.
func TestPrometheusYAMLRoundTrip(t *testing.T) {
	e := entry()
	e.Auth = Auth{Dir: "/etc/prometheus/remote-write", BearerToken: true, CA: true}
	for i, config := range []string{
		userPrometheusYAML,
		"global:\n  scrape_interval: 15s\n",
		"global:\n  scrape_interval: 15s",
		"global:\r\n  scrape_interval: 15s\r\n",
		"global:\r\n  scrape_interval: 15s\r\nremote_write:\r\n  - name: a\r\n    url: http://a/w\r\n",
		"---\nglobal:\n  scrape_interval: 15s\n",
		"global: {scrape_interval: 15s}\n\n\n",
		"\n\nglobal: {}\n# trailing\n\n# comments\n",
		"remote_write:\n- name: a\n  url: http://a/w\n  write_relabel_configs:\n  - action: drop\n    regex: 'x|y'\n    source_labels: [__name__]\n",
		"remote_write:\n  - url: http://a/w\n    name: a\n    headers:\n      X-Scope-OrgID: |\n        tenant\n        # not a comment\n",
		"remote_write:\n  - url: http://a/w\n  -   url: http://b/w # b\n      name: b\n\n\nscrape_configs: []\n",
		"remote_write:\n- url: http://a/w\n...\n# after the end\n",
		"global: {}\n---\nremote_write: [not, ours]\n",
		"remote_write: # none yet\n  - name: a\n    url: http://a/w\n",
		"  global: {}\n  remote_write:\n  - name: a\n    url: http://a/w\n",
		"\ufeffglobal: {}\n",
		"global: {}\nremote_write:\n- name: a\n  url: http://a/w # é, ünïcode ✓\n- name: b\n  url: \"http://b/w\"\n",
	} {
		merged, changed, err := MergePrometheusYAML(config, e)
		if err != nil || !changed {
			t.Errorf("%d: merge: changed=%v err=%v", i, changed, err)
			continue
		}
		if again, changed, err := MergePrometheusYAML(merged, e); err != nil || changed || again != merged {
			t.Errorf("%d: second merge: changed=%v err=%v", i, changed, err)
		}
		removed, changed, err := RemovePrometheusYAML(merged, e.Name)
		if err != nil || !changed || removed != config {
			t.Errorf("%d: remove: changed=%v err=%v\n%q\nwant:\n%q\nmerged:\n%s", i, changed, err, removed, config, merged)
		}
	}
}

// assertCredentialFiles reads every file the entries refer to, as
// Prometheus will (promtool 2.42 does not open remote_write's files), and
// loads the CA the way Prometheus does.
func assertCredentialFiles(t *testing.T, config string) {
	t.Helper()
	doc, _ := yamlValue(t, config).(map[string]any)
	list, _ := doc["remote_write"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		for section, key := range map[string]string{"authorization": "credentials_file", "basic_auth": "password_file", "tls_config": "ca_file"} {
			s, _ := m[section].(map[string]any)
			file, _ := s[key].(string)
			if file == "" {
				continue
			}
			content, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s.%s: %v", section, key, err)
				continue
			}
			if key == "ca_file" && !x509.NewCertPool().AppendCertsFromPEM(content) {
				t.Errorf("%s holds no PEM certificate", file)
			}
		}
	}
}
