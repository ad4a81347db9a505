package controller

// Reasons of the MetricsWired condition and of status.clusters[].reason
// beyond those in status.go. They are part of the API: tools match on them.
const (
	// ReasonReceiverNotAllowed: spec.metrics.receiver.prometheus is in
	// another namespace and its owner has not allowed this one; nothing was
	// written to it.
	ReasonReceiverNotAllowed = "ReceiverNotAllowed"
	// ReasonReceiverReplicated: the hub Prometheus runs several pods, and
	// the writes spread over them leave each with part of the data.
	ReasonReceiverReplicated = "ReceiverReplicated"
	// ReasonRenderedByAnother: the cluster's configMap target is rendered
	// by another controller, which would revert the entry; nothing was
	// written to it.
	ReasonRenderedByAnother = "RenderedByAnother"
	// ReasonUserWorkloadMonitoringOff: the entry is in place, but OpenShift
	// user-workload monitoring is off on that cluster, so nothing sends.
	ReasonUserWorkloadMonitoringOff = "UserWorkloadMonitoringOff"
	// ReasonNoReplicaLabel: the cluster's Prometheus runs several replicas
	// with no label telling them apart, so each sends every series.
	ReasonNoReplicaLabel = "NoReplicaLabel"
	// ReasonReceiverLeftAlone is the event recorded when a receiver the
	// operator switched on may no longer be written: it is left as it is.
	ReasonReceiverLeftAlone = "ReceiverLeftAlone"
)
