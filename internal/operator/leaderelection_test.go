package operator

import "testing"

// Watching one namespace, the Lease goes there, where every install grants
// the operator its permissions; watching several (OLM v0 only), it stays in
// the operator's own namespace, whatever the list holds.
func TestLeaderElectionNamespace(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, ""},
		{Options{LeaderElectionNamespace: "ops"}, "ops"},
		{Options{WatchNamespaces: []string{"kiali"}}, "kiali"},
		{Options{WatchNamespaces: []string{"kiali", "team-a"}}, ""},
		{Options{LeaderElectionNamespace: "ops", WatchNamespaces: []string{"kiali"}}, "ops"},
	} {
		if got := leaderElectionNamespace(tc.o); got != tc.want {
			t.Errorf("leaderElectionNamespace(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
}
