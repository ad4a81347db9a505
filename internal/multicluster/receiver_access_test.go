package multicluster

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
)

func TestReceiverAllowedOnlyInItsNamespaceOrWhereTheOwnerSaysSo(t *testing.T) {
	ref := meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "hub"}
	for _, tc := range []struct {
		name, ns, annotation string
		want                 bool
	}{
		{"its own namespace, no annotation", "monitoring", "", true},
		{"another namespace, no annotation", "kiali", "", false},
		{"listed", "kiali", "kiali", true},
		{"listed among others, with blanks", "kiali", "team-a, kiali ,team-b", true},
		{"not listed", "team-c", "team-a,kiali", false},
		{"a longer name is another namespace", "kiali", "kiali-dev", false},
		{"a prefix is another namespace", "kiali-dev", "kiali", false},
		{"no wildcard", "kiali", "*", false},
		{"empty items", "kiali", ",,", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ann map[string]string
			if tc.annotation != "" {
				ann = map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: tc.annotation}
			}
			if got := receiverAllowed(tc.ns, ref, ann); got != tc.want {
				t.Errorf("receiverAllowed(%q, %q) = %v, want %v", tc.ns, tc.annotation, got, tc.want)
			}
		})
	}
}

func hubPrometheusObject(namespace, name string, annotations map[string]string, spec map[string]any) *unstructured.Unstructured {
	p := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	p.SetGroupVersionKind(clusters.PrometheusGVK)
	p.SetNamespace(namespace)
	p.SetName(name)
	p.SetAnnotations(annotations)
	p.SetResourceVersion("7")
	return p
}

// patches counts the writes a fake client receives.
type patches struct{ n int }

func (p *patches) client(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			p.n++
			return c.Patch(ctx, obj, patch, opts...)
		},
		Apply: func(context.Context, client.WithWatch, runtime.ApplyConfiguration, ...client.ApplyOption) error {
			p.n++
			return nil
		},
	}).Build()
}

func TestHubPrometheusRefusesAnotherNamespaceWithoutSayingWhatIsThere(t *testing.T) {
	ctx := context.Background()
	kap := multiClusterKAP() // namespace kiali
	var w patches
	cl := w.client(
		hubPrometheusObject("monitoring", "mine", nil, map[string]any{"enableRemoteWriteReceiver": true}),
		hubPrometheusObject("monitoring", "star", map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: "*"}, map[string]any{}),
		hubPrometheusObject("monitoring", "shared", map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: "team-a,kiali"}, map[string]any{"replicas": int64(2), "shards": int64(2)}),
		hubPrometheusObject("kiali", "own", nil, map[string]any{}),
	)
	r := &Wirer{APIReader: cl, Client: cl}

	var refused *notAllowedError
	_, errMine := r.hubPrometheus(ctx, kap.Namespace, meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "mine"})
	_, errMissing := r.hubPrometheus(ctx, kap.Namespace, meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "missing"})
	if !errors.As(errMine, &refused) || !errors.As(errMissing, &refused) {
		t.Fatalf("another namespace's Prometheus: errors %v, %v; want refusals", errMine, errMissing)
	}
	// Whether it exists, or is on, is not for this namespace to learn.
	if a, b := strings.ReplaceAll(errMine.Error(), "mine", "X"), strings.ReplaceAll(errMissing.Error(), "missing", "X"); a != b {
		t.Errorf("the refusals tell an existing Prometheus from a missing one:\n%s\n%s", a, b)
	}
	for _, s := range []string{"monitoring/mine", "namespace kiali", meshv1alpha1.AllowedNamespacesAnnotation + "=kiali", "wrote nothing"} {
		if !strings.Contains(errMine.Error(), s) {
			t.Errorf("refusal %q does not say %q", errMine, s)
		}
	}
	if _, err := r.hubPrometheus(ctx, kap.Namespace, meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "star"}); !errors.As(err, &refused) || !strings.Contains(err.Error(), `"*" is not accepted`) {
		t.Errorf(`annotation "*": err = %v`, err)
	}
	p, err := r.hubPrometheus(ctx, kap.Namespace, meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "shared"})
	if err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if hubPods(p) != 4 {
		t.Errorf("hubPods = %d, want 2 replicas x 2 shards", hubPods(p))
	}
	own, err := r.hubPrometheus(ctx, kap.Namespace, meshv1alpha1.ObjectReference{Namespace: "kiali", Name: "own"})
	if err != nil || hubPods(own) != 1 {
		t.Errorf("its own namespace: %v, %d pods", err, hubPods(own))
	}
	if _, err := r.hubPrometheus(ctx, kap.Namespace, meshv1alpha1.ObjectReference{Namespace: "kiali", Name: "missing"}); !errors.Is(err, errNoHubPrometheus) {
		t.Errorf("missing in its own namespace: err = %v, want errNoHubPrometheus", err)
	}
	if w.n != 0 {
		t.Errorf("reading made %d writes", w.n)
	}
}

// A receiver the operator switched on, whose owner has since taken the
// namespace out of the annotation (or that a tampered record names), is
// left as it is, with a Warning event, and forgotten.
func TestReleaseReceiverWritesOnlyWhereAllowed(t *testing.T) {
	ctx := context.Background()
	kap := multiClusterKAP()
	var w patches
	cl := w.client(
		hubPrometheusObject("monitoring", "revoked", nil, map[string]any{"enableRemoteWriteReceiver": true}),
		hubPrometheusObject("monitoring", "shared", map[string]string{meshv1alpha1.AllowedNamespacesAnnotation: "kiali"}, map[string]any{"enableRemoteWriteReceiver": true}),
	)
	rec := events.NewFakeRecorder(10)
	r := &Wirer{APIReader: cl, Client: cl, Recorder: rec}

	if err := r.releaseReceiver(ctx, kap, meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "revoked"}); err != nil {
		t.Fatal(err)
	}
	if w.n != 0 {
		t.Errorf("wrote %d times to a Prometheus that does not allow namespace kiali", w.n)
	}
	select {
	case e := <-rec.Events:
		if !strings.Contains(e, "Warning "+meshv1alpha1.ReasonReceiverLeftAlone) || !strings.Contains(e, "monitoring/revoked") {
			t.Errorf("event = %q", e)
		}
	default:
		t.Error("no event names the receiver left on")
	}

	if err := r.releaseReceiver(ctx, kap, meshv1alpha1.ObjectReference{Namespace: "monitoring", Name: "shared"}); err != nil {
		t.Fatal(err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(clusters.PrometheusGVK)
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "monitoring", Name: "shared"}, got); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "enableRemoteWriteReceiver"); found || w.n != 1 {
		t.Errorf("allowed: %d writes, spec %v; want the field removed in one write", w.n, got.Object["spec"])
	}
	// Gone is done with.
	if err := r.releaseReceiver(ctx, kap, meshv1alpha1.ObjectReference{Namespace: "kiali", Name: "gone"}); err != nil {
		t.Errorf("a Prometheus that is gone: %v", err)
	}
}
