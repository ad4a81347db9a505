package remotewrite

import (
	"encoding/json"
	"errors"
	"path"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Where the entries live in each text format.
var (
	prometheusYAMLPath = []string{"remote_write"}
	uwmPath            = []string{"prometheus", "remoteWrite"}
)

// MergePrometheusYAML puts the entry into a prometheus.yml's remote_write:
// in place of the entry with its name, or after the last entry. Everything
// else keeps its bytes (see editList for when it cannot). changed is false
// when an equal entry is already there, and config is then returned as is.
// An empty configuration is an error: a Prometheus without one is not
// something to create.
func MergePrometheusYAML(config string, e Entry) (string, bool, error) {
	if err := e.check(true); err != nil {
		return "", false, err
	}
	var doc any
	if err := yaml.Unmarshal([]byte(config), &doc); err == nil && doc == nil {
		return "", false, errors.New("the ConfigMap key that should hold prometheus.yml is empty: there is no Prometheus configuration to add remote_write to")
	}
	item, err := prometheusYAMLItem(e)
	if err != nil {
		return "", false, err
	}
	return editList(config, prometheusYAMLPath, e.Name, item)
}

// RemovePrometheusYAML takes the entry named name out of a prometheus.yml;
// a remote_write left empty goes with it. Without such an entry, config is
// returned as is.
func RemovePrometheusYAML(config, name string) (string, bool, error) {
	if name == "" {
		return "", false, errors.New("no remote_write entry name to remove")
	}
	return editList(config, prometheusYAMLPath, name, nil)
}

// MergeUWM puts the entry into OpenShift's user-workload monitoring
// config.yaml (prometheus.remoteWrite), creating what is missing; an empty
// config gives a document holding just that. External labels are not
// touched: they also label the user's alerts, and the cluster label
// travels in the entry's relabel rule.
func MergeUWM(config string, e Entry) (string, bool, error) {
	if err := e.check(false); err != nil {
		return "", false, err
	}
	item, err := uwmItem(e)
	if err != nil {
		return "", false, err
	}
	return editList(config, uwmPath, e.Name, item)
}

// RemoveUWM takes the entry named name out of a config.yaml; a remoteWrite
// left empty goes, and so does a prometheus section it leaves empty. A
// document left empty is "".
func RemoveUWM(config, name string) (string, bool, error) {
	if name == "" {
		return "", false, errors.New("no remote_write entry name to remove")
	}
	return editList(config, uwmPath, name, nil)
}

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
	}
	for _, r := range e.rules() {
		y.WriteRelabelConfigs = append(y.WriteRelabelConfigs, ymlRelabel{
			SourceLabels: r.sourceLabels, Regex: r.regex, TargetLabel: r.targetLabel, Replacement: r.replacement, Action: r.action,
		})
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

func prometheusYAMLItem(e Entry) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(prometheusYAMLEntry(e)); err != nil {
		return nil, err
	}
	return &n, nil
}

// uwmItem is PrometheusEntry as a YAML mapping. It goes through the JSON
// encoding so the keys are exactly the Prometheus Operator's, in the order
// of its types, with name moved first for the reader.
func uwmItem(e Entry) (*yaml.Node, error) {
	raw, err := json.Marshal(PrometheusEntry(e))
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	n := doc.Content[0]
	dropEmptyMappings(n)
	blockStyle(n)
	if i := keyIndex(n, "name"); i > 0 {
		pair := slices.Clone(n.Content[i : i+2])
		n.Content = slices.Concat(pair, slices.Delete(n.Content, i, i+2))
	}
	return n, nil
}

// dropEmptyMappings removes keys whose value is an empty mapping (the
// typed structs marshal unset struct fields such as tlsConfig.cert as {}).
func dropEmptyMappings(n *yaml.Node) {
	for _, c := range n.Content {
		dropEmptyMappings(c)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); {
		if v := n.Content[i+1]; v.Kind == yaml.MappingNode && len(v.Content) == 0 {
			n.Content = slices.Delete(n.Content, i, i+2)
			continue
		}
		i += 2
	}
}

// blockStyle clears the JSON styles (flow collections, double quotes): the
// encoder then writes block style and quotes only what needs it, which the
// kept !!str tags make it do.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
