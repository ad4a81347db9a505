package multicluster

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
)

// Report is what the multi-cluster part of a reconcile saw.
type Report struct {
	// active: the spec asks for metrics wiring, or something is still
	// wired; MetricsWired is reported only then.
	active      bool
	receiverURL string
	statuses    []meshv1alpha1.ClusterStatus
	// failed lists the clusters that are not wired, or whose metrics would
	// be wrong at the hub (their statuses say why).
	failed []string
	// leftovers are wirings that could not be removed yet.
	leftovers []string
	// receiverErr: switching the hub's receiver on (or off) failed, or was
	// refused (a *notAllowedError).
	receiverErr error
	// receiver is spec.metrics.receiver.prometheus, and hubPods how many
	// pods it runs (0 when not read).
	receiver *meshv1alpha1.ObjectReference
	hubPods  int64
	// verifyErr: the check could not query the hub.
	verifyErr error
	verified  bool
	queryURL  string
	// silent lists the clusters the hub has no recent sample from.
	silent       []string
	requeueAfter time.Duration

	// Kiali's access: the state Prepare read (its per cluster statuses
	// filled in since), and the clusters of the spec, in its order.
	state *State
	spec  []meshv1alpha1.ClusterSpec
	// issued: a token was issued, whose Secret the Kiali CR lists on the
	// next pass; retry: something failed that is tried again soon.
	issued, retry bool
	// wake is the earliest renewal or revocation due.
	wake time.Time
	// meshClusters are the cluster names the mesh metrics at the hub
	// carry (when meshClustersRead), and hubClusterID the hub's own
	// name in Istio ("" when it could not be read).
	meshClusters     []string
	meshClustersRead bool
	hubClusterID     string
	hubClusterIDErr  error
}

// wakeAt asks to look again at t.
func (rep *Report) wakeAt(t time.Time) {
	if rep.wake.IsZero() || t.Before(rep.wake) {
		rep.wake = t
	}
}

// finish folds Kiali's access into when to look again.
func (rep *Report) finish() {
	if rep.issued {
		// The next pass lists the new Secret in the Kiali CR.
		rep.requeueAfter = time.Second
		return
	}
	if rep.retry || len(rep.leftovers) > 0 {
		rep.requeueAfter = min(rep.requeueAfter, clusterRetry)
	}
	if !rep.wake.IsZero() {
		rep.requeueAfter = min(rep.requeueAfter, max(time.Until(rep.wake), time.Second))
	}
}

// Watching says whether other clusters are involved, so the KialiAuthProxy
// is looked at again on a timer (RequeueAfter).
func (rep *Report) Watching() bool { return rep != nil && (rep.active || len(rep.spec) > 0) }

// Active says whether MetricsWired is reported: the spec asks for metrics
// wiring, or something is still wired.
func (rep *Report) Active() bool { return rep != nil && rep.active }

// Statuses are the entries of status.clusters: every cluster of the spec,
// with Kiali's access to it and, where it has a Prometheus, its wiring;
// then the wirings of clusters that left the spec.
func (rep *Report) Statuses() []meshv1alpha1.ClusterStatus {
	if rep == nil {
		return nil
	}
	var out []meshv1alpha1.ClusterStatus
	done := map[string]bool{}
	for _, c := range rep.spec {
		st := meshv1alpha1.ClusterStatus{Name: c.Name}
		for _, w := range rep.statuses {
			if w.Name == c.Name {
				st = w
			}
		}
		if ks := rep.state.kiali[c.Name]; ks != nil {
			k := *ks
			st.Kiali = &k
		}
		out = append(out, st)
		done[c.Name] = true
	}
	for _, w := range rep.statuses {
		if !done[w.Name] {
			out = append(out, w)
		}
	}
	return out
}

// ClustersActive says whether ClustersReachable is reported: the spec
// lists clusters.
func (rep *Report) ClustersActive() bool { return rep != nil && len(rep.spec) > 0 }

// ClustersCondition is ClustersReachable, summarising Kiali's access to
// every cluster and the names the mesh metrics use.
func (rep *Report) ClustersCondition(b conditions.Builder) metav1.Condition {
	var reason string
	var bad, names []string
	known := map[string]bool{}
	for _, c := range rep.spec {
		names = append(names, c.Name)
		known[c.Name] = true
		ks := rep.state.kiali[c.Name]
		if ks == nil || ks.Reason == "" {
			continue
		}
		if reason == "" {
			reason = ks.Reason
		}
		bad = append(bad, c.Name+": "+ks.Message)
	}
	if rep.hubClusterID != "" {
		known[rep.hubClusterID] = true
	}
	var strangers []string
	for _, n := range rep.meshClusters {
		if !known[n] {
			strangers = append(strangers, n)
		}
	}
	if len(strangers) > 0 {
		if reason == "" {
			reason = meshv1alpha1.ReasonMetricsClusterMismatch
		}
		hub := fmt.Sprintf("the hub, which its istiod calls %q", rep.hubClusterID)
		if rep.hubClusterID == "" {
			hub = fmt.Sprintf("the hub, whose istiod could not be read (%v), so one of them may be the hub's own name", rep.hubClusterIDErr)
		}
		bad = append(bad, fmt.Sprintf(
			"the mesh metrics at %s carry the cluster names %s in %s, which are neither a cluster of spec.clusters (%s) nor %s: Kiali shows no traffic for them. "+
				"Make each cluster's istiod CLUSTER_ID (values.global.multiCluster.clusterName) and its name in spec.clusters the same",
			rep.queryURL, strings.Join(quoteAll(strangers), ", "), strings.Join(meshClusterLabels, "/"), strings.Join(names, ", "), hub))
	}
	if reason != "" {
		return b.Is(meshv1alpha1.ConditionClustersReachable, false, reason, fmt.Sprintf(
			"%s; the other clusters are not affected", strings.Join(bad, ". ")))
	}
	msg := fmt.Sprintf("Kiali reaches clusters %s with the permissions it needs, and each one's name is the one Istio uses", strings.Join(names, ", "))
	if rep.meshClustersRead {
		msg += ", in the mesh metrics at the hub too"
	}
	return b.Is(meshv1alpha1.ConditionClustersReachable, true, meshv1alpha1.ReasonClustersReachable, msg)
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// RequeueAfter is when to look again: other clusters are not watched, so
// drift there is repaired, failures retried and the metrics checked on a
// timer.
func (rep *Report) RequeueAfter() time.Duration { return rep.requeueAfter }

// Condition is MetricsWired, summarising the clusters' wiring. It does not count towards
// Ready: Kiali works without one cluster's metrics, and that cluster's
// status entry says what is wrong.
func (rep *Report) Condition(b conditions.Builder) metav1.Condition {
	// The first cluster with a conditions.Problem names the reason; every one is in
	// the message, those not wired first.
	var reason string
	var notWired, wrong []string
	for _, st := range rep.statuses {
		if st.Wired && st.Reason == "" {
			continue
		}
		if reason == "" {
			reason = st.Reason
			if reason == "" {
				reason = meshv1alpha1.ReasonClusterUnreachable
			}
		}
		if st.Wired {
			wrong = append(wrong, st.Name+": "+st.Message)
		} else {
			notWired = append(notWired, st.Name+": "+st.Message)
		}
	}
	switch {
	case reason != "":
		var parts []string
		if len(notWired) > 0 {
			parts = append(parts, "Not wired: "+strings.Join(notWired, "; "))
		}
		if len(wrong) > 0 {
			parts = append(parts, "Wired, but "+strings.Join(wrong, "; "))
		}
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, reason, fmt.Sprintf(
			"%s; the other clusters are not affected and the operator looks again every %s", strings.Join(parts, ". "), clusterRetry))
	case receiverRefused(rep.receiverErr):
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonReceiverNotAllowed, fmt.Sprintf("The hub's receiver: %v", rep.receiverErr))
	case rep.receiverErr != nil:
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonReceiverFailed, fmt.Sprintf("The hub's receiver: %v", rep.receiverErr))
	case rep.hubPods > 1 && rep.receiver != nil:
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonReceiverReplicated, fmt.Sprintf(
			"Prometheus %s/%s, the hub's receiver, runs %d pods (spec.replicas times spec.shards): each write reaches one of them behind the Service, so each holds part of every cluster's series and Kiali sees gaps; "+
				"run it with one replica and one shard, or receive with something that shares writes among its replicas (Thanos Receive)",
			rep.receiver.Namespace, rep.receiver.Name, rep.hubPods))
	case len(rep.leftovers) > 0:
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonRemovalPending, fmt.Sprintf(
			"The operator's remote_write entry is still in clusters that left spec.clusters: %s; it retries every %s, or annotate the KialiAuthProxy %s=true to leave them",
			strings.Join(rep.leftovers, "; "), clusterRetry, meshv1alpha1.SkipRemoteCleanupAnnotation))
	case rep.verifyErr != nil:
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonVerificationFailed, fmt.Sprintf(
			"Every cluster is wired to %s, but the hub could not be asked whether metrics arrive: %v; fix spec.metrics.verify or set its enabled to false", rep.receiverURL, rep.verifyErr))
	case len(rep.silent) > 0:
		return b.Is(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonMetricsNotFlowing, fmt.Sprintf(
			"Every cluster is wired to %s, but %s has no sample newer than spec.metrics.verify.maxSampleAge from %s: check that their Prometheus loaded its configuration and reaches the receiver",
			rep.receiverURL, rep.queryURL, strings.Join(rep.silent, ", ")))
	case len(rep.statuses) == 0:
		return b.Is(meshv1alpha1.ConditionMetricsWired, true, meshv1alpha1.ReasonMetricsWired, "No cluster has a Prometheus to wire")
	case rep.verified:
		return b.Is(meshv1alpha1.ConditionMetricsWired, true, meshv1alpha1.ReasonMetricsFlowing, fmt.Sprintf(
			"Clusters %s send metrics to %s, and %s has recent samples from each", clusterNames(rep), rep.receiverURL, rep.queryURL))
	default:
		return b.Is(meshv1alpha1.ConditionMetricsWired, true, meshv1alpha1.ReasonMetricsWired, fmt.Sprintf(
			"Clusters %s send metrics to %s (not checked: set spec.metrics.verify.queryURL to check that they arrive)", clusterNames(rep), rep.receiverURL))
	}
}

func clusterNames(rep *Report) string {
	names := make([]string, len(rep.statuses))
	for i, st := range rep.statuses {
		names[i] = st.Name
	}
	return strings.Join(names, ", ")
}
