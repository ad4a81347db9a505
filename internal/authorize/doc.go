// Package authorize is the authorizing reverse proxy between oauth2-proxy
// and Kiali in the OIDC provider's pod (the operator binary's "authorize"
// subcommand).
//
// oauth2-proxy logs the user in at the issuer and forwards every request
// over loopback with "Authorization: Bearer <ID token>" (its
// --pass-authorization-header; the header is built by getAuthorizationHeader
// in pkg/apis/options/legacy_options.go of oauth2-proxy v7.15.6, from the
// session's id_token claim). Before Kiali is reached, this proxy has the
// cluster's API server check that token and the configured
// SubjectAccessReviews, then forwards without the token.
//
// The checks are made with the user's own token, not with the proxy's
// ServiceAccount: one SelfSubjectReview (authentication.k8s.io/v1), for which
// the API server runs the bearer token through the same authenticators a
// TokenReview would and answers with the user's name, groups, uid and extra
// (this is the token check), and one SelfSubjectAccessReview
// (authorization.k8s.io/v1) per configured review. Every authenticated user
// may create both: the bootstrap ClusterRole system:basic-user, bound to
// system:authenticated, grants create on selfsubjectreviews,
// selfsubjectaccessreviews and selfsubjectrulesreviews
// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go of
// k8s.io/kubernetes, basicUserRules). The proxy's ServiceAccount therefore
// needs no cluster-wide create on tokenreviews and subjectaccessreviews
// (system:auth-delegator in the same file), which would let whoever takes
// the pod test any token it finds and probe anyone's permissions.
//
// A token the API server rejects (401) is "not logged in" and answered 401;
// a review that denies is answered 403 with a short plain-text page naming
// the missing permission. Results are cached briefly, keyed by a hash of
// the token (cache.go), so that a page's burst of requests costs one round
// of reviews.
package authorize
