// Package remotewrite merges the operator's one remote_write entry into a
// Prometheus sender's configuration, and takes it out again, leaving every
// other part of that configuration as the user wrote it. It knows three
// senders: a Prometheus Operator Prometheus (spec.remoteWrite), OpenShift's
// user-workload monitoring ConfigMap (prometheus.remoteWrite in config.yaml)
// and a plain prometheus.yml (remote_write). It is pure: no client, no clock.
package remotewrite

import "errors"

// DefaultKeepRegex keeps the metrics Kiali reads: Istio's and Envoy's, and up
// (so a spoke that scrapes nothing is still seen to send).
const DefaultKeepRegex = "istio_.*|envoy_.*|up"

// DefaultClusterLabel is the label that names the spoke on every sample.
const DefaultClusterLabel = "cluster"

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
