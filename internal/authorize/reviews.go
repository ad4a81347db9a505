package authorize

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
)

// Review is one permission a user must hold to reach Kiali, in the format
// the operator renders for oauth-proxy's -openshift-sar
// (render.SubjectAccessReviewsJSON), so that both providers read the same
// list.
type Review struct {
	// Namespace is where the permission is checked; empty is cluster-wide
	// (or every namespace, for a namespaced resource).
	Namespace string `json:"namespace,omitempty"`
	// Resource is a resource, or resource/subresource.
	Resource         string `json:"resource"`
	ResourceAPIGroup string `json:"resourceAPIGroup,omitempty"`
	ResourceName     string `json:"resourceName,omitempty"`
	Verb             string `json:"verb"`
}

// ParseReviews reads a JSON list of reviews. An empty list is refused: a
// proxy with nothing to check would let every user the issuer knows into
// Kiali, which is what forward-only mode says outright instead.
func ParseReviews(s string) ([]Review, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	// A misspelt field would silently widen a review (a dropped namespace
	// is cluster-wide).
	dec.DisallowUnknownFields()
	var reviews []Review
	if err := dec.Decode(&reviews); err != nil {
		return nil, fmt.Errorf("subject access reviews: %w", err)
	}
	if dec.More() {
		return nil, errors.New("subject access reviews: trailing data after the list")
	}
	if len(reviews) == 0 {
		return nil, errors.New("subject access reviews: the list is empty; at least one review is needed")
	}
	for i, r := range reviews {
		if r.Verb == "" || r.Resource == "" {
			return nil, fmt.Errorf("subject access reviews: entry %d needs a verb and a resource", i)
		}
		if res, sub, ok := strings.Cut(r.Resource, "/"); ok && (res == "" || sub == "" || strings.Contains(sub, "/")) {
			return nil, fmt.Errorf("subject access reviews: entry %d: resource %q is not resource or resource/subresource", i, r.Resource)
		}
	}
	return reviews, nil
}

// attributes are the review as a SelfSubjectAccessReview asks it.
func (r Review) attributes() *authorizationv1.ResourceAttributes {
	resource, subresource, _ := strings.Cut(r.Resource, "/")
	return &authorizationv1.ResourceAttributes{
		Namespace:   r.Namespace,
		Verb:        r.Verb,
		Group:       r.ResourceAPIGroup,
		Resource:    resource,
		Subresource: subresource,
		Name:        r.ResourceName,
	}
}

// String says what the review grants, as in "get pods in namespace
// istio-system", for the page that tells a user what they lack.
func (r Review) String() string {
	resource, subresource, _ := strings.Cut(r.Resource, "/")
	if r.ResourceAPIGroup != "" {
		resource += "." + r.ResourceAPIGroup
	}
	if subresource != "" {
		resource += "/" + subresource
	}
	s := r.Verb + " " + resource
	if r.ResourceName != "" {
		s += fmt.Sprintf(" %q", r.ResourceName)
	}
	if r.Namespace != "" {
		s += " in namespace " + r.Namespace
	}
	return s
}
