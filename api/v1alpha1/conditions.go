package v1alpha1

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The conditions of status.conditions, their reasons and how they read.
// Types and reasons are part of the API: tools match on them, so they are
// declared here and nowhere else.

// Condition types.
const (
	// ConditionReady is True when Kiali is served through the proxy: every
	// condition of Conditions that counts toward Ready is good, and the
	// spec's references are usable.
	ConditionReady           = "Ready"
	ConditionKialiConfigured = "KialiConfigured"
	ConditionProxyAvailable  = "ProxyAvailable"
	ConditionExposed         = "Exposed"
	// ConditionDegraded is True while a reference of the spec is unusable,
	// a stored setting is ignored, or objects are in the way.
	ConditionDegraded   = "Degraded"
	ConditionMeshLocked = "MeshLocked"
	// ConditionHtpasswdBypassesSAR is True while htpasswd logins are on:
	// oauth-proxy does not check the SubjectAccessReviews for those users.
	ConditionHtpasswdBypassesSAR = "HtpasswdBypassesSAR"
	// ConditionKialiWritesBypassSAR is True while Kiali may change the mesh
	// (not view-only) and no SubjectAccessReview asks the user for a write
	// permission on the mesh's configuration: anonymous Kiali makes its
	// writes with its own rights for whoever the proxy lets in.
	ConditionKialiWritesBypassSAR = "KialiWritesBypassSAR"
	// ConditionMetricsWired reports the clusters' Prometheus wiring (and,
	// when checked, that their metrics arrive); per cluster detail is in
	// status.clusters. Reported only when spec.clusters has a Prometheus,
	// or while something is still wired.
	ConditionMetricsWired = "MetricsWired"
	// ConditionClustersReachable reports Kiali's access to the clusters of
	// spec.clusters: each one listed in the Kiali CR, its credentials
	// accepted and granted what Kiali needs, its name the one Istio and
	// the metrics use. Per cluster detail is in status.clusters[].kiali.
	// Reported only when spec.clusters is not empty.
	ConditionClustersReachable = "ClustersReachable"
)

// ConditionSpec says how one condition type reads.
// +kubebuilder:object:generate=false
type ConditionSpec struct {
	Type string
	// Good is the status that is good news: True for most, False for the
	// conditions that report a risk or a problem.
	Good metav1.ConditionStatus
	// ReadyRank is the order in which the condition holds Ready back: Ready
	// names the lowest-ranked one that is not good. 0: it does not count
	// toward Ready.
	ReadyRank int
	// ProgressAtFirst: on a new KialiAuthProxy the condition is expected
	// not to be good yet, so its first status is no news (no event).
	ProgressAtFirst bool
	// ProgressReasonsAtFirst are the reasons that, as a condition's first
	// status, are progress rather than news, when not any reason is.
	ProgressReasonsAtFirst []string
	// NotReadyAsIntended lists the reasons for which the condition is not
	// good because the spec asks for it; they do not hold Ready back.
	NotReadyAsIntended []string
}

// Conditions are the conditions the operator reports, in the order it
// reports them.
var Conditions = []ConditionSpec{
	{Type: ConditionReady, Good: metav1.ConditionTrue, ProgressAtFirst: true},
	{Type: ConditionKialiConfigured, Good: metav1.ConditionTrue, ReadyRank: 2},
	{Type: ConditionProxyAvailable, Good: metav1.ConditionTrue, ReadyRank: 3, ProgressAtFirst: true},
	{Type: ConditionExposed, Good: metav1.ConditionTrue, ReadyRank: 4},
	// A new KialiAuthProxy's Kiali is not running yet (the Kiali operator
	// has still to deploy it), so the lock-down cannot be shown to apply.
	{Type: ConditionMeshLocked, Good: metav1.ConditionTrue, ReadyRank: 5, NotReadyAsIntended: []string{ReasonLockDownDisabled},
		ProgressReasonsAtFirst: []string{ReasonKialiNotRunning}},
	// Degraded comes first: a bad reference is usually why the rest is not
	// ready either.
	{Type: ConditionDegraded, Good: metav1.ConditionFalse, ReadyRank: 1},
	// A warning, not part of Ready: htpasswd logins are a choice.
	{Type: ConditionHtpasswdBypassesSAR, Good: metav1.ConditionFalse},
	// A warning, not part of Ready: a console that may change the mesh is
	// a choice.
	{Type: ConditionKialiWritesBypassSAR, Good: metav1.ConditionFalse},
	// Not part of Ready: Kiali works without one cluster's metrics, and
	// that cluster's status entry says what is wrong.
	{Type: ConditionMetricsWired, Good: metav1.ConditionTrue},
	// Not part of Ready either: Kiali serves the other clusters, and the
	// hub's, without this one.
	{Type: ConditionClustersReachable, Good: metav1.ConditionTrue},
}

// ConditionSpecOf returns the spec of a condition type; ok is false for a
// type the operator does not report.
func ConditionSpecOf(t string) (ConditionSpec, bool) {
	for _, c := range Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return ConditionSpec{}, false
}

// IsProgressAtFirst reports whether c, as the first status of its type, is
// expected on the way to good.
func (s ConditionSpec) IsProgressAtFirst(c metav1.Condition) bool {
	return s.ProgressAtFirst || slices.Contains(s.ProgressReasonsAtFirst, c.Reason)
}

// IsGood reports whether c is good news.
func (s ConditionSpec) IsGood(c metav1.Condition) bool { return c.Status == s.Good }

// Reasons of Ready, KialiConfigured, ProxyAvailable, Exposed and MeshLocked.
const (
	ReasonReady                   = "Ready"
	ReasonKialiApplied            = "KialiApplied"
	ReasonKialiCRDMissing         = "KialiCRDMissing"
	ReasonApplyFailed             = "ApplyFailed"
	ReasonDeploymentAvailable     = "DeploymentAvailable"
	ReasonDeploymentUnavailable   = "DeploymentUnavailable"
	ReasonDeploymentNotFound      = "DeploymentNotFound"
	ReasonVirtualServiceApplied   = "VirtualServiceApplied"
	ReasonRouteApplied            = "RouteApplied"
	ReasonIstioCRDMissing         = "IstioCRDMissing"
	ReasonRouteCRDMissing         = "RouteCRDMissing"
	ReasonLockedDown              = "LockedDown"
	ReasonKialiNotRunning         = "KialiNotRunning"
	ReasonNotInMesh               = "NotInMesh"
	ReasonLockDownDisabled        = "LockDownDisabled"
	ReasonIstioSecurityCRDMissing = "IstioSecurityCRDMissing"
	ReasonHTTPRouteApplied        = "HTTPRouteApplied"
	ReasonGatewayAPICRDMissing    = "GatewayAPICRDMissing"
	// ReasonCertManagerCRDMissing: spec.proxy.tls.certManager, and
	// cert-manager's Certificate CRD is not served.
	ReasonCertManagerCRDMissing = "CertManagerCRDMissing"
	// ReasonIntegratedOAuthDisabled: the OpenShift provider on an
	// OpenShift whose integrated OAuth server is off (external OIDC); no
	// proxy is rolled out.
	ReasonIntegratedOAuthDisabled = "IntegratedOAuthDisabled"
	// ReasonIssuerNotTrusted: SubjectAccessReview authorization with an
	// issuer, or a client ID, the cluster's API server does not accept.
	ReasonIssuerNotTrusted = "IssuerNotTrusted"
)

// Reasons of HtpasswdBypassesSAR and KialiWritesBypassSAR.
const (
	ReasonHtpasswdConfigured = "HtpasswdConfigured"
	ReasonNoHtpasswd         = "NoHtpasswd"
	ReasonViewOnly           = "ViewOnly"
	ReasonSARChecksWrites    = "SARChecksWrites"
	ReasonKialiCanWrite      = "KialiCanWrite"
)

// Reasons of Degraded. Any of them also becomes the reason of Ready.
const (
	ReasonReferencesValid      = "ReferencesValid"
	ReasonSecretNotFound       = "SecretNotFound"
	ReasonSecretKeyMissing     = "SecretKeyMissing"
	ReasonSessionSecretInvalid = "SessionSecretInvalid"
	ReasonOverrideIgnored      = "OverrideIgnored"
	ReasonPasswordTooLong      = "PasswordTooLong"
	ReasonCookieRefreshIgnored = "CookieRefreshIgnored"
	ReasonExtraArgsIgnored     = "ExtraArgsIgnored"
	// ReasonPodAnnotationsIgnored: spec.kiali.podAnnotations holds
	// protected annotations, stored before the rule that refuses them.
	ReasonPodAnnotationsIgnored = "PodAnnotationsIgnored"
	ReasonCertificateInvalid    = "CertificateInvalid"
	// ReasonConfigMapNotFound and ReasonConfigMapKeyMissing: a ConfigMap
	// the spec references (spec.proxy.oidc.issuerCA) is missing, or lacks
	// the key.
	ReasonConfigMapNotFound   = "ConfigMapNotFound"
	ReasonConfigMapKeyMissing = "ConfigMapKeyMissing"
	// ReasonAdoptionRequired: objects of the names the operator would use
	// exist, spec.adoption is Refuse, and nothing was applied.
	ReasonAdoptionRequired = "AdoptionRequired"
	// ReasonControlledByAnother: an object of such a name is controlled by
	// another owner, which the operator never takes over.
	ReasonControlledByAnother = "ControlledByAnother"
	// ReasonAdoptionImpossible: spec.adoption is Adopt, but an object in the
	// way differs from the rendered one in a field that cannot change.
	ReasonAdoptionImpossible = "AdoptionImpossible"
)

// Reasons of MetricsWired and of status.clusters[].reason.
const (
	ReasonMetricsWired       = "Wired"
	ReasonMetricsFlowing     = "MetricsFlowing"
	ReasonClusterUnreachable = "ClusterUnreachable"
	ReasonReceiverFailed     = "ReceiverFailed"
	ReasonMetricsNotFlowing  = "MetricsNotFlowing"
	ReasonVerificationFailed = "VerificationFailed"
	ReasonRemovalPending     = "RemovalPending"
	ReasonCleanupPending     = "CleanupPending"
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
)

// Reasons of ClustersReachable and of status.clusters[].kiali.reason.
const (
	ReasonClustersReachable = "ClustersReachable"
	// ReasonKialiSecretMissing: the cluster's remote-cluster Secret does not
	// exist (yet), so the cluster is left out of the Kiali CR.
	ReasonKialiSecretMissing = "KialiSecretMissing"
	// ReasonAccessFailed: the operator could not make Kiali's access on the
	// cluster (its kubeconfig, the cluster, or an object in the way).
	ReasonAccessFailed = "AccessFailed"
	// ReasonTokenRenewalFailed: the token could not be renewed; the message
	// says how long the current one is still valid.
	ReasonTokenRenewalFailed = "TokenRenewalFailed"
	// ReasonCredentialsRejected: the cluster's API server refused Kiali's
	// credentials.
	ReasonCredentialsRejected = "CredentialsRejected"
	// ReasonPermissionsMissing: Kiali's credentials lack permissions Kiali
	// needs there.
	ReasonPermissionsMissing = "PermissionsMissing"
	// ReasonClusterNameMismatch: the cluster's istiod calls it otherwise
	// than spec.clusters[].name.
	ReasonClusterNameMismatch = "ClusterNameMismatch"
	// ReasonMetricsClusterMismatch: the mesh metrics at the hub carry
	// cluster names that are no cluster Kiali knows.
	ReasonMetricsClusterMismatch = "MetricsClusterMismatch"
)

// Reasons of events only.
const (
	// ReasonCleanupSkipped: SkipRemoteCleanupAnnotation gave up on a
	// removal; the event names what was left behind.
	ReasonCleanupSkipped = "CleanupSkipped"
	// ReasonCleanedUp: every remote_write change was taken out again.
	ReasonCleanedUp = "CleanedUp"
	// ReasonReceiverLeftAlone: a receiver the operator switched on may no
	// longer be written, and is left as it is.
	ReasonReceiverLeftAlone = "ReceiverLeftAlone"
)

// RemoteCleanupFinalizer holds a KialiAuthProxy's deletion until the
// operator has taken its remote_write entries (and the receiver switch it
// made) out of other clusters, where owner references cannot reach.
const RemoteCleanupFinalizer = "mesh.kialiauth.io/remote-cleanup"

// SkipRemoteCleanupAnnotation, set to "true" on a KialiAuthProxy, makes the
// operator give up on entries it cannot remove (an unreachable cluster, a
// deleted kubeconfig Secret): it records a Warning event naming each one
// left behind and lets the deletion, or the cluster's removal, proceed.
const SkipRemoteCleanupAnnotation = "mesh.kialiauth.io/skip-remote-cleanup"

// RotateRemoteAccessAnnotation: a new value on a KialiAuthProxy renews the
// token of every cluster with kialiAccess Managed at once, and revokes the
// ones before, for example after a token was exposed.
const RotateRemoteAccessAnnotation = "mesh.kialiauth.io/rotate-remote-access"
