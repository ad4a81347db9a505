package multicluster

import (
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// access is Kiali's access to one cluster with kialiAccess Managed, as
// recorded: what the operator made there, and the tokens it issued.
// Owner references cannot cross clusters, so, like a wiring, it is kept
// in the record and taken out again when the cluster leaves the spec, or
// stops being Managed, or the KialiAuthProxy is deleted.
type access struct {
	Cluster string `json:"cluster"`
	// Kubeconfig is the Secret key of the kubeconfig the operator writes
	// with there.
	Kubeconfig render.SecretKey `json:"kubeconfig"`
	// Namespace and Name of the ServiceAccount (and of the Role and
	// RoleBinding, when Role is set); the ClusterRole and its binding are
	// called Name too.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Role      bool   `json:"role,omitempty"`
	// Rotation is the value of meshv1alpha1.RotateRemoteAccessAnnotation
	// the newest token answers.
	Rotation string `json:"rotation,omitempty"`
	// Tokens, oldest first: the newest is the one Kiali is moved to, the
	// others wait for their revocation.
	Tokens []token `json:"tokens,omitempty"`
}

// token is one token issued for Kiali: bound to an anchor Secret on the
// cluster, written into a remote-cluster Secret at the hub. Both carry the
// suffix.
type token struct {
	Suffix string `json:"suffix"`
	// Secret is the hub Secret holding it.
	Secret string `json:"secret"`
	// IssuedAt and ExpiresAt are zero until the token was issued: the
	// suffix is recorded before anything is made.
	IssuedAt  time.Time `json:"issuedAt,omitzero"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// RevokeAt is set once a newer token replaced this one: then its
	// anchor and its hub Secret are deleted, which makes the cluster
	// refuse it.
	RevokeAt time.Time `json:"revokeAt,omitzero"`
}

// issued reports whether the token exists.
func (t token) issued() bool { return !t.ExpiresAt.IsZero() }

// renewAt is when a token is renewed: at 80% of its lifetime, as the
// kubelet renews the tokens it projects into pods (k8s.io/kubernetes
// pkg/kubelet/token/token_manager.go, requiresRefresh). The fifth left
// is the margin for retries while the cluster or the hub is unreachable:
// 4.8 hours of a 24-hour token.
func (t token) renewAt() time.Time {
	life := t.ExpiresAt.Sub(t.IssuedAt)
	return t.IssuedAt.Add(life * 4 / 5)
}

// newest is the newest issued token, or nil.
func (a *access) newest() *token {
	for i := len(a.Tokens) - 1; i >= 0; i-- {
		if a.Tokens[i].issued() {
			return &a.Tokens[i]
		}
	}
	return nil
}

func findAccess(as []access, cluster string) *access {
	for i := range as {
		if as[i].Cluster == cluster {
			return &as[i]
		}
	}
	return nil
}
