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
}

// Active says whether MetricsWired is reported: the spec asks for metrics
// wiring, or something is still wired.
func (rep *Report) Active() bool { return rep != nil && rep.active }

// Statuses are the entries of status.clusters.
func (rep *Report) Statuses() []meshv1alpha1.ClusterStatus {
	if rep == nil {
		return nil
	}
	return rep.statuses
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
