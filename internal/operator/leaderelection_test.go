package operator

import "testing"

// In a namespaced install the Lease goes where every install grants the
// operator its permissions: the first watched namespace.
func TestLeaderElectionNamespace(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, ""},
		{Options{LeaderElectionNamespace: "ops"}, "ops"},
		{Options{WatchNamespaces: []string{"kiali", "team-a"}}, "kiali"},
		{Options{LeaderElectionNamespace: "ops", WatchNamespaces: []string{"kiali"}}, "ops"},
	} {
		if got := leaderElectionNamespace(tc.o); got != tc.want {
			t.Errorf("leaderElectionNamespace(%+v) = %q, want %q", tc.o, got, tc.want)
		}
	}
}
