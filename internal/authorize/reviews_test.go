package authorize

import (
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
)

func TestParseReviewsReadsTheRenderedFormat(t *testing.T) {
	// As render.SubjectAccessReviewsJSON writes it.
	got, err := ParseReviews(`[{"namespace":"istio-system","resource":"pods/log","resourceAPIGroup":"","verb":"get"},` +
		`{"resource":"deployments","resourceAPIGroup":"apps","resourceName":"kiali","verb":"patch"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d reviews", len(got))
	}
	if a := got[0].attributes(); *a != (authorizationv1.ResourceAttributes{Namespace: "istio-system", Verb: "get", Resource: "pods", Subresource: "log"}) {
		t.Errorf("attributes %+v", a)
	}
	if a := got[1].attributes(); *a != (authorizationv1.ResourceAttributes{Verb: "patch", Group: "apps", Resource: "deployments", Name: "kiali"}) {
		t.Errorf("attributes %+v", a)
	}
	for r, want := range map[Review]string{
		got[0]:  "get pods/log in namespace istio-system",
		got[1]:  `patch deployments.apps "kiali"`,
		getPods: "get pods in namespace istio-system",
	} {
		if r.String() != want {
			t.Errorf("%+v reads %q, want %q", r, r.String(), want)
		}
	}
}

func TestParseReviewsRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty list":       `[]`,
		"null":             `null`,
		"nothing":          ``,
		"an object":        `{"resource":"pods","verb":"get"}`,
		"unknown field":    `[{"namespaces":"istio-system","resource":"pods","verb":"get"}]`,
		"no verb":          `[{"resource":"pods"}]`,
		"no resource":      `[{"verb":"get"}]`,
		"bad subresource":  `[{"resource":"pods/","verb":"get"}]`,
		"two subresources": `[{"resource":"pods/a/b","verb":"get"}]`,
		"trailing data":    `[{"resource":"pods","verb":"get"}] []`,
	} {
		if _, err := ParseReviews(in); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "subject access reviews: ") {
			t.Errorf("%s: error %q does not say what it is about", name, err)
		}
	}
}
