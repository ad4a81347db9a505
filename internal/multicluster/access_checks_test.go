package multicluster

import (
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// TestCoversMatchesAsRBACDoes: wildcards of verbs, groups and resources,
// subresource wildcards, and resource names restricting a rule.
func TestCoversMatchesAsRBACDoes(t *testing.T) {
	rules := []authorizationv1.ResourceRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "pods/*"}},
		{Verbs: []string{"*"}, APIGroups: []string{"networking.istio.io"}, Resources: []string{"*"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"cacerts"}},
		{Verbs: []string{"watch"}, APIGroups: []string{"*"}, Resources: []string{"*/log"}},
	}
	for _, c := range []struct {
		perm render.Permission
		want bool
	}{
		{render.Permission{Resource: "pods", Verb: "list"}, true},
		{render.Permission{Resource: "pods", Verb: "watch"}, false},
		{render.Permission{Resource: "pods/log", Verb: "get"}, true},
		{render.Permission{Resource: "pods/log", Verb: "watch"}, true},
		{render.Permission{Group: "networking.istio.io", Resource: "*", Verb: "patch"}, true},
		{render.Permission{Group: "security.istio.io", Resource: "*", Verb: "get"}, false},
		{render.Permission{Resource: "secrets", Verb: "get", Name: "cacerts"}, true},
		{render.Permission{Resource: "secrets", Verb: "get", Name: "istio-ca-secret"}, false},
		{render.Permission{Resource: "secrets", Verb: "get"}, false},
	} {
		if got := covers(rules, c.perm); got != c.want {
			t.Errorf("covers(%s) = %v, want %v", c.perm, got, c.want)
		}
	}
}

// TestRenewalAtFourFifths: a token is renewed with a fifth of its lifetime
// left, as the kubelet renews projected tokens.
func TestRenewalAtFourFifths(t *testing.T) {
	tok := token{IssuedAt: mustTime(t, "2026-01-01T00:00:00Z"), ExpiresAt: mustTime(t, "2026-01-02T00:00:00Z")}
	if got, want := tok.renewAt(), mustTime(t, "2026-01-01T19:12:00Z"); !got.Equal(want) {
		t.Errorf("renewAt = %s, want %s", got, want)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
