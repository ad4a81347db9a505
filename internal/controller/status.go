package controller

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// observation is what one reconcile saw, from which the status is computed.
type observation struct {
	names       render.Names
	kinds       presence
	applyErrors map[string]error // first error by render component label
	problems    []problem
	deployment  *appsv1.Deployment // nil when not in the cache yet
	clusters    *clusterReport     // nil when not looked at
	// refused is why nothing was applied (objects in the way), or nil.
	refused *problem
	// pods is what the running Kiali and proxy pods show of their mesh
	// membership.
	pods meshPods
	// serviceMeshMemberServed: OpenShift Service Mesh 2.x enrols
	// namespaces with ServiceMeshMember objects.
	serviceMeshMemberServed bool
	// istioNamespace is the control plane's namespace, as defaulted.
	istioNamespace string
	// writes is what Kiali may write and whether the proxy's reviews ask
	// the user for as much.
	writes kialiWrites
}

// computeConditions derives every condition from the observation alone:
// nothing is carried over from the previous status except the transition
// time of a condition whose status did not change (meta.SetStatusCondition).
func computeConditions(kap *meshv1alpha1.KialiAuthProxy, o *observation) []metav1.Condition {
	gen := kap.Generation
	cond := func(t string, ok bool, reason, msg string) metav1.Condition {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen}
	}
	n := o.names

	var kiali metav1.Condition
	switch {
	case !o.kinds.served(kialiGK):
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, false, meshv1alpha1.ReasonKialiCRDMissing, fmt.Sprintf(
			"The Kiali CRD (kialis.kiali.io) is not installed: install the Kiali operator (or OpenShift Service Mesh); Kiali %s/%s is created as soon as the CRD appears", n.Namespace, n.Kiali))
	case o.applyErrors[render.ComponentKiali] != nil:
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Applying Kiali %s/%s failed: %v", n.Namespace, n.Kiali, o.applyErrors[render.ComponentKiali]))
	default:
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, true, meshv1alpha1.ReasonKialiApplied, fmt.Sprintf(
			"Kiali %s/%s is configured with the anonymous strategy inside the mesh, behind the proxy", n.Namespace, n.Kiali))
	}

	var proxy metav1.Condition
	switch {
	case o.applyErrors[render.ComponentProxy] != nil:
		proxy = cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Applying the proxy objects failed: %v", o.applyErrors[render.ComponentProxy]))
	case o.deployment == nil:
		proxy = cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonDeploymentNotFound, fmt.Sprintf("Deployment %s/%s has not been seen yet", n.Namespace, n.Proxy))
	default:
		proxy = deploymentAvailability(o.deployment, cond)
	}

	var exposed metav1.Condition
	switch {
	case kap.Spec.Exposure.Route != nil && !o.kinds.served(routeGK):
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonRouteCRDMissing,
			"The OpenShift Route CRD (routes.route.openshift.io) is not served: this is not an OpenShift cluster; expose the proxy with spec.exposure.virtualService instead")
	case kap.Spec.Exposure.Route == nil && !o.kinds.served(virtualServiceGK):
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonIstioCRDMissing,
			"The Istio VirtualService CRD (virtualservices.networking.istio.io) is not installed: install Istio (or OpenShift Service Mesh); the VirtualService is created as soon as the CRD appears")
	case o.applyErrors[render.ComponentExposure] != nil:
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Exposing the proxy failed: %v", o.applyErrors[render.ComponentExposure]))
	case kap.Spec.Exposure.Route != nil:
		exposed = cond(meshv1alpha1.ConditionExposed, true, meshv1alpha1.ReasonRouteApplied, fmt.Sprintf(
			"Route %s/%s serves %s", n.Namespace, n.Route, render.URL(kap)))
	default:
		exposed = cond(meshv1alpha1.ConditionExposed, true, meshv1alpha1.ReasonVirtualServiceApplied, fmt.Sprintf(
			"VirtualService %s/%s serves %s on %s", n.Namespace, n.VirtualService, render.URL(kap), strings.Join(kap.Spec.Exposure.VirtualService.Gateways, ", ")))
	}

	var locked metav1.Condition
	switch {
	case !kap.Spec.LockDownEnabled():
		locked = cond(meshv1alpha1.ConditionMeshLocked, false, meshv1alpha1.ReasonLockDownDisabled, fmt.Sprintf(
			"spec.meshSecurity.lockDown is false: anyone who reaches Kiali %s/%s on port %d administers it without logging in; remove the setting to admit only the proxy",
			n.Namespace, n.KialiInstance, render.KialiPort))
	case !o.kinds.served(authorizationPolicyGK) || !o.kinds.served(peerAuthenticationGK):
		locked = cond(meshv1alpha1.ConditionMeshLocked, false, meshv1alpha1.ReasonIstioSecurityCRDMissing,
			"The Istio security CRDs (authorizationpolicies.security.istio.io, peerauthentications.security.istio.io) are not installed: Kiali cannot be locked down to the proxy until Istio is")
	case o.applyErrors[render.ComponentLockDown] != nil:
		locked = cond(meshv1alpha1.ConditionMeshLocked, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Applying the lock-down policies failed: %v", o.applyErrors[render.ComponentLockDown]))
	case len(o.pods.outside) > 0:
		locked = cond(meshv1alpha1.ConditionMeshLocked, false, meshv1alpha1.ReasonNotInMesh, notInMeshMessage(kap, o.istioNamespace, o.pods, o.serviceMeshMemberServed))
	case o.pods.kialiRunning == 0:
		locked = cond(meshv1alpha1.ConditionMeshLocked, false, meshv1alpha1.ReasonKialiNotRunning, fmt.Sprintf(
			"The lock-down policies %s/%s are applied, but no Kiali pod (label %s=%s) is running yet to show that they apply: Istio enforces them only in pods it carries the traffic of",
			n.Namespace, n.LockDown, render.KialiPodLabel, kap.Name))
	default:
		locked = cond(meshv1alpha1.ConditionMeshLocked, true, meshv1alpha1.ReasonLockedDown, fmt.Sprintf(
			"Only %s may reach Kiali on port %d: AuthorizationPolicy, STRICT PeerAuthentication and NetworkPolicy %s/%s, enforced in the running pods %s",
			n.ProxyPrincipal(), render.KialiPort, n.Namespace, n.LockDown, strings.Join(o.pods.inMesh, ", ")))
	}

	if p := o.refused; p != nil {
		// Nothing was applied, whatever the cluster offers.
		for _, c := range []*metav1.Condition{&kiali, &proxy, &exposed, &locked} {
			*c = cond(c.Type, false, p.reason, "Not applied: objects are in the way; see the Degraded condition")
		}
	}

	bypass := cond(meshv1alpha1.ConditionHtpasswdBypassesSAR, false, meshv1alpha1.ReasonNoHtpasswd, "Every user logs in through OpenShift and must pass the SubjectAccessReviews")
	if kap.Spec.Proxy.Htpasswd != nil {
		bypass = cond(meshv1alpha1.ConditionHtpasswdBypassesSAR, true, meshv1alpha1.ReasonHtpasswdConfigured,
			"Users of the htpasswd file (spec.proxy.htpasswd) log in without the SubjectAccessReviews: oauth-proxy checks those only for OpenShift logins")
	}

	degraded := cond(meshv1alpha1.ConditionDegraded, false, meshv1alpha1.ReasonReferencesValid, "Every referenced Secret exists and is usable")
	if len(o.problems) > 0 {
		msgs := make([]string, len(o.problems))
		for i, p := range o.problems {
			msgs[i] = p.message
		}
		degraded = cond(meshv1alpha1.ConditionDegraded, true, o.problems[0].reason, strings.Join(msgs, "; "))
	}

	// Ready names the first thing in the way; a bad reference comes first,
	// as it is usually why the rest is not ready either.
	ready := cond(meshv1alpha1.ConditionReady, true, meshv1alpha1.ReasonReady, fmt.Sprintf("Kiali is served at %s through the oauth-proxy", render.URL(kap)))
	for _, c := range []metav1.Condition{kiali, proxy, exposed, locked} {
		if c.Status != metav1.ConditionTrue && c.Reason != meshv1alpha1.ReasonLockDownDisabled {
			ready = cond(meshv1alpha1.ConditionReady, false, c.Reason, c.Type+": "+c.Message)
			break
		}
	}
	if degraded.Status == metav1.ConditionTrue {
		ready = cond(meshv1alpha1.ConditionReady, false, degraded.Reason, degraded.Type+": "+degraded.Message)
	}
	conds := []metav1.Condition{ready, kiali, proxy, exposed, locked, degraded, bypass, o.writes.condition(cond)}
	if rep := o.clusters; rep != nil && rep.active {
		conds = append(conds, metricsWired(rep, cond))
	}
	return conds
}

// metricsWired summarises the clusters' wiring. It does not count towards
// Ready: Kiali works without one cluster's metrics, and that cluster's
// status entry says what is wrong.
func metricsWired(rep *clusterReport, cond func(string, bool, string, string) metav1.Condition) metav1.Condition {
	// The first cluster with a problem names the reason; every one is in
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
		return cond(meshv1alpha1.ConditionMetricsWired, false, reason, fmt.Sprintf(
			"%s; the other clusters are not affected and the operator looks again every %s", strings.Join(parts, ". "), clusterRetry))
	case receiverRefused(rep.receiverErr):
		return cond(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonReceiverNotAllowed, fmt.Sprintf("The hub's receiver: %v", rep.receiverErr))
	case rep.receiverErr != nil:
		return cond(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonReceiverFailed, fmt.Sprintf("The hub's receiver: %v", rep.receiverErr))
	case rep.hubPods > 1 && rep.receiver != nil:
		return cond(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonReceiverReplicated, fmt.Sprintf(
			"Prometheus %s/%s, the hub's receiver, runs %d pods (spec.replicas times spec.shards): each write reaches one of them behind the Service, so each holds part of every cluster's series and Kiali sees gaps; "+
				"run it with one replica and one shard, or receive with something that shares writes among its replicas (Thanos Receive)",
			rep.receiver.Namespace, rep.receiver.Name, rep.hubPods))
	case len(rep.leftovers) > 0:
		return cond(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonRemovalPending, fmt.Sprintf(
			"The operator's remote_write entry is still in clusters that left spec.clusters: %s; it retries every %s, or annotate the KialiAuthProxy %s=true to leave them",
			strings.Join(rep.leftovers, "; "), clusterRetry, meshv1alpha1.SkipRemoteCleanupAnnotation))
	case rep.verifyErr != nil:
		return cond(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonVerificationFailed, fmt.Sprintf(
			"Every cluster is wired to %s, but the hub could not be asked whether metrics arrive: %v; fix spec.metrics.verify or set its enabled to false", rep.receiverURL, rep.verifyErr))
	case len(rep.silent) > 0:
		return cond(meshv1alpha1.ConditionMetricsWired, false, meshv1alpha1.ReasonMetricsNotFlowing, fmt.Sprintf(
			"Every cluster is wired to %s, but %s has no sample newer than spec.metrics.verify.maxSampleAge from %s: check that their Prometheus loaded its configuration and reaches the receiver",
			rep.receiverURL, rep.queryURL, strings.Join(rep.silent, ", ")))
	case len(rep.statuses) == 0:
		return cond(meshv1alpha1.ConditionMetricsWired, true, meshv1alpha1.ReasonMetricsWired, "No cluster has a Prometheus to wire")
	case rep.verified:
		return cond(meshv1alpha1.ConditionMetricsWired, true, meshv1alpha1.ReasonMetricsFlowing, fmt.Sprintf(
			"Clusters %s send metrics to %s, and %s has recent samples from each", clusterNames(rep), rep.receiverURL, rep.queryURL))
	default:
		return cond(meshv1alpha1.ConditionMetricsWired, true, meshv1alpha1.ReasonMetricsWired, fmt.Sprintf(
			"Clusters %s send metrics to %s (not checked: set spec.metrics.verify.queryURL to check that they arrive)", clusterNames(rep), rep.receiverURL))
	}
}

func clusterNames(rep *clusterReport) string {
	names := make([]string, len(rep.statuses))
	for i, st := range rep.statuses {
		names[i] = st.Name
	}
	return strings.Join(names, ", ")
}

// deploymentAvailability reads the Deployment's own Available condition,
// for the generation we last applied.
func deploymentAvailability(d *appsv1.Deployment, cond func(string, bool, string, string) metav1.Condition) metav1.Condition {
	name := d.Namespace + "/" + d.Name
	if d.Status.ObservedGeneration == 0 {
		return cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonDeploymentUnavailable, fmt.Sprintf("Deployment %s has not been picked up by the Deployment controller yet", name))
	}
	// A rollout keeps the old pods until new ones are ready (maxUnavailable
	// 0), so the proxy stays available meanwhile: only the message says so.
	rolling := ""
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < ptrOr(d.Spec.Replicas, 1) {
		rolling = "; a new version is rolling out"
	}
	for _, c := range d.Status.Conditions {
		if c.Type != appsv1.DeploymentAvailable {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return cond(meshv1alpha1.ConditionProxyAvailable, true, meshv1alpha1.ReasonDeploymentAvailable, fmt.Sprintf(
				"Deployment %s has %d of %d replicas available%s", name, d.Status.AvailableReplicas, ptrOr(d.Spec.Replicas, 1), rolling))
		}
		return cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonDeploymentUnavailable, fmt.Sprintf("Deployment %s is not available: %s", name, c.Message))
	}
	return cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonDeploymentUnavailable, fmt.Sprintf("Deployment %s reports no availability yet", name))
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// newStatus is the status to write.
func newStatus(kap *meshv1alpha1.KialiAuthProxy, conds []metav1.Condition, clusters []meshv1alpha1.ClusterStatus) meshv1alpha1.KialiAuthProxyStatus {
	st := meshv1alpha1.KialiAuthProxyStatus{ObservedGeneration: kap.Generation, URL: render.URL(kap), Clusters: clusters}
	// Only the computed conditions are kept (a type this version no longer
	// reports goes away); a condition whose status did not change keeps its
	// transition time.
	for _, c := range conds {
		if old := meta.FindStatusCondition(kap.Status.Conditions, c.Type); old != nil && old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		meta.SetStatusCondition(&st.Conditions, c)
	}
	return st
}
