// Package rbac checks the operator's generated RBAC for least privilege.
package rbac

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/controller"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

func managerRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(raw, role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}
	return role
}

func TestNoWildcards(t *testing.T) {
	for _, r := range managerRole(t).Rules {
		for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			for _, v := range list {
				if strings.Contains(v, "*") {
					t.Errorf("wildcard %q in rule %+v", v, r)
				}
			}
		}
	}
}

// Secrets are read, generated (created) and pruned (deleted, only the
// operator's own generated htpasswd files): never updated or patched, so a
// user's Secret cannot be changed by the operator whatever a bug does.
func TestSecretsAreNeverWritten(t *testing.T) {
	var verbs []string
	for _, r := range managerRole(t).Rules {
		if slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "secrets") {
			verbs = append(verbs, r.Verbs...)
		}
	}
	slices.Sort(verbs)
	if want := []string{"create", "delete", "get", "list", "watch"}; !slices.Equal(verbs, want) {
		t.Errorf("secrets verbs %v, want %v", verbs, want)
	}
}

// The operator reads CRDs to notice Istio or Kiali being installed; it must
// not be able to change them.
func TestCRDsAreReadOnly(t *testing.T) {
	for _, r := range managerRole(t).Rules {
		if slices.Contains(r.Resources, "customresourcedefinitions") {
			for _, v := range r.Verbs {
				if !slices.Contains([]string{"get", "list", "watch"}, v) {
					t.Errorf("customresourcedefinitions verb %q", v)
				}
			}
		}
	}
}

// Every kind the operator makes (controller.Kinds) is granted what making
// it takes: read and watch it, create it, delete it when pruned, and patch
// it (server-side apply) unless it is only ever created.
func TestEveryKindIsGranted(t *testing.T) {
	role := managerRole(t)
	for _, k := range controller.Kinds {
		gvr, _ := meta.UnsafeGuessKindToResource(k.WithVersion(k.Versions[0]))
		if k.CRD != "" && k.CRD != gvr.Resource+"."+k.Group {
			t.Errorf("%s: the CRD %s is not the kind's resource %s", k.GroupKind, k.CRD, gvr.Resource)
		}
		want := []string{"get", "list", "watch", "create", "delete"}
		if !k.Generated {
			want = append(want, "patch")
		}
		for _, verb := range want {
			if !grants(role, k.Group, gvr.Resource, verb) {
				t.Errorf("%s: config/rbac/role.yaml does not grant %s on %s", k.GroupKind, verb, gvr.Resource)
			}
		}
	}
}

func grants(role *rbacv1.ClusterRole, group, resource, verb string) bool {
	return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
	})
}
