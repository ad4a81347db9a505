package testbed

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Sidecar is how a pod made by RunPod is in the mesh, if at all.
type Sidecar int

const (
	NoSidecar Sidecar = iota
	// IstioProxy is an istio-proxy container, as Istio's injector adds it.
	IstioProxy
	// NativeSidecar is an istio-proxy init container with restartPolicy
	// Always (Istio 1.27+ native sidecars).
	NativeSidecar
	// Ambient is the istio-cni node agent's redirection annotation.
	Ambient
)

// RunPod plays the Kiali operator or the Deployment controller, the
// injector and the kubelet, none of which envtest runs: it creates a pod
// labelled as the Kiali pods (kiali true) or the proxy pods of kap are, in
// the shape sidecar gives it, and marks it Running.
func RunPod(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy, name string, kiali bool, sidecar Sidecar) (*corev1.Pod, error) {
	labels := render.ProxySelector(kap)
	if kiali {
		labels = render.MeshPodLabels(kap)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: kap.Namespace, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "example.com/main:1"}}},
	}
	// As Istio's injection template makes them: the init container that
	// redirects the traffic (istio-init, or istio-validation with
	// istio-cni), then the sidecar.
	switch sidecar {
	case IstioProxy:
		pod.Spec.InitContainers = []corev1.Container{{Name: "istio-init", Image: "example.com/proxyv2:1"}}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "istio-proxy", Image: "example.com/proxyv2:1"})
	case NativeSidecar:
		pod.Spec.InitContainers = []corev1.Container{
			{Name: "istio-validation", Image: "example.com/proxyv2:1"},
			{Name: "istio-proxy", Image: "example.com/proxyv2:1", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
		}
	case Ambient:
		pod.Annotations = map[string]string{"ambient.istio.io/redirection": "enabled"}
	}
	if err := c.Create(ctx, pod); err != nil {
		return nil, err
	}
	pod.Status.Phase = corev1.PodRunning
	return pod, c.Status().Update(ctx, pod)
}

// RunMeshPods runs one Kiali pod and one proxy pod of kap, both with a
// sidecar: what a working installation shows.
func RunMeshPods(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy) error {
	if _, err := RunPod(ctx, c, kap, kap.Name+"-kiali-pod", true, IstioProxy); err != nil {
		return err
	}
	_, err := RunPod(ctx, c, kap, kap.Name+"-oauth-pod", false, IstioProxy)
	return err
}

// LockDownApplied reports whether kap's status says the lock-down policies
// are applied: MeshLocked True, or False only because no Kiali pod runs to
// prove them, which is all a control plane without a kubelet can show.
// Suites that run pods (RunPod) check MeshLocked itself.
func LockDownApplied(kap *meshv1alpha1.KialiAuthProxy) bool {
	c := meta.FindStatusCondition(kap.Status.Conditions, meshv1alpha1.ConditionMeshLocked)
	return c != nil && (c.Status == metav1.ConditionTrue || c.Reason == meshv1alpha1.ReasonKialiNotRunning)
}
