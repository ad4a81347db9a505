package remotewrite

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	monv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"go.yaml.in/yaml/v3"
)

func entry() Entry {
	return Entry{
		Name: "kialiauthproxy-kiali-kiali", URL: "https://hub.example.com/api/v1/write",
		KeepRegex: DefaultKeepRegex, ClusterLabel: DefaultClusterLabel, Cluster: "east",
	}
}

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

func TestPrometheusYAMLKeepsTheUsersBytes(t *testing.T) {
	e := entry()
	merged, changed, err := MergePrometheusYAML(userPrometheusYAML, e)
	if err != nil || !changed {
		t.Fatalf("merge: changed=%v err=%v", changed, err)
	}
	want := strings.Replace(userPrometheusYAML, "    max_samples_per_send: 500\n", `    max_samples_per_send: 500
- name: kialiauthproxy-kiali-kiali
  url: https://hub.example.com/api/v1/write
  write_relabel_configs:
    - source_labels: [__name__]
      regex: istio_.*|envoy_.*|up
      action: keep
    - target_label: cluster
      replacement: east
      action: replace
`, 1)
	if merged != want {
		t.Errorf("merged:\n%s\nwant:\n%s", merged, want)
	}

	again, changed, err := MergePrometheusYAML(merged, e)
	if err != nil || changed || again != merged {
		t.Errorf("second merge changed=%v err=%v", changed, err)
	}

	e.Cluster = "west"
	updated, changed, err := MergePrometheusYAML(merged, e)
	if err != nil || !changed {
		t.Fatalf("update: changed=%v err=%v", changed, err)
	}
	if updated != strings.Replace(merged, "replacement: east", "replacement: west", 1) {
		t.Errorf("update rewrote more than the entry:\n%s", updated)
	}

	removed, changed, err := RemovePrometheusYAML(updated, e.Name)
	if err != nil || !changed || removed != userPrometheusYAML {
		t.Errorf("remove: changed=%v err=%v\n%s", changed, err, removed)
	}
	same, changed, err := RemovePrometheusYAML(userPrometheusYAML, e.Name)
	if err != nil || changed || same != userPrometheusYAML {
		t.Errorf("removing an absent entry: changed=%v err=%v", changed, err)
	}
}

func TestEntriesBeforeAndAfterOursSurvive(t *testing.T) {
	e := entry()
	config := "remote_write:\n  - name: first\n    url: http://a/w\n  - name: " + e.Name + "\n    url: http://old/w\n  - name: last\n    url: http://c/w\nscrape_configs: []\n"
	merged, changed, err := MergePrometheusYAML(config, e)
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	if !strings.HasPrefix(merged, "remote_write:\n  - name: first\n    url: http://a/w\n  - name: "+e.Name+"\n    url: https://hub.example.com/api/v1/write\n") ||
		!strings.HasSuffix(merged, "  - name: last\n    url: http://c/w\nscrape_configs: []\n") {
		t.Errorf("merged:\n%s", merged)
	}
	removed, _, err := RemovePrometheusYAML(merged, e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if removed != "remote_write:\n  - name: first\n    url: http://a/w\n  - name: last\n    url: http://c/w\nscrape_configs: []\n" {
		t.Errorf("removed:\n%s", removed)
	}
}

func TestPrometheusYAMLWithoutRemoteWrite(t *testing.T) {
	for name, config := range map[string]string{
		"no key":              "global:\n  scrape_interval: 30s\n",
		"no trailing newline": "global:\n  scrape_interval: 30s",
		"crlf":                "global:\r\n  scrape_interval: 30s\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			merged, changed, err := MergePrometheusYAML(config, entry())
			if err != nil || !changed {
				t.Fatal(changed, err)
			}
			if !strings.HasPrefix(merged, strings.TrimSuffix(config, "\n")) || !strings.Contains(merged, "remote_write:") {
				t.Errorf("merged:\n%q", merged)
			}
			if strings.Contains(config, "\r\n") && strings.Count(merged, "\n") != strings.Count(merged, "\r\n") {
				t.Errorf("line endings mixed: %q", merged)
			}
			removed, _, err := RemovePrometheusYAML(merged, entry().Name)
			if err != nil {
				t.Fatal(err)
			}
			if removed != config && removed != config+"\n" {
				t.Errorf("removed: %q", removed)
			}
			assertSameData(t, removed, config)
		})
	}
}

func TestFlowStyleFallsBackToTheNodeTree(t *testing.T) {
	config := "# comment kept\nremote_write: [{name: other, url: 'http://o/w'}]\nglobal: {scrape_interval: 5s}\n"
	merged, changed, err := MergePrometheusYAML(config, entry())
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(merged), &doc); err != nil {
		t.Fatal(err)
	}
	if names := entryNamesOf(doc["remote_write"]); !reflect.DeepEqual(names, []string{"other", entry().Name}) {
		t.Errorf("entries %v in\n%s", names, merged)
	}
	if !strings.Contains(merged, "# comment kept") {
		t.Errorf("comment lost:\n%s", merged)
	}
	removed, _, err := RemovePrometheusYAML(merged, entry().Name)
	if err != nil {
		t.Fatal(err)
	}
	assertSameData(t, removed, config)
}

func TestBadInputIsAnErrorNotAnOverwrite(t *testing.T) {
	for name, config := range map[string]string{
		"not yaml":              "remote_write: [\n",
		"remote_write a string": "remote_write: http://x\n",
		"not a mapping":         "- a\n- b\n",
		"two documents":         "global: {}\n---\nglobal: {}\n",
	} {
		if _, _, err := MergePrometheusYAML(config, entry()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, _, err := MergePrometheusYAML("", entry()); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty: %v", err)
	}
	if _, _, err := MergeUWM("prometheus: 3\n", entry()); err == nil || !strings.Contains(err.Error(), "prometheus is not a mapping") {
		t.Errorf("uwm prometheus scalar: %v", err)
	}
	if _, _, err := MergeUWM("prometheus:\n  remoteWrite: yes\n", entry()); err == nil || !strings.Contains(err.Error(), "prometheus.remoteWrite is not a list") {
		t.Errorf("uwm remoteWrite scalar: %v", err)
	}
}

const userUWM = `prometheus:
  retention: 24h
  externalLabels:
    region: north
  remoteWrite:
    - name: archive
      url: https://archive.example.com/write
alertmanager:
  enabled: true # user's
`

func TestUWMKeepsTheUsersBytesAndParsesStrictly(t *testing.T) {
	e := entry()
	e.Auth = Auth{Secret: e.Name, BearerToken: true, CA: true}
	for name, config := range map[string]string{
		"with entries":    userUWM,
		"no remoteWrite":  "prometheus:\n  retention: 24h\nalertmanager:\n  enabled: true\n",
		"no prometheus":   "alertmanager:\n  enabled: true\n",
		"empty":           "",
		"prometheus null": "prometheus:\nalertmanager: {enabled: true}\n",
	} {
		t.Run(name, func(t *testing.T) {
			merged, changed, err := MergeUWM(config, e)
			if err != nil || !changed {
				t.Fatal(changed, err)
			}
			var doc struct {
				Prometheus struct {
					RemoteWrite []json.RawMessage `yaml:"-" json:"remoteWrite"`
				} `json:"prometheus"`
			}
			generic := map[string]any{}
			if err := yaml.Unmarshal([]byte(merged), &generic); err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(generic)
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, item := range doc.Prometheus.RemoteWrite {
				var spec monv1.RemoteWriteSpec
				dec := json.NewDecoder(bytes.NewReader(item))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&spec); err != nil {
					t.Errorf("not a RemoteWriteSpec: %v: %s", err, item)
				}
				if spec.Name != nil && *spec.Name == e.Name {
					found = true
					if spec.Authorization == nil || spec.Authorization.Credentials.Name != e.Name || spec.TLSConfig == nil {
						t.Errorf("auth not rendered: %s", item)
					}
				}
			}
			if !found {
				t.Errorf("entry missing:\n%s", merged)
			}
			if again, changed, _ := MergeUWM(merged, e); changed || again != merged {
				t.Error("second merge changed the config")
			}
			removed, changed, err := RemoveUWM(merged, e.Name)
			if err != nil || !changed {
				t.Fatal(changed, err)
			}
			if name == "prometheus null" {
				assertSameData(t, removed, "alertmanager: {enabled: true}\n")
				return
			}
			if removed != config {
				t.Errorf("removed:\n%q\nwant:\n%q", removed, config)
			}
		})
	}
	merged, _, _ := MergeUWM(userUWM, e)
	if !strings.HasPrefix(merged, userUWM[:strings.Index(userUWM, "alertmanager:")]) || !strings.HasSuffix(merged, "alertmanager:\n  enabled: true # user's\n") {
		t.Errorf("user's lines changed:\n%s", merged)
	}
}

func TestPrometheusResourceList(t *testing.T) {
	user := []any{map[string]any{"name": "archive", "url": "https://a/w", "remoteTimeout": "30s"}}
	e := entry()
	merged, changed, err := MergeList(user, e)
	if err != nil || !changed || len(merged) != 2 || !reflect.DeepEqual(merged[0], user[0]) {
		t.Fatalf("merge: %v %v %#v", changed, err, merged)
	}
	for _, item := range merged {
		raw, _ := json.Marshal(item)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var spec monv1.RemoteWriteSpec
		if err := dec.Decode(&spec); err != nil {
			t.Errorf("not a RemoteWriteSpec: %v", err)
		}
	}
	// As the API server returns it: numbers and nested maps decoded afresh.
	raw, _ := json.Marshal(merged)
	var live []any
	_ = json.Unmarshal(raw, &live)
	if _, changed, _ := MergeList(live, e); changed {
		t.Error("an equal entry counted as a change")
	}
	e.URL = "https://other/w"
	updated, changed, _ := MergeList(live, e)
	if !changed || updated[1].(map[string]any)["url"] != "https://other/w" || !reflect.DeepEqual(updated[0], live[0]) {
		t.Errorf("update: %#v", updated)
	}
	rest, changed := RemoveFromList(updated, e.Name)
	if !changed || !reflect.DeepEqual(rest, []any{live[0]}) {
		t.Errorf("remove: %#v", rest)
	}
	if rest, _ := RemoveFromList([]any{updated[1]}, e.Name); rest != nil {
		t.Errorf("removing the only entry left %#v", rest)
	}
}

// TestPromtoolAcceptsEveryPrometheusYAML runs Debian's promtool on the
// configuration with each kind of receiver credentials.
func TestPromtoolAcceptsEveryPrometheusYAML(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is needed: install Debian's prometheus package (make tools)")
	}
	dir := t.TempDir()
	for file, content := range map[string][]byte{BearerTokenKey: []byte("token"), PasswordKey: []byte("pw"), CAKey: testCA(t)} {
		if err := os.WriteFile(filepath.Join(dir, file), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, auth := range map[string]Auth{
		"none":       {},
		"bearer":     {Dir: dir, BearerToken: true},
		"basic":      {Dir: dir, BasicAuth: true, Username: "writer"},
		"ca":         {Dir: dir, CA: true},
		"bearer, ca": {Dir: dir, BearerToken: true, CA: true},
	} {
		e := entry()
		e.Auth = auth
		config, _, err := MergePrometheusYAML(userPrometheusYAML, e)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "prometheus.yml")
		if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(promtool, "check", "config", file).CombinedOutput(); err != nil {
			t.Errorf("%s: promtool: %v\n%s\n%s", name, err, out, config)
		}
	}
}

func testCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func assertSameData(t *testing.T, got, want string) {
	t.Helper()
	var a, b any
	if err := yaml.Unmarshal([]byte(got), &a); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("data differs:\n%s\nwant:\n%s", got, want)
	}
}

func entryNamesOf(v any) []string {
	var names []string
	list, _ := v.([]any)
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			names = append(names, m["name"].(string))
		}
	}
	return names
}
