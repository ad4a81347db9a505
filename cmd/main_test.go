package main

import (
	"slices"
	"testing"
)

// OLM writes olm.targetNamespaces as a comma-separated list, empty for
// AllNamespaces.
func TestSplitNamespaces(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"kiali", []string{"kiali"}},
		{"kiali,team-a", []string{"kiali", "team-a"}},
		{" kiali , team-a,,kiali ", []string{"kiali", "team-a"}},
	} {
		got, err := splitNamespaces(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitNamespaces(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := splitNamespaces("kiali,Team_A"); err == nil {
		t.Error("an invalid namespace name is accepted")
	}
}
