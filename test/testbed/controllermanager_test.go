package testbed

import (
	"context"
	"slices"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestClusterRoleAggregation shows that StartControllerManager runs the
// controller it is given: envtest alone leaves edit, admin and view as
// bootstrapped, so a role labelled to be aggregated into them adds
// nothing, and no test could tell what a user with edit may do.
func TestClusterRoleAggregation(t *testing.T) {
	env, err := NewEnvironment(Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	var log SyncBuffer
	stop, err := StartControllerManager(env, cfg, []string{ClusterRoleAggregationController}, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		} else if t.Failed() {
			t.Logf("kube-controller-manager:\n%s", log.String())
		}
	})
	k, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{
			Name:   "widgets-view",
			Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"},
		},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"widgets"}, Verbs: []string{"get"}}},
	}
	if err := k.Create(t.Context(), role); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		view := &rbacv1.ClusterRole{}
		if err := k.Get(ctx, client.ObjectKey{Name: "view"}, view); err != nil {
			return false, err
		}
		return slices.ContainsFunc(view.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, "widgets")
		}), nil
	})
	if err != nil {
		t.Fatalf("waiting for view to hold the rule of %s: %v", role.Name, err)
	}
}
