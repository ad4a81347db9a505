package controller

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// An Istio that predates its v1 APIs (OpenShift Service Mesh 2.x) serves
// v1beta1: the operator writes that version instead of calling the CRD
// missing.
func TestServedVersionFallsBack(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(virtualServiceGK.WithVersion("v1beta1"), meta.RESTScopeNamespace)
	mapper.Add(virtualServiceGK.WithVersion("v1alpha3"), meta.RESTScopeNamespace)
	mapper.Add(authorizationPolicyGK.WithVersion("v1"), meta.RESTScopeNamespace)
	mapper.Add(authorizationPolicyGK.WithVersion("v1beta1"), meta.RESTScopeNamespace)
	w := &optionalWatches{mapper: mapper}

	for gk, want := range map[schema.GroupKind]string{
		virtualServiceGK:      "v1beta1",
		authorizationPolicyGK: "v1",
		routeGK:               "",
		kialiGK:               "",
	} {
		got, err := w.servedVersion(context.Background(), gk, mustKind(t, gk).Versions)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s served at %q, want %q", gk, got, want)
		}
	}
}

func TestAtVersion(t *testing.T) {
	kap := testKAP()
	vs := render.VirtualService(kap.WithDefaults(""), render.NamesFor(kap))
	same, err := atVersion(vs, vs.GroupVersionKind())
	if err != nil || same != vs {
		t.Fatalf("the served version was rewritten: %v", err)
	}
	old, err := atVersion(vs, virtualServiceGK.WithVersion("v1beta1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := old.GetObjectKind().GroupVersionKind().Version; got != "v1beta1" {
		t.Errorf("version %s", got)
	}
	if old.GetName() != vs.GetName() || len(old.GetLabels()) != len(vs.GetLabels()) {
		t.Error("the object changed beyond its version")
	}
}

func mustKind(t *testing.T, gk schema.GroupKind) Kind {
	t.Helper()
	k, ok := KindOf(gk)
	if !ok {
		t.Fatalf("%s is not in Kinds", gk)
	}
	return k
}
