// Package remotewrite merges the operator's one remote_write entry into a
// Prometheus sender's configuration, and takes it out again, leaving every
// other part of that configuration as the user wrote it. It knows three
// senders: a Prometheus Operator Prometheus (spec.remoteWrite), OpenShift's
// user-workload monitoring ConfigMap (prometheus.remoteWrite in config.yaml)
// and a plain prometheus.yml (remote_write). It is pure: no client, no clock.
package remotewrite

import (
	"errors"
	"fmt"
	"regexp"
)

// DefaultKeepRegex keeps the metrics Kiali reads: Istio's and Envoy's, and up
// (so a spoke that scrapes nothing is still seen to send).
const DefaultKeepRegex = "istio_.*|envoy_.*|up"

// DefaultClusterLabel is the label that names the spoke on every sample.
const DefaultClusterLabel = "cluster"

// DefaultReplicaLabel is the external label that tells a Prometheus's
// replicas apart: the Prometheus Operator's default for
// spec.replicaExternalLabelName, and what OpenShift's platform and
// user-workload monitoring use.
const DefaultReplicaLabel = "prometheus_replica"

// FirstReplicaRegex matches the replica label of the first replica: a
// Prometheus Operator (and so OpenShift) replica label holds the pod's
// name, and StatefulSet pods end in their ordinal ("prometheus-k8s-0",
// "prometheus-k8s-shard-1-0" for each further shard, whose targets differ).
// The empty value is a sender with no replica label, whose samples are
// its own.
const FirstReplicaRegex = "(.*-0)?"

// Keys of the credentials Secret the operator copies next to a sender.
const (
	BearerTokenKey = "token"
	UsernameKey    = "username"
	PasswordKey    = "password"
	CAKey          = "ca.crt"
)

// Entry is the one remote_write entry the operator owns in a sender's
// configuration. Name identifies it: entries with other names are never
// changed.
type Entry struct {
	// Name of the entry (remote_write[].name); unique per KialiAuthProxy.
	Name string
	// URL the spoke writes to: the hub's receiver.
	URL string
	// KeepRegex selects the metric names sent (a keep rule on __name__).
	KeepRegex string
	// ClusterLabel and Cluster: every sample sent gets ClusterLabel=Cluster
	// (a replace rule after the keep rule), so the hub tells spokes apart.
	ClusterLabel string
	Cluster      string
	// ReplicaLabel is the sender's replica external label. When set, only
	// the first replica's samples are sent, and without that label: every
	// replica scrapes the same targets, and a hub that kept them all
	// would count each series once per replica. Prometheus adds external
	// labels before it applies write_relabel_configs, so the rules see it.
	// Empty: the sender has no replica label, and the entry has no rule
	// for one.
	ReplicaLabel string
	// Auth is how the spoke authenticates to the receiver; zero means none.
	Auth Auth
}

// Auth says which credentials the entry uses. They live in one Secret the
// operator copies next to the sender, under the keys above.
type Auth struct {
	// Secret is the name of that Secret, in the sender's namespace (used by
	// the Prometheus and user-workload monitoring senders, which reference
	// Secrets by name).
	Secret string
	// Dir is where that Secret is mounted in a plain Prometheus (used by the
	// prometheus.yml sender, which reads credentials from files).
	Dir string
	// BearerToken: send the token in Secret key "token".
	BearerToken bool
	// BasicAuth: send Username with the password in key "password". The
	// prometheus.yml sender writes Username inline (Prometheus before 2.45
	// has no username_file); the others read key "username".
	BasicAuth bool
	Username  string
	// CA: verify the receiver with the CA in key "ca.crt".
	CA bool
}

// check refuses entries no sender accepts, before anything is edited.
// files: the entry is for prometheus.yml, which needs Auth.Dir; the others
// need Auth.Secret.
func (e Entry) check(files bool) error {
	if e.Name == "" {
		// An empty name would match every unnamed entry of the user's.
		return errors.New("the remote_write entry has no name")
	}
	if r := e.ReplicaLabel; r != "" {
		if !labelName.MatchString(r) {
			return fmt.Errorf("the replica label %q is not a Prometheus label name", r)
		}
		if r == e.ClusterLabel {
			return fmt.Errorf("the cluster label %q is also the sender's replica label: choose another spec.metrics.clusterLabel", r)
		}
	}
	a := e.Auth
	if a.BearerToken && a.BasicAuth {
		return errors.New("the receiver's bearer token and basic auth cannot be used together: Prometheus sends one authorization header")
	}
	if a.BearerToken || a.BasicAuth || a.CA {
		if files && a.Dir == "" {
			return errors.New("the receiver's credentials need the directory they are mounted at")
		}
		if !files && a.Secret == "" {
			return errors.New("the receiver's credentials need the Secret that holds them")
		}
	}
	return nil
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// rule is one write relabel rule, in neither format's spelling.
type rule struct {
	sourceLabels []string
	regex        string
	targetLabel  string
	replacement  string
	action       string
}

// rules are the entry's write relabel rules, in order: the metrics kept,
// the first replica only and without its label (when the sender has one),
// then the cluster's name. Lowercase actions: the Prometheus Operator's
// CRD accepts both cases, and these are what Prometheus documents.
func (e Entry) rules() []rule {
	out := []rule{{sourceLabels: []string{"__name__"}, regex: e.KeepRegex, action: "keep"}}
	if r := e.ReplicaLabel; r != "" {
		out = append(out,
			rule{sourceLabels: []string{r}, regex: FirstReplicaRegex, action: "keep"},
			rule{regex: r, action: "labeldrop"})
	}
	return append(out, rule{targetLabel: e.ClusterLabel, replacement: e.Cluster, action: "replace"})
}
