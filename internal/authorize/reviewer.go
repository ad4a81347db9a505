package authorize

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
)

// reviewTimeout bounds one round of reviews: a stuck API server must not
// hold the user's request, or the connections, for ever.
const reviewTimeout = 10 * time.Second

// Identity is who the API server says a token belongs to.
type Identity struct {
	Name   string
	UID    string
	Groups []string
}

// Decision is what the API server made of one token.
type Decision struct {
	// Authenticated is false when the API server rejected the token.
	Authenticated bool
	User          Identity
	// Missing is the first review the user failed; nil when all passed.
	Missing *Review
	// Reason is the authorizer's reason for a denial, for the log only.
	Reason string
}

// Allowed says the token authenticated and every review passed.
func (d Decision) Allowed() bool { return d.Authenticated && d.Missing == nil }

// selfSubjectReview and selfSubjectAccessReview are the checks themselves,
// named as a permission for when the cluster has taken system:basic-user
// away from its users.
var (
	selfSubjectReview       = Review{Verb: "create", Resource: "selfsubjectreviews", ResourceAPIGroup: authenticationv1.GroupName}
	selfSubjectAccessReview = Review{Verb: "create", Resource: "selfsubjectaccessreviews", ResourceAPIGroup: authorizationv1.GroupName}
)

// Reviewer has the API server check tokens and the configured reviews,
// each time with the token itself as the credential.
type Reviewer struct {
	base    *rest.Config
	reviews []Review
}

// NewReviewer checks tokens against the API server of config, whose own
// credentials are dropped: only its address and TLS settings (the CA the
// API server's certificate is verified with) are used.
func NewReviewer(config *rest.Config, reviews []Review) (*Reviewer, error) {
	if len(reviews) == 0 {
		return nil, errors.New("at least one subject access review is needed")
	}
	base := rest.AnonymousClientConfig(config)
	base.UserAgent = "kiali-auth-proxy-authorize"
	base.Timeout = reviewTimeout
	// The user's browser drives the rate, and the cache bounds it; the
	// client's own limiter would only queue users behind one another.
	base.QPS, base.Burst = -1, 0
	return &Reviewer{base: base, reviews: append([]Review(nil), reviews...)}, nil
}

// Review asks the API server who token is and whether that user passes
// every review. An error is a failure to ask (the API server unreachable
// or answering with an error), never a verdict.
func (r *Reviewer) Review(ctx context.Context, token string) (Decision, error) {
	config := rest.CopyConfig(r.base)
	config.BearerToken = token
	// client-go keeps one TLS transport per TLS configuration and wraps it
	// with the token per client, so the clients of each request share the
	// connections to the API server.
	authn, err := authenticationclient.NewForConfig(config)
	if err != nil {
		return Decision{}, err
	}
	authz, err := authorizationclient.NewForConfig(config)
	if err != nil {
		return Decision{}, err
	}

	who, err := authn.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case apierrors.IsUnauthorized(err):
		return Decision{}, nil
	case apierrors.IsForbidden(err):
		return Decision{Authenticated: true, Missing: &selfSubjectReview, Reason: err.Error()}, nil
	case err != nil:
		return Decision{}, fmt.Errorf("self subject review: %w", err)
	}
	u := who.Status.UserInfo
	d := Decision{Authenticated: true, User: Identity{Name: u.Username, UID: u.UID, Groups: u.Groups}}

	for i := range r.reviews {
		review := &r.reviews[i]
		sar, err := authz.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: review.attributes()},
		}, metav1.CreateOptions{})
		switch {
		case apierrors.IsUnauthorized(err):
			// The token expired between the two calls.
			return Decision{}, nil
		case apierrors.IsForbidden(err):
			d.Missing, d.Reason = &selfSubjectAccessReview, err.Error()
			return d, nil
		case err != nil:
			return Decision{}, fmt.Errorf("self subject access review (%s): %w", review, err)
		}
		if !sar.Status.Allowed {
			d.Missing, d.Reason = review, sar.Status.Reason
			if sar.Status.EvaluationError != "" {
				d.Reason += " (" + sar.Status.EvaluationError + ")"
			}
			return d, nil
		}
	}
	return d, nil
}
