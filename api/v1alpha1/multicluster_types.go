package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterSpec is one remote cluster of the mesh: Kiali sees it through its
// remote-cluster Secret, and its Prometheus sends the mesh metrics to the
// hub's receiver.
// +kubebuilder:validation:XValidation:rule="!has(self.kialiAccess) || self.kialiAccess != 'Managed' || has(self.kubeconfig)",message="spec.clusters[].kialiAccess Managed needs kubeconfig: the Secret key of a kubeconfig that may create Kiali's ServiceAccount, ClusterRole and binding on that cluster"
// +kubebuilder:validation:XValidation:rule="!has(self.tokenLifetime) || (has(self.kialiAccess) && self.kialiAccess == 'Managed')",message="spec.clusters[].tokenLifetime applies only to kialiAccess Managed"
// +kubebuilder:validation:XValidation:rule="!has(self.kialiAccess) || self.kialiAccess != 'Managed' || !has(self.kialiSecret) || size(self.kialiSecret) <= 240",message="spec.clusters[].kialiSecret may have at most 240 characters with kialiAccess Managed: each token's Secret adds a suffix"
type ClusterSpec struct {
	// Name of the cluster, as Kiali and the metrics know it: the cluster in
	// Kiali's view, the key of its remote-cluster Secret and the value of
	// the cluster label on every sample the cluster sends.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="spec.clusters[].name must be a DNS label such as east"
	Name string `json:"name"`

	// KialiSecret names Kiali's remote-cluster Secret in this namespace, in
	// the form kiali-prepare-remote-cluster.sh writes: label
	// kiali.io/multiCluster: "true", annotation kiali.io/cluster: <name>,
	// and key <name> holding a kubeconfig. Defaults to
	// "kiali-remote-cluster-secret-<name>". It is only read.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	KialiSecret string `json:"kialiSecret,omitempty"`

	// KialiAccess says who makes Kiali's access to this cluster. Provided
	// (the default): the user made Kiali's remote-cluster Secret, named by
	// kialiSecret, and the operator only reads it. Managed: the operator
	// makes, through kubeconfig, Kiali's ServiceAccount, ClusterRole and
	// binding on that cluster (the Kiali operator's role for the Kiali
	// version of spec.kiali, its viewer role with spec.kiali.viewOnlyMode),
	// requests short-lived tokens for it with the TokenRequest API, renews
	// them before they expire and writes each into a new immutable
	// remote-cluster Secret, kialiSecret-<suffix>, that the Kiali CR then
	// names.
	// +kubebuilder:validation:Enum=Provided;Managed
	// +optional
	KialiAccess KialiAccessMode `json:"kialiAccess,omitempty"`

	// TokenLifetime is how long each token of Managed access is valid.
	// Defaults to 24h; at least 10m, the shortest the TokenRequest API
	// issues. The API server may shorten it (its
	// --service-account-max-token-expiration); the operator renews at 80%
	// of the lifetime the token really has.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10m')",message="spec.clusters[].tokenLifetime must be at least 10m: the TokenRequest API issues no shorter token"
	TokenLifetime *metav1.Duration `json:"tokenLifetime,omitempty"`

	// Kubeconfig is the Secret key holding the kubeconfig the operator uses
	// to write on this cluster (the remote_write entry and the receiver
	// credentials). Kiali's remote-cluster Secret is usually read-only, so
	// set this when Prometheus is set. Defaults to KialiSecret, key <name>.
	// Kubeconfigs that run exec or auth-provider plugins or read local files
	// are refused.
	// +optional
	Kubeconfig *SecretKeyReference `json:"kubeconfig,omitempty"`

	// Prometheus is the cluster's Prometheus that the operator makes send
	// the mesh metrics to spec.metrics.receiver. Without it the cluster is
	// only listed in Kiali.
	// +optional
	Prometheus *SpokePrometheus `json:"prometheus,omitempty"`
}

// KialiAccessMode says who makes Kiali's remote-cluster Secret.
type KialiAccessMode string

const (
	// KialiAccessProvided: the user makes the Secret; the operator reads it.
	KialiAccessProvided KialiAccessMode = "Provided"
	// KialiAccessManaged: the operator makes Kiali's identity on the
	// cluster and keeps a short-lived token for it in the Secret.
	KialiAccessManaged KialiAccessMode = "Managed"
)

// SpokePrometheus is the Prometheus of a remote cluster: exactly one of
// resource, userWorkloadMonitoring and configMap.
// +kubebuilder:validation:XValidation:rule="[has(self.resource), has(self.userWorkloadMonitoring), has(self.configMap)].filter(x, x).size() == 1",message="spec.clusters[].prometheus needs exactly one of resource, userWorkloadMonitoring or configMap"
type SpokePrometheus struct {
	// Resource is a Prometheus Operator Prometheus (monitoring.coreos.com/v1):
	// the operator adds its entry to spec.remoteWrite. Every replica scrapes
	// the same targets, so the entry sends only the first replica's samples
	// of each shard (its spec.replicaExternalLabelName label, default
	// prometheus_replica, ends in -0), without that label: the hub holds
	// each series once. That replica's restarts pause the cluster's metrics.
	// +optional
	Resource *ObjectReference `json:"resource,omitempty"`

	// UserWorkloadMonitoring is OpenShift's user-workload monitoring: the
	// operator adds its entry to prometheus.remoteWrite in the ConfigMap
	// openshift-user-workload-monitoring/user-workload-monitoring-config,
	// sending the first of its two replicas' samples. It reads
	// enableUserWorkload in openshift-monitoring/cluster-monitoring-config
	// and reports UserWorkloadMonitoringOff when that is not true.
	// +optional
	UserWorkloadMonitoring *UserWorkloadMonitoringTarget `json:"userWorkloadMonitoring,omitempty"`

	// ConfigMap holds a plain prometheus.yml (Istio's sample Prometheus add-on
	// and similar): the operator adds its entry to remote_write. Prometheus
	// reads the change when it reloads its configuration. A ConfigMap that
	// another controller renders (it has an owner reference, or OpenShift
	// Service Mesh's maistra.io/owner label) is not written, as that
	// controller would revert the entry: the status says RenderedByAnother.
	// Run such a Prometheus as one replica, or label its replicas
	// prometheus_replica with their StatefulSet pod names: only the one
	// ending in -0 sends.
	// +optional
	ConfigMap *PrometheusConfigMap `json:"configMap,omitempty"`
}

// UserWorkloadMonitoringTarget selects OpenShift's user-workload monitoring.
// It has no settings: the ConfigMap's place is fixed by OpenShift.
type UserWorkloadMonitoringTarget struct{}

// ObjectReference names a namespaced object.
type ObjectReference struct {
	// Namespace of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`

	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// PrometheusConfigMap is a ConfigMap holding a prometheus.yml.
type PrometheusConfigMap struct {
	ObjectReference `json:",inline"`

	// Key of the configuration in the ConfigMap. Defaults to "prometheus.yml".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`

	// CredentialsDir is where that Prometheus mounts the receiver
	// credentials Secret the operator writes next to the ConfigMap (named
	// like the entry, see status.clusters[].credentialsSecret). A plain
	// prometheus.yml reads credentials from files, so this is required when
	// the receiver needs a bearer token, basic auth or a CA.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="spec.clusters[].prometheus.configMap.credentialsDir must be an absolute path"
	CredentialsDir string `json:"credentialsDir,omitempty"`
}

// MetricsSpec wires the Prometheus of every cluster in spec.clusters to one
// receiver in the hub, which Kiali reads.
type MetricsSpec struct {
	// Receiver is where the clusters' Prometheus servers write.
	Receiver ReceiverSpec `json:"receiver"`

	// KeepRegex selects the metric names sent (a write-relabel keep rule on
	// __name__). Defaults to "istio_.*|envoy_.*|up".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	KeepRegex string `json:"keepRegex,omitempty"`

	// ClusterLabel is the label that carries the cluster's name on every
	// sample sent. Defaults to "cluster".
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z_][a-zA-Z0-9_]*$') && !self.startsWith('__')",message="spec.metrics.clusterLabel must be a Prometheus label name such as cluster"
	ClusterLabel string `json:"clusterLabel,omitempty"`

	// Verify queries the hub for the newest sample of each cluster and
	// reports it in status.clusters and the MetricsWired condition.
	// +optional
	Verify *VerifySpec `json:"verify,omitempty"`
}

// ReceiverSpec is the hub's remote-write receiver: a Thanos Receive, or a
// Prometheus with the remote-write receiver on.
// +kubebuilder:validation:XValidation:rule="!(has(self.bearerToken) && has(self.basicAuth))",message="spec.metrics.receiver takes a bearerToken or basicAuth, not both: Prometheus sends one Authorization header"
type ReceiverSpec struct {
	// URL the clusters write to, as they reach it, for example
	// https://prometheus-hub.apps.hub.example.com/api/v1/write.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('http://') || self.startsWith('https://'))",message="spec.metrics.receiver.url must be an http or https URL"
	URL string `json:"url"`

	// BearerToken is a Secret key in this namespace with the token the
	// clusters send. The operator copies it to each cluster.
	// +optional
	BearerToken *SecretKeyReference `json:"bearerToken,omitempty"`

	// BasicAuth names a Secret in this namespace with the keys "username"
	// and "password". The operator copies it to each cluster.
	// +optional
	BasicAuth *SecretReference `json:"basicAuth,omitempty"`

	// CA is a Secret key in this namespace with the PEM CA bundle that
	// verifies the receiver's certificate. Key defaults to "ca.crt".
	// +optional
	CA *SecretKeyReference `json:"ca,omitempty"`

	// Prometheus is the hub's Prometheus Operator Prometheus that receives:
	// the operator sets its spec.enableRemoteWriteReceiver, and unsets it
	// again on deletion if it was the one to set it.
	//
	// The operator writes it with its own identity, so it does so only for
	// a Prometheus in this KialiAuthProxy's namespace, or for one whose
	// owner allows this namespace with the annotation
	// mesh.kialiauth.io/allowed-namespaces: a comma-separated list of
	// namespace names, such as "kiali,team-a". Otherwise nothing is
	// written to it, and MetricsWired says ReceiverNotAllowed. "*" is not
	// accepted: it would let the editors of every namespace, including
	// namespaces created later, open a write endpoint on that Prometheus.
	// +optional
	Prometheus *ObjectReference `json:"prometheus,omitempty"`
}

// AllowedNamespacesAnnotation, on a Prometheus in another namespace, names
// the namespaces whose KialiAuthProxies may switch on its remote-write
// receiver (spec.metrics.receiver.prometheus): a comma-separated list.
const AllowedNamespacesAnnotation = "mesh.kialiauth.io/allowed-namespaces"

// SecretReference names a Secret in the KialiAuthProxy's namespace.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// VerifySpec configures the check that metrics arrive at the hub.
type VerifySpec struct {
	// Enabled turns the check on. Defaults to true when a query URL is known
	// (QueryURL or spec.kiali.prometheus.url).
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// QueryURL is the base URL of the hub Prometheus HTTP API, as the
	// operator reaches it. Defaults to spec.kiali.prometheus.url: the
	// Prometheus Kiali reads is the one that must hold every cluster.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('http://') || self.startsWith('https://'))",message="spec.metrics.verify.queryURL must be an http or https URL"
	QueryURL string `json:"queryURL,omitempty"`

	// BearerToken is a Secret key in this namespace with a token for the
	// query API (for example a Thanos querier behind an oauth-proxy).
	// +optional
	BearerToken *SecretKeyReference `json:"bearerToken,omitempty"`

	// CA is a Secret key in this namespace with the PEM CA bundle that
	// verifies the query API's certificate. Key defaults to "ca.crt".
	// +optional
	CA *SecretKeyReference `json:"ca,omitempty"`

	// Interval between checks. Defaults to 1m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	Interval *metav1.Duration `json:"interval,omitempty"`

	// MaxSampleAge is how old a cluster's newest sample may be for its
	// metrics to count as flowing. Defaults to 5m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	MaxSampleAge *metav1.Duration `json:"maxSampleAge,omitempty"`
}

// ClusterStatus is what the operator saw of one cluster.
type ClusterStatus struct {
	// Name of the cluster.
	Name string `json:"name"`

	// Wired is true when the cluster's Prometheus configuration holds the
	// operator's remote_write entry as the spec asks.
	Wired bool `json:"wired"`

	// Entry is the name of the operator's remote_write entry there; the
	// receiver credentials Secret next to the Prometheus has this name too.
	// +optional
	Entry string `json:"entry,omitempty"`

	// MetricsFlowing is true when the hub holds a sample from this cluster
	// no older than spec.metrics.verify.maxSampleAge; unset when not checked.
	// +optional
	MetricsFlowing *bool `json:"metricsFlowing,omitempty"`

	// LastSampleAge is the age of the cluster's newest sample at the hub when
	// it was last checked, such as "12s".
	// +optional
	LastSampleAge string `json:"lastSampleAge,omitempty"`

	// Reason is why the cluster is not wired, or why its metrics would be
	// wrong at the hub, in CamelCase: ClusterUnreachable (the operator
	// could not write there), RenderedByAnother (the configMap target is
	// rendered by another controller, which would revert the entry; nothing
	// is written), UserWorkloadMonitoringOff (OpenShift user-workload
	// monitoring is off, so nothing reads the entry) or NoReplicaLabel
	// (several replicas that no label tells apart each send every series).
	// Empty when nothing is wrong.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message says what is wrong, naming the object and the fix.
	// +optional
	Message string `json:"message,omitempty"`

	// Kiali is what the operator saw of Kiali's access to the cluster.
	// +optional
	Kiali *KialiClusterStatus `json:"kiali,omitempty"`
}

// KialiClusterStatus is Kiali's view of one remote cluster: its
// remote-cluster Secret, what its credentials may do there, and whether
// the cluster's name agrees with Istio's and the metrics'.
type KialiClusterStatus struct {
	// Secret is the remote-cluster Secret in this namespace that Kiali
	// reads for the cluster.
	// +optional
	Secret string `json:"secret,omitempty"`

	// Listed is true when the cluster is in the Kiali CR. A cluster whose
	// Secret does not exist is left out until it does: the Kiali operator
	// mounts every listed Secret as a volume the pod cannot start without.
	Listed bool `json:"listed"`

	// Reachable is true when Kiali's credentials were accepted by the
	// cluster's API server at the last check.
	// +optional
	Reachable bool `json:"reachable,omitempty"`

	// TokenExpiresAt is when the token of Managed access expires.
	// +optional
	TokenExpiresAt *metav1.Time `json:"tokenExpiresAt,omitempty"`

	// RenewAt is when the operator renews that token.
	// +optional
	RenewAt *metav1.Time `json:"renewAt,omitempty"`

	// MissingPermissions are the permissions Kiali needs there that its
	// credentials lack, such as "list pods".
	// +optional
	MissingPermissions []string `json:"missingPermissions,omitempty"`

	// IstioClusterID is the cluster's name in Istio: the CLUSTER_ID of its
	// istiod, which its proxies put in the source_cluster and
	// destination_cluster labels of the mesh metrics.
	// +optional
	IstioClusterID string `json:"istioClusterID,omitempty"`

	// Reason is what is wrong with Kiali's access, in CamelCase (the
	// reasons of the ClustersReachable condition); empty when nothing is.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message says what is wrong and how to fix it.
	// +optional
	Message string `json:"message,omitempty"`
}
