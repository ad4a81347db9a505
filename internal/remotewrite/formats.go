package remotewrite

import (
	"errors"
	"path"
	"sort"

	"go.yaml.in/yaml/v3"
)

// The entry in prometheus.yml's own (snake_case) format, in the order a
// person would write it.
type ymlEntry struct {
	Name                string        `yaml:"name"`
	URL                 string        `yaml:"url"`
	WriteRelabelConfigs []ymlRelabel  `yaml:"write_relabel_configs"`
	Authorization       *ymlAuthz     `yaml:"authorization,omitempty"`
	BasicAuth           *ymlBasicAuth `yaml:"basic_auth,omitempty"`
	TLSConfig           *ymlTLSConfig `yaml:"tls_config,omitempty"`
}

type ymlRelabel struct {
	SourceLabels []string `yaml:"source_labels,omitempty,flow"`
	Regex        string   `yaml:"regex,omitempty"`
	TargetLabel  string   `yaml:"target_label,omitempty"`
	Replacement  string   `yaml:"replacement,omitempty"`
	Action       string   `yaml:"action"`
}

type ymlAuthz struct {
	Type            string `yaml:"type"`
	CredentialsFile string `yaml:"credentials_file"`
}

// ymlBasicAuth writes the username inline: Prometheus before 2.45 has no
// username_file.
type ymlBasicAuth struct {
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
}

type ymlTLSConfig struct {
	CAFile string `yaml:"ca_file"`
}

func prometheusYAMLEntry(e Entry) ymlEntry {
	y := ymlEntry{
		Name: e.Name,
		URL:  e.URL,
		WriteRelabelConfigs: []ymlRelabel{
			{SourceLabels: []string{"__name__"}, Regex: e.KeepRegex, Action: "keep"},
			{TargetLabel: e.ClusterLabel, Replacement: e.Cluster, Action: "replace"},
		},
	}
	file := func(key string) string { return path.Join(e.Auth.Dir, key) }
	if e.Auth.BearerToken {
		y.Authorization = &ymlAuthz{Type: "Bearer", CredentialsFile: file(BearerTokenKey)}
	}
	if e.Auth.BasicAuth {
		y.BasicAuth = &ymlBasicAuth{Username: e.Auth.Username, PasswordFile: file(PasswordKey)}
	}
	if e.Auth.CA {
		y.TLSConfig = &ymlTLSConfig{CAFile: file(CAKey)}
	}
	return y
}

// Where the entries live in each format.
var (
	prometheusYAMLPath = []string{"remote_write"}
	uwmPath            = []string{"prometheus", "remoteWrite"}
)

// MergePrometheusYAML puts the entry into a prometheus.yml's remote_write.
// An empty configuration is an error: a Prometheus without one is not
// something to create.
func MergePrometheusYAML(config string, e Entry) (string, bool, error) {
	if config == "" {
		return "", false, errors.New("the Prometheus configuration is empty")
	}
	return seqEdit(config, prometheusYAMLPath, e.Name, prometheusYAMLEntry(e))
}

// RemovePrometheusYAML takes the entry named name out of a prometheus.yml.
func RemovePrometheusYAML(config, name string) (string, bool, error) {
	return seqEdit(config, prometheusYAMLPath, name, nil)
}

// MergeUWM puts the entry into OpenShift's user-workload monitoring
// config.yaml (prometheus.remoteWrite), creating what is missing. External
// labels are not touched: they also label the user's alerts, and the
// cluster label travels in the entry itself.
func MergeUWM(config string, e Entry) (string, bool, error) {
	m, err := EntryMap(e)
	if err != nil {
		return "", false, err
	}
	return seqEdit(config, uwmPath, e.Name, nameFirst(m))
}

// nameFirst is the entry as a YAML mapping with name and url first and the
// rest in alphabetical order, as a person reading the file expects.
func nameFirst(m map[string]any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "name" && k != "url" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range append([]string{"name", "url"}, keys...) {
		var v yaml.Node
		if err := v.Encode(m[k]); err != nil {
			continue
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &v)
	}
	return n
}

// RemoveUWM takes the entry named name out of a config.yaml; a list, and a
// prometheus section, left empty go with it.
func RemoveUWM(config, name string) (string, bool, error) {
	return seqEdit(config, uwmPath, name, nil)
}
