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
	"fmt"
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
	sigsyaml "sigs.k8s.io/yaml"
)

const ourName = "kialiauthproxy-kiali-kiali"

func entry() Entry {
	return Entry{
		Name: ourName, URL: "https://hub.example.com/api/v1/write",
		KeepRegex: DefaultKeepRegex, ClusterLabel: DefaultClusterLabel, Cluster: "east",
	}
}

// ymlItem is entry() as a prometheus.yml list item with its dash at
// column indent, as the merge writes it.
func ymlItem(indent int, url, cluster string) string {
	return indentLines(indent, `- name: `+ourName+`
  url: `+url+`
  write_relabel_configs:
    - source_labels: [__name__]
      regex: istio_.*|envoy_.*|up
      action: keep
    - target_label: cluster
      replacement: `+cluster+`
      action: replace
`)
}

// uwmItemText is entry() as a config.yaml remoteWrite item.
func uwmItemText(indent int, url, cluster string) string {
	return indentLines(indent, `- name: `+ourName+`
  url: `+url+`
  writeRelabelConfigs:
    - sourceLabels:
        - __name__
      regex: istio_.*|envoy_.*|up
      action: keep
    - targetLabel: cluster
      replacement: `+cluster+`
      action: replace
`)
}

func indentLines(n int, text string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "")
}

// promtool checks prometheus.yml texts with Debian's promtool (Prometheus
// 2.42, the oldest the operator supports), all at once when the test ends.
type promtool struct {
	t     *testing.T
	bin   string
	dir   string
	files []string
	names []string
}

func newPromtool(t *testing.T) *promtool {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: install Debian's prometheus package (make tools)")
	}
	p := &promtool{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(p.run)
	return p
}

func (p *promtool) check(name, config string) {
	file := filepath.Join(p.dir, fmt.Sprintf("prometheus-%d.yml", len(p.files)))
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.files = append(p.files, file)
	p.names = append(p.names, name)
}

func (p *promtool) run() {
	if len(p.files) == 0 {
		return
	}
	args := append([]string{"check", "config"}, p.files...)
	if exec.Command(p.bin, args...).Run() == nil {
		return
	}
	// Name the culprits.
	for i, file := range p.files {
		out, err := exec.Command(p.bin, "check", "config", file).CombinedOutput()
		if err != nil {
			text, _ := os.ReadFile(file)
			p.t.Errorf("%s: promtool rejects the configuration: %v\n%s\n%s", p.names[i], err, out, text)
		}
	}
}

// credentials writes the files a prometheus.yml entry refers to, as the
// operator's Secret would be mounted, and returns their directory.
func credentials(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for file, content := range map[string][]byte{
		BearerTokenKey: []byte("s3cr3t-token\n"),
		PasswordKey:    []byte("s3cr3t-password\n"),
		CAKey:          testCA(t),
	} {
		if err := os.WriteFile(filepath.Join(dir, file), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "remote write test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// authVariants are the receiver credentials an entry can use; dir holds
// the files for prometheus.yml.
// Bearer token and basic auth together are refused (TestInvalidEntries).
func authVariants(dir string) map[string]Auth {
	return map[string]Auth{
		"no auth":   {},
		"bearer":    {Secret: "rw-creds", Dir: dir, BearerToken: true},
		"basic":     {Secret: "rw-creds", Dir: dir, BasicAuth: true, Username: "writer"},
		"ca":        {Secret: "rw-creds", Dir: dir, CA: true},
		"bearer+ca": {Secret: "rw-creds", Dir: dir, BearerToken: true, CA: true},
		"basic+ca":  {Secret: "rw-creds", Dir: dir, BasicAuth: true, Username: "writer", CA: true},
	}
}

// strictSpec decodes one remoteWrite item as the Prometheus Operator
// would, refusing any key its RemoteWriteSpec does not have.
func strictSpec(t *testing.T, item any) monv1.RemoteWriteSpec {
	t.Helper()
	raw, err := json.Marshal(item)
	if err != nil {
		t.Fatalf("remoteWrite item is not JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var spec monv1.RemoteWriteSpec
	if err := dec.Decode(&spec); err != nil {
		t.Errorf("remoteWrite item is not a RemoteWriteSpec: %v\n%s", err, raw)
	}
	return spec
}

// uwmItems strictly decodes every prometheus.remoteWrite item of a
// config.yaml, and returns the document as generic data.
func uwmItems(t *testing.T, config string) (map[string]any, []monv1.RemoteWriteSpec) {
	t.Helper()
	raw, err := sigsyaml.YAMLToJSON([]byte(config))
	if err != nil {
		t.Fatalf("config.yaml is not YAML: %v\n%s", err, config)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	prom, _ := doc["prometheus"].(map[string]any)
	list, _ := prom["remoteWrite"].([]any)
	var specs []monv1.RemoteWriteSpec
	for _, item := range list {
		specs = append(specs, strictSpec(t, item))
	}
	return doc, specs
}

// yamlValue is the data of the first document of text.
func yamlValue(t *testing.T, text string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, text)
	}
	return v
}

func assertSameData(t *testing.T, got, want string) {
	t.Helper()
	if a, b := yamlValue(t, got), yamlValue(t, want); !reflect.DeepEqual(a, b) {
		t.Errorf("data differs:\n%s\nwant the data of:\n%s", got, want)
	}
}

// withoutPath is doc without the value at path (and mappings on the way
// left empty by that), for comparing everything the edit must not touch.
func withoutPath(doc any, path ...string) any {
	m, ok := doc.(map[string]any)
	if !ok || len(path) == 0 {
		return doc
	}
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	if len(path) == 1 {
		delete(out, path[0])
	} else if v := withoutPath(m[path[0]], path[1:]...); v == nil {
		delete(out, path[0])
	} else {
		out[path[0]] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
