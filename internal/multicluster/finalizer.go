package multicluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// ensureFinalizer adds the cleanup finalizer before anything is written on
// another cluster.
func (r *Wirer) ensureFinalizer(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy) error {
	if controllerutil.ContainsFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer) {
		return nil
	}
	base := kap.DeepCopy()
	controllerutil.AddFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer)
	if err := r.Client.Patch(ctx, kap, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding finalizer %s: %w", meshv1alpha1.RemoteCleanupFinalizer, err)
	}
	return nil
}

// releaseFinalizer removes the cleanup finalizer once nothing is left on
// other clusters.
func (r *Wirer) releaseFinalizer(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy) error {
	if !controllerutil.ContainsFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer) {
		return nil
	}
	base := kap.DeepCopy()
	controllerutil.RemoveFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer)
	if err := r.Client.Patch(ctx, kap, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("removing finalizer %s: %w", meshv1alpha1.RemoteCleanupFinalizer, err)
	}
	return nil
}

// Cleanup takes every recorded remote_write entry out of the other
// clusters and switches off a receiver the operator switched on; the
// objects in the KialiAuthProxy's namespace go with their owner. It
// releases the finalizer once nothing is left. An entry that cannot be
// removed keeps the KialiAuthProxy: the condition returned names it, and
// the deletion waits until it can be removed or
// meshv1alpha1.SkipRemoteCleanupAnnotation says to give up.
func (r *Wirer) Cleanup(ctx context.Context, plan render.Plan) (*metav1.Condition, error) {
	kap, n := plan.Stored, plan.Names
	if !controllerutil.ContainsFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer) {
		return nil, nil
	}
	prev, err := r.loadRecord(ctx, kap, n)
	if err != nil {
		return nil, err
	}
	left := &record{}
	var failures []string
	for _, w := range prev.Wirings {
		if err := r.unwireWith(ctx, kap, w); err != nil && !r.skipCleanup(kap, w.String(), err) {
			left.Wirings = append(left.Wirings, w)
			failures = append(failures, fmt.Sprintf("%s: %v", w, err))
		}
	}
	for _, a := range prev.Access {
		what := "Kiali's access to cluster " + a.Cluster
		if err := r.removeAccess(ctx, plan, a); err != nil && !r.skipCleanup(kap, what, err) {
			left.Access = append(left.Access, a)
			failures = append(failures, fmt.Sprintf("%s: %v", what, err))
		}
	}
	if rc := prev.Receiver; rc != nil {
		what := "the remote-write receiver of Prometheus " + rc.Namespace + "/" + rc.Name
		if err := r.releaseReceiver(ctx, kap, *rc); err != nil && !r.skipCleanup(kap, what, err) {
			left.Receiver = rc
			failures = append(failures, fmt.Sprintf("%s: %v", what, err))
		}
	}
	if err := r.saveRecord(ctx, kap, n, left, prev); err != nil {
		return nil, err
	}
	if left.empty() {
		if len(prev.Wirings) > 0 || prev.Receiver != nil {
			r.Recorder.Eventf(kap, nil, corev1.EventTypeNormal, meshv1alpha1.ReasonCleanedUp, "Delete",
				"Removed what the operator made on other clusters (remote_write entry %s, Kiali's access %s)", n.RemoteWriteEntry, n.RemoteKiali)
		}
		return nil, r.releaseFinalizer(ctx, kap)
	}
	c := conditions.For(kap).False(meshv1alpha1.ConditionMetricsWired, meshv1alpha1.ReasonCleanupPending, fmt.Sprintf(
		"Deletion waits for the operator to take its remote_write changes out of other clusters, retried every %s: %s. "+
			"Fix the cluster's kubeconfig Secret or reachability, or annotate the KialiAuthProxy %s=true to delete it and leave them behind",
		clusterRetry, strings.Join(failures, "; "), meshv1alpha1.SkipRemoteCleanupAnnotation))
	return &c, nil
}
