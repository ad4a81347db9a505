package controller

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/multicluster"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// observation is what one reconcile saw, from which the status is computed.
type observation struct {
	names       render.Names
	kinds       presence
	applyErrors map[string]error // first error by render component label
	problems    []conditions.Problem
	deployment  *appsv1.Deployment   // nil when not in the cache yet
	clusters    *multicluster.Report // nil when not looked at
	// refused is why nothing was applied (objects in the way), or nil.
	refused *conditions.Problem
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
	// login is why the proxy cannot log anyone in, or authorize as the
	// spec asks, on this cluster; nil when it can.
	login *conditions.Problem
}

// newObservation starts the observation of a reconcile with what it
// resolved and rendered: the problems of the inputs and of the spec.
func newObservation(p render.Plan, kinds presence, in *resolved, out render.Output) *observation {
	return &observation{
		names:          p.Names,
		kinds:          kinds,
		applyErrors:    map[string]error{},
		problems:       append(ignoredProblems(p.KAP, out.Ignored), in.problems...),
		writes:         kialiWritesOf(p.KAP, out.KialiViewOnly),
		istioNamespace: p.KAP.Spec.Kiali.IstioNamespace,
	}
}

// refuse records that nothing was applied, and why.
func (o *observation) refuse(p conditions.Problem) {
	o.refused = &p
	o.problems = append(o.problems, p)
}

// computeConditions derives every condition from the observation alone:
// nothing is carried over from the previous status except the transition
// time of a condition whose status did not change (conditions.Status).
func computeConditions(p render.Plan, o *observation) []metav1.Condition {
	kap := p.KAP
	b := conditions.For(p.Stored)
	cond := b.Is
	n := o.names

	var kiali metav1.Condition
	switch {
	case !o.kinds.served(kialiGK):
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, false, meshv1alpha1.ReasonKialiCRDMissing, fmt.Sprintf(
			"The Kiali CRD (kialis.kiali.io) is not installed: install the Kiali operator (or OpenShift Service Mesh); Kiali %s/%s is created as soon as the CRD appears", n.Namespace, n.Kiali))
	case kap.Spec.Kiali.TLS != nil && kap.Spec.Kiali.TLS.CertManager != nil && !o.kinds.served(certificateGK):
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, false, meshv1alpha1.ReasonCertManagerCRDMissing, fmt.Sprintf(
			"spec.kiali.tls.certManager asks cert-manager for Kiali's certificate, but its Certificate CRD (certificates.cert-manager.io) is not served: install cert-manager, or name a certificate Secret in spec.kiali.tls.certificateSecret; Certificate %s/%s is created as soon as the CRD appears",
			n.Namespace, n.KialiServingCert))
	case o.applyErrors[render.ComponentKiali] != nil:
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Applying Kiali %s/%s failed: %v", n.Namespace, n.Kiali, o.applyErrors[render.ComponentKiali]))
	default:
		kiali = cond(meshv1alpha1.ConditionKialiConfigured, true, meshv1alpha1.ReasonKialiApplied, fmt.Sprintf(
			"Kiali %s/%s is configured with the anonymous strategy inside the mesh, behind the proxy", n.Namespace, n.Kiali))
	}

	var proxy metav1.Condition
	certManager := kap.Spec.Proxy.TLSEnabled() && kap.Spec.Proxy.TLS.CertManager != nil && render.Passthrough(kap) == nil
	switch {
	case o.login != nil:
		proxy = cond(meshv1alpha1.ConditionProxyAvailable, false, o.login.Reason, o.login.Message)
	case certManager && !o.kinds.served(certificateGK):
		proxy = cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonCertManagerCRDMissing, fmt.Sprintf(
			"spec.proxy.tls.certManager asks cert-manager for the proxy's certificate, but its Certificate CRD (certificates.cert-manager.io) is not served: install cert-manager, or name a certificate Secret in spec.proxy.tls.certificateSecret; Certificate %s/%s is created as soon as the CRD appears",
			n.Namespace, n.ServingCert))
	case o.applyErrors[render.ComponentProxy] != nil:
		proxy = cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Applying the proxy objects failed: %v", o.applyErrors[render.ComponentProxy]))
	case o.deployment == nil:
		proxy = cond(meshv1alpha1.ConditionProxyAvailable, false, meshv1alpha1.ReasonDeploymentNotFound, fmt.Sprintf("Deployment %s/%s has not been seen yet", n.Namespace, n.Proxy))
	default:
		proxy = deploymentAvailability(o.deployment, b)
	}

	var exposed metav1.Condition
	switch {
	case kap.Spec.Exposure.Route != nil && !o.kinds.served(routeGK):
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonRouteCRDMissing,
			"The OpenShift Route CRD (routes.route.openshift.io) is not served: this is not an OpenShift cluster; expose the proxy with spec.exposure.virtualService instead")
	case kap.Spec.Exposure.HTTPRoute != nil && !o.kinds.served(httpRouteGK):
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonGatewayAPICRDMissing,
			"The Gateway API HTTPRoute CRD (httproutes.gateway.networking.k8s.io) is not installed: install the Gateway API CRDs (Istio implements them); the HTTPRoute is created as soon as the CRD appears")
	case kap.Spec.Exposure.VirtualService != nil && !o.kinds.served(virtualServiceGK):
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonIstioCRDMissing,
			"The Istio VirtualService CRD (virtualservices.networking.istio.io) is not installed: install Istio (or OpenShift Service Mesh); the VirtualService is created as soon as the CRD appears")
	case o.applyErrors[render.ComponentExposure] != nil:
		exposed = cond(meshv1alpha1.ConditionExposed, false, meshv1alpha1.ReasonApplyFailed, fmt.Sprintf("Exposing the proxy failed: %v", o.applyErrors[render.ComponentExposure]))
	case kap.Spec.Exposure.Route != nil:
		exposed = cond(meshv1alpha1.ConditionExposed, true, meshv1alpha1.ReasonRouteApplied, fmt.Sprintf(
			"Route %s/%s serves %s", n.Namespace, n.Route, render.URL(kap)))
	case kap.Spec.Exposure.HTTPRoute != nil:
		var parents []string
		for _, ref := range kap.Spec.Exposure.HTTPRoute.ParentRefs {
			ns := ref.Namespace
			if ns == "" {
				ns = n.Namespace
			}
			parents = append(parents, ns+"/"+ref.Name)
		}
		exposed = cond(meshv1alpha1.ConditionExposed, true, meshv1alpha1.ReasonHTTPRouteApplied, fmt.Sprintf(
			"HTTPRoute %s/%s serves %s on the Gateways %s", n.Namespace, n.HTTPRoute, render.URL(kap), strings.Join(parents, ", ")))
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
			*c = cond(c.Type, false, p.Reason, "Not applied: objects are in the way; see the Degraded condition")
		}
	}

	bypass := cond(meshv1alpha1.ConditionHtpasswdBypassesSAR, false, meshv1alpha1.ReasonNoHtpasswd, "Every user logs in through OpenShift and must pass the SubjectAccessReviews")
	if kap.Spec.Proxy.Htpasswd != nil {
		bypass = cond(meshv1alpha1.ConditionHtpasswdBypassesSAR, true, meshv1alpha1.ReasonHtpasswdConfigured,
			"Users of the htpasswd file (spec.proxy.htpasswd) log in without the SubjectAccessReviews: oauth-proxy checks those only for OpenShift logins")
	}

	degraded := b.Degraded(o.problems)
	ready := b.Ready([]metav1.Condition{kiali, proxy, exposed, locked, degraded},
		fmt.Sprintf("Kiali is served at %s through the oauth-proxy", render.URL(kap)))
	conds := []metav1.Condition{ready, kiali, proxy, exposed, locked, degraded, bypass, o.writes.condition(b)}
	if o.clusters.Active() {
		conds = append(conds, o.clusters.Condition(b))
	}
	if o.clusters.ClustersActive() {
		conds = append(conds, o.clusters.ClustersCondition(b))
	}
	return conds
}

// deploymentAvailability reads the Deployment's own Available condition,
// for the generation we last applied.
func deploymentAvailability(d *appsv1.Deployment, b conditions.Builder) metav1.Condition {
	cond := b.Is
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

// writeStatus is the one way a status is written: computed from conds
// (conditions.Status), written only when it changed, with an event for
// every condition whose change is news.
func (r *Reconciler) writeStatus(ctx context.Context, p render.Plan, conds []metav1.Condition, clusters []meshv1alpha1.ClusterStatus) error {
	kap := p.Stored
	st := conditions.Status(kap, render.URL(p.KAP), conds, clusters)
	if equality.Semantic.DeepEqual(st, kap.Status) {
		return nil
	}
	for _, c := range conds {
		news, good := conditions.News(kap.Status.Conditions, c)
		if !news {
			continue
		}
		eventType := corev1.EventTypeNormal
		if !good {
			eventType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(kap, nil, eventType, c.Reason, "Reconcile", "%s", eventNote(fmt.Sprintf("%s is %s: %s", c.Type, c.Status, c.Message)))
	}
	base := kap.DeepCopy()
	kap.Status = st
	if err := r.Client.Status().Patch(ctx, kap, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	return nil
}

// observeProxy reads the proxy's Deployment from the cache; it is not there
// yet right after its first apply.
func (r *Reconciler) observeProxy(ctx context.Context, p render.Plan, obs *observation) error {
	dep := &appsv1.Deployment{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: p.Names.Namespace, Name: p.Names.Proxy}, dep)
	switch {
	case err == nil:
		obs.deployment = dep
	case !apierrors.IsNotFound(err):
		return err
	}
	return nil
}

// maxEventNote is the longest note the API server takes in an event
// (events.k8s.io/v1 validation: 1 KiB); a longer one is refused whole.
const maxEventNote = 1024

// eventNote fits a condition's message into an event, cut at a character
// boundary and pointing at the condition, which holds all of it.
func eventNote(note string) string {
	if len(note) <= maxEventNote {
		return note
	}
	const more = " ... (the condition has the whole message)"
	cut := maxEventNote - len(more)
	for cut > 0 && !utf8.RuneStart(note[cut]) {
		cut--
	}
	return note[:cut] + more
}
