package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
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
		got, err := w.servedVersion(context.Background(), mustKind(t, gk))
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

// Every kind render makes is in Kinds, at the version render writes first:
// desired() leaves out what the table does not know as not served, so a
// kind rendered but missing from the table would never be applied, watched
// or pruned. And every applied kind of the table is rendered for some spec.
func TestKindsHoldEveryRenderedKind(t *testing.T) {
	withRoute := testKAP()
	withRoute.Spec.Exposure.VirtualService = nil
	withRoute.Spec.Exposure.Route = &meshv1alpha1.RouteExposure{}
	withUsers := testKAP()
	withUsers.Spec.Proxy.Htpasswd = &meshv1alpha1.HtpasswdSpec{Users: []meshv1alpha1.HtpasswdUser{{Name: "admin", PasswordSecret: meshv1alpha1.SecretKeyReference{Name: "admin"}}}}

	kubernetes := loadSample(t, "mesh_v1alpha1_kialiauthproxy_kubernetes.yaml")

	rendered := map[schema.GroupKind]bool{}
	for _, kap := range []*meshv1alpha1.KialiAuthProxy{testKAP(), withRoute, withUsers, kubernetes} {
		for _, obj := range render.Objects(kap, render.Inputs{}) {
			gvk := obj.GetObjectKind().GroupVersionKind()
			k, ok := KindOf(gvk.GroupKind())
			if !ok {
				t.Errorf("%s %s is rendered but not in Kinds", gvk.Kind, obj.GetName())
				continue
			}
			if k.Versions[0] != gvk.Version {
				t.Errorf("%s is rendered as %s, Kinds prefers %s", gvk.GroupKind(), gvk.Version, k.Versions[0])
			}
			if k.Generated {
				t.Errorf("%s is rendered, but Kinds says it is generated and never applied", gvk.GroupKind())
			}
			rendered[gvk.GroupKind()] = true
		}
	}
	for _, k := range Kinds {
		if !k.Generated && !rendered[k.GroupKind] {
			t.Errorf("%s is in Kinds but never rendered", k.GroupKind)
		}
	}
}

// loadSample reads a KialiAuthProxy of config/samples, strictly.
func loadSample(t *testing.T, file string) *meshv1alpha1.KialiAuthProxy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := yaml.UnmarshalStrict(raw, kap); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return kap
}

// countingMapper counts the questions that cost a discovery request when
// the kind is unknown.
type countingMapper struct {
	meta.RESTMapper
	asked int
}

func (m *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	m.asked++
	return m.RESTMapper.RESTMapping(gk, versions...)
}

// A cluster without the Gateway API costs no discovery request per
// reconcile: the kind is taken as absent until its CRD shows in the cache,
// or absentRecheck has passed.
func TestAbsentKindsAreNotRediscoveredEachReconcile(t *testing.T) {
	ctx := context.Background()
	mapper := &countingMapper{RESTMapper: meta.NewDefaultRESTMapper(nil)}
	crds := fake.NewClientBuilder().WithScheme(NewScheme()).Build()
	now := time.Now()
	w := &optionalWatches{mapper: mapper, crds: crds, live: crds, now: func() time.Time { return now }}
	k := mustKind(t, httpRouteGK)

	served := func() string {
		t.Helper()
		v, err := w.servedVersion(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := served(); v != "" || mapper.asked != 1 {
		t.Fatalf("served at %q after %d questions", v, mapper.asked)
	}
	for range 5 {
		if v := served(); v != "" {
			t.Fatalf("served at %q", v)
		}
	}
	if mapper.asked != 1 {
		t.Errorf("discovery asked %d times for a kind known absent", mapper.asked)
	}

	now = now.Add(absentRecheck)
	served()
	if mapper.asked != 2 {
		t.Errorf("discovery asked %d times once absentRecheck passed, want 2", mapper.asked)
	}

	// The CRD arrives: asked at once, and found.
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: k.CRD}}
	if err := crds.Create(ctx, crd); err != nil {
		t.Fatal(err)
	}
	mapper.RESTMapper.(*meta.DefaultRESTMapper).Add(httpRouteGK.WithVersion("v1"), meta.RESTScopeNamespace)
	if v := served(); v != "v1" || mapper.asked != 3 {
		t.Errorf("served at %q after %d questions, want v1 after 3", v, mapper.asked)
	}
}
