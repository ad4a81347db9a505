package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// What shows that Istio carries a pod's traffic. The lock-down policies are
// enforced by the pod's sidecar or, in ambient mode, by ztunnel; a pod with
// neither is reachable by anything the network lets through, whatever
// policies are applied.
const (
	// istioProxyContainer is the sidecar Istio's injector adds: a container
	// or, with native sidecars (Istio 1.27+), an init container with
	// restartPolicy Always. The container is the proof, not the injector's
	// sidecar.istio.io/status annotation, which anything may write.
	istioProxyContainer = "istio-proxy"
	// The injector's sidecar template adds one of these init containers,
	// which set up (istio-init) or check (istio-validation, with
	// istio-cni) the redirection of the pod's traffic to the sidecar,
	// unless interception is off. An istio-proxy container without one (an
	// agent-only injection template, say) carries none of Kiali's traffic.
	istioInitContainer       = "istio-init"
	istioValidationContainer = "istio-validation"
	// ambientRedirection is set by the istio-cni node agent once it
	// redirects the pod's traffic to ztunnel.
	ambientRedirection        = "ambient.istio.io/redirection"
	ambientRedirectionEnabled = "enabled"
)

// MeshPodAnnotationsRead are the pod annotations the MeshLocked check
// reads. The pod cache keeps these and drops every other annotation
// (internal/operator's pod transform), so an annotation read here but not
// listed would always look absent.
var MeshPodAnnotationsRead = []string{ambientRedirection}

// serviceMeshMemberGK is OpenShift Service Mesh 2.x's namespace enrolment:
// only member namespaces get sidecars there.
var serviceMeshMemberGK = schema.GroupKind{Group: "maistra.io", Kind: "ServiceMeshMember"}

// meshPods is what the running Kiali and proxy pods of one KialiAuthProxy
// show of their mesh membership.
type meshPods struct {
	// kialiRunning counts the running Kiali pods.
	kialiRunning int
	// inMesh and outside name the running pods, "<name> (Kiali)" or
	// "<name> (proxy)", sorted.
	inMesh, outside []string
}

// inMesh reports whether Istio carries the pod's traffic: ambient capture,
// or a sidecar (as in Istio's injection template,
// manifests/charts/istio-control/istio-discovery/files/injection-template.yaml)
// together with the init container that redirects traffic to it.
func inMesh(pod *corev1.Pod) bool {
	if pod.Annotations[ambientRedirection] == ambientRedirectionEnabled {
		return true
	}
	sidecar, capture := false, false
	for _, c := range pod.Spec.Containers {
		if c.Name == istioProxyContainer {
			sidecar = true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		switch {
		case c.Name == istioProxyContainer && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways:
			sidecar = true
		case c.Name == istioInitContainer || c.Name == istioValidationContainer:
			capture = true
		}
	}
	return sidecar && capture
}

// running reports whether the pod serves (or is about to): scheduled pods
// that have not ended and are not being deleted.
func running(pod *corev1.Pod) bool {
	if !pod.DeletionTimestamp.IsZero() {
		return false
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return false
	}
	return pod.Status.Phase == corev1.PodRunning
}

// meshPodsOf sorts the pods labelled for the KialiAuthProxy into Kiali's and
// the proxy's and checks each running one.
func meshPodsOf(kap *meshv1alpha1.KialiAuthProxy, pods []corev1.Pod) meshPods {
	var m meshPods
	for i := range pods {
		pod := &pods[i]
		role := podRole(kap, pod)
		if role == "" || !running(pod) {
			continue
		}
		if role == "Kiali" {
			m.kialiRunning++
		}
		entry := pod.Name + " (" + role + ")"
		if inMesh(pod) {
			m.inMesh = append(m.inMesh, entry)
		} else {
			m.outside = append(m.outside, entry)
		}
	}
	sort.Strings(m.inMesh)
	sort.Strings(m.outside)
	return m
}

// podRole is "Kiali", "proxy" or "" for a pod of the KialiAuthProxy's
// namespace, by the labels the operator gives them.
func podRole(kap *meshv1alpha1.KialiAuthProxy, pod *corev1.Pod) string {
	if pod.Namespace != kap.Namespace {
		return ""
	}
	podLabels := labels.Set(pod.Labels)
	if labels.SelectorFromSet(render.KialiSelector(kap)).Matches(podLabels) {
		return "Kiali"
	}
	if labels.SelectorFromSet(render.ProxySelector(kap)).Matches(podLabels) {
		return "proxy"
	}
	return ""
}

// notInMeshMessage names the pods outside the mesh and the fix.
func notInMeshMessage(kap *meshv1alpha1.KialiAuthProxy, istioNamespace string, m meshPods, serviceMeshMemberServed bool) string {
	ns := kap.Namespace
	fix := fmt.Sprintf(
		"label namespace %s istio-injection=enabled (or istio.io/rev=<revision>), or make the injector honour the pod label sidecar.istio.io/inject=true, then delete these pods so they are created with a sidecar",
		ns)
	if serviceMeshMemberServed {
		fix = fmt.Sprintf(
			"OpenShift Service Mesh injects only member namespaces: create a ServiceMeshMember named default in %s with spec.controlPlaneRef {namespace: %s, name: <control plane>} (or list %s in the ServiceMeshMemberRoll), then delete these pods so they are created with a sidecar",
			ns, istioNamespace, ns)
	}
	return fmt.Sprintf(
		"Pods %s run without an Istio sidecar or ambient capture, so the AuthorizationPolicy and PeerAuthentication do not apply to them and the anonymous Kiali is reachable past the proxy wherever the network allows: %s",
		strings.Join(m.outside, ", "), fix)
}

// meshStateChanged passes the pod events that can change MeshLocked: a pod
// appearing or going, starting or stopping, or gaining or losing its sidecar.
// Status updates of a running pod (readiness, restarts) are dropped.
var meshStateChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, ok1 := e.ObjectOld.(*corev1.Pod)
		cur, ok2 := e.ObjectNew.(*corev1.Pod)
		if !ok1 || !ok2 {
			return true
		}
		return running(old) != running(cur) || inMesh(old) != inMesh(cur)
	},
}

// observePods reads the KialiAuthProxy's Kiali and proxy pods from the
// cache (which holds only pods carrying the instance label) into the
// observation, and whether OpenShift Service Mesh's enrolment kind is
// served when a pod is outside the mesh, for the fix to name.
func (r *Reconciler) observePods(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, obs *observation) error {
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(kap.Namespace),
		client.MatchingLabels{render.LabelInstance: kap.Name}); err != nil {
		return fmt.Errorf("listing the pods of %s/%s: %w", kap.Namespace, kap.Name, err)
	}
	obs.pods = meshPodsOf(kap, pods.Items)
	if len(obs.pods.outside) > 0 {
		_, err := r.Client.RESTMapper().RESTMapping(serviceMeshMemberGK)
		obs.serviceMeshMemberServed = err == nil
	}
	return nil
}

// requestForPod maps a pod to the KialiAuthProxy named by its instance
// label: Kiali's pods get it through the Kiali CR, the proxy's through the
// Deployment.
func requestForPod(_ context.Context, pod client.Object) []reconcile.Request {
	name := pod.GetLabels()[render.LabelInstance]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: pod.GetNamespace(), Name: name}}}
}
