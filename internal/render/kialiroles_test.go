package render

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// TestKialiRoleForSelectsTheVersionsTemplate: each version range takes
// the rules of the kiali-operator tag the range starts at.
func TestKialiRoleForSelectsTheVersionsTemplate(t *testing.T) {
	for version, want := range map[string]string{
		"default": "roles/v1.73",
		"v1.73":   "roles/v1.73",
		"v2.4":    "v2.0.0 roles/default",
		"v2.12.3": "v2.0.0 roles/default",
		"v2.13":   "v2.13.0 roles/default",
		"v2.20":   "v2.17.0 roles/default",
		"v2.28":   "v2.28.0 roles/default",
		"v2.29.1": "v2.28.0 roles/default",
		"latest":  "v2.28.0 roles/default",
		"v2.x":    "v2.28.0 roles/default",
	} {
		if got := KialiRoleFor(version, false).Source; !strings.Contains(got, want) {
			t.Errorf("KialiRoleFor(%q).Source = %q, want it from %s", version, got, want)
		}
	}
}

// TestViewerRoleOnlyReads: the viewer role lets Kiali change nothing but
// what reading takes (port-forwarding to pods, reviewing tokens).
func TestViewerRoleOnlyReads(t *testing.T) {
	for _, version := range []string{"v1.73", "v2.4", "v2.13", "v2.17", "v2.29"} {
		for _, p := range KialiRoleFor(version, true).Permissions() {
			if slices.Contains([]string{"get", "list", "watch"}, p.Verb) {
				continue
			}
			if p.Verb == "create" && (p.Resource == "pods/portforward" || p.Resource == "tokenreviews") {
				continue
			}
			t.Errorf("%s viewer role grants %s", version, p)
		}
		full := KialiRoleFor(version, false).Permissions()
		if !slices.Contains(full, Permission{Group: "networking.istio.io", Resource: "*", Verb: "patch"}) {
			t.Errorf("%s full role cannot patch Istio configuration", version)
		}
	}
}

// TestV173ReadsTheCASecrets: Kiali v1.73's certificate indicators read the
// Istio CA Secrets, which only a Role in the Istio namespace grants.
func TestV173ReadsTheCASecrets(t *testing.T) {
	p := PlanFor(kapWithVersion("v1.73"), "")
	a := RemoteAccessFor(p)
	if a.Role == nil || !slices.Equal(a.Role.Rules[0].ResourceNames, []string{"cacerts", "istio-ca-secret"}) {
		t.Fatalf("v1.73 access has no Role for the CA Secrets: %+v", a.Role)
	}
	if a2 := RemoteAccessFor(PlanFor(kapWithVersion("v2.4"), "")); a2.Role != nil || len(a2.Objects()) != 3 {
		t.Errorf("v2 access has a Role: %+v", a2.Role)
	}
}

func kapWithVersion(version string) *meshv1alpha1.KialiAuthProxy {
	kap := &meshv1alpha1.KialiAuthProxy{}
	kap.Namespace, kap.Name = "kiali", "kiali"
	kap.Spec.Kiali.Version = version
	return kap
}

// TestKialiClusteringListsOnlyExistingSecrets: a cluster whose Secret does
// not exist stays out of the Kiali CR, which would otherwise keep the
// Kiali pod from starting; offline, Managed clusters are left out.
func TestKialiClusteringListsOnlyExistingSecrets(t *testing.T) {
	kap := kapWithVersion("v1.73")
	kap.Spec.Clusters = []meshv1alpha1.ClusterSpec{
		{Name: "east"},
		{Name: "west", KialiAccess: meshv1alpha1.KialiAccessManaged, Kubeconfig: &meshv1alpha1.SecretKeyReference{Name: "west-admin"}},
	}
	p := PlanFor(kap, "")
	names := func(in Inputs) []string {
		var out []string
		for _, o := range Render(p, in).Objects {
			if o.GetObjectKind().GroupVersionKind() != KialiGVK {
				continue
			}
			list, _, _ := unstructured.NestedSlice(o.(*unstructured.Unstructured).Object, "spec", "kiali_feature_flags", "clustering", "clusters")
			for _, c := range list {
				m := c.(map[string]any)
				out = append(out, m["name"].(string)+"="+m["secret_name"].(string))
			}
		}
		return out
	}
	if got := names(Inputs{}); !slices.Equal(got, []string{"east=kiali-remote-cluster-secret-east"}) {
		t.Errorf("offline: %v", got)
	}
	if got := names(Inputs{KialiClusterSecrets: map[string]string{}}); len(got) != 0 {
		t.Errorf("no Secret exists, yet listed: %v", got)
	}
	got := names(Inputs{KialiClusterSecrets: map[string]string{"west": "kiali-remote-cluster-secret-west-0a1b2c3d"}})
	if !slices.Equal(got, []string{"west=kiali-remote-cluster-secret-west-0a1b2c3d"}) {
		t.Errorf("only west's Secret exists: %v", got)
	}
}
