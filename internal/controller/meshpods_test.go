package controller

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// pod is a running pod of the test KialiAuthProxy with the given labels
// and shape.
func pod(name string, labels map[string]string, shape func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kiali", Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if shape != nil {
		shape(&p)
	}
	return p
}

func withSidecar(p *corev1.Pod) {
	p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "istio-init"})
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
}

func TestInMesh(t *testing.T) {
	for name, tc := range map[string]struct {
		shape func(*corev1.Pod)
		want  bool
	}{
		"no sidecar": {nil, false},
		// Anything may write the annotation; Istio's injector would even
		// skip such a pod. Only the container shows a sidecar.
		"the injection status annotation alone": {func(p *corev1.Pod) {
			p.Annotations = map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"]}`}
		}, false},
		"an istio-proxy container": {withSidecar, true},
		"a native sidecar (Istio 1.27+) with istio-cni": {func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "istio-validation"}, {Name: "istio-proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
		}, true},
		// An agent-only injection template (inject.istio.io/templates:
		// grpc-agent) or interception turned off: no redirection.
		"an istio-proxy container without capture": {func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
		}, false},
		"istio-proxy as a plain init container": {func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "istio-init"}, {Name: "istio-proxy"}}
		}, false},
		"ambient capture": {func(p *corev1.Pod) {
			p.Annotations = map[string]string{"ambient.istio.io/redirection": "enabled"}
		}, true},
		"ambient capture pending": {func(p *corev1.Pod) {
			p.Annotations = map[string]string{"ambient.istio.io/redirection": "pending"}
		}, false},
	} {
		p := pod("p", nil, tc.shape)
		if got := inMesh(&p); got != tc.want {
			t.Errorf("%s: inMesh = %v, want %v", name, got, tc.want)
		}
	}
}

func TestMeshPodsOf(t *testing.T) {
	kap := testKAP()
	kiali := render.MeshPodLabels(kap)
	proxy := render.ProxySelector(kap)
	stopped := func(p *corev1.Pod) { withSidecar(p); p.Status.Phase = corev1.PodSucceeded }
	deleting := func(p *corev1.Pod) { now := metav1.Now(); p.DeletionTimestamp = &now }
	pending := func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }
	got := meshPodsOf(kap, []corev1.Pod{
		pod("kiali-b", kiali, withSidecar),
		pod("kiali-a", kiali, nil),
		pod("kiali-old", kiali, stopped),
		pod("kiali-going", kiali, deleting),
		pod("kiali-new", kiali, pending),
		pod("kiali-oauth-a", proxy, withSidecar),
		pod("kiali-oauth-b", proxy, nil),
		pod("unrelated", map[string]string{render.LabelInstance: "kiali"}, nil),
	})
	want := meshPods{
		kialiRunning: 2,
		inMesh:       []string{"kiali-b (Kiali)", "kiali-oauth-a (proxy)"},
		outside:      []string{"kiali-a (Kiali)", "kiali-oauth-b (proxy)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("meshPodsOf = %+v, want %+v", got, want)
	}

	msg := notInMeshMessage(kap, "istio-system", got, true)
	for _, part := range []string{"kiali-a (Kiali)", "kiali-oauth-b (proxy)", "ServiceMeshMember named default in kiali", "namespace: istio-system"} {
		if !strings.Contains(msg, part) {
			t.Errorf("the message does not name %q: %s", part, msg)
		}
	}
	if msg := notInMeshMessage(kap, "istio-system", got, false); !strings.Contains(msg, "istio-injection=enabled") || strings.Contains(msg, "ServiceMeshMember") {
		t.Errorf("without OpenShift Service Mesh the fix is the injection label: %s", msg)
	}
}

func TestKialiWritesOf(t *testing.T) {
	yes, no := true, false
	for name, tc := range map[string]struct {
		viewOnly *bool
		sars     []meshv1alpha1.SubjectAccessReview
		want     string
	}{
		"the default: Kiali writes, the review only reads": {nil, nil, meshv1alpha1.ReasonKialiCanWrite},
		"view-only":                          {&yes, nil, meshv1alpha1.ReasonViewOnly},
		"explicitly not view-only":           {&no, nil, meshv1alpha1.ReasonKialiCanWrite},
		"a patch review on VirtualServices":  {nil, []meshv1alpha1.SubjectAccessReview{{Verb: "patch", Resource: "virtualservices", ResourceAPIGroup: "networking.istio.io"}}, meshv1alpha1.ReasonSARChecksWrites},
		"a write on something else":          {nil, []meshv1alpha1.SubjectAccessReview{{Verb: "create", Resource: "pods"}}, meshv1alpha1.ReasonKialiCanWrite},
		"a read on the mesh's configuration": {nil, []meshv1alpha1.SubjectAccessReview{{Verb: "get", Resource: "authorizationpolicies", ResourceAPIGroup: "security.istio.io"}}, meshv1alpha1.ReasonKialiCanWrite},
		"a write on pods in every group":     {nil, []meshv1alpha1.SubjectAccessReview{{Verb: "delete", Resource: "pods", ResourceAPIGroup: "*"}}, meshv1alpha1.ReasonKialiCanWrite},
		"a write on everything":              {nil, []meshv1alpha1.SubjectAccessReview{{Verb: "*", Resource: "*", ResourceAPIGroup: "*"}}, meshv1alpha1.ReasonSARChecksWrites},
	} {
		kap := testKAP()
		kap.Spec.Kiali.ViewOnlyMode = tc.viewOnly
		kap.Spec.Proxy.SubjectAccessReviews = tc.sars
		plan := render.PlanFor(kap, "")
		w := kialiWritesOf(plan.KAP, render.Render(plan, render.Inputs{}).KialiViewOnly)
		c := w.condition(conditions.For(kap))
		if c.Reason != tc.want {
			t.Errorf("%s: reason %s, want %s (%s)", name, c.Reason, tc.want, c.Message)
		}
	}
}
