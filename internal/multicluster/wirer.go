// Package multicluster wires the Prometheus servers of other clusters to the
// hub's receiver: it writes the operator's remote_write entry (and the
// receiver credentials it needs) on each cluster of spec.clusters, switches
// the hub Prometheus' receiver on, checks that metrics arrive, and takes
// everything out again when a cluster leaves the spec or the KialiAuthProxy
// is deleted. Owner references cannot cross clusters, so what was written
// is kept in a record in the KialiAuthProxy's namespace.
//
// Each kind of Prometheus configuration a cluster may have is a target
// (targets.go); the rest of the package does not know them apart.
package multicluster

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/clusters"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/secrets"
)

// Wirer does the multi-cluster part of a reconcile.
type Wirer struct {
	// Client writes on the hub: the finalizer, the receiver switch.
	Client client.Client
	// APIReader reads the record and the hub Prometheus from the API
	// server: neither carries the operator's label, which the cache needs.
	APIReader client.Reader
	// Secrets reads the receiver credentials and Kiali's remote-cluster
	// Secrets.
	Secrets  secrets.Reader
	Applier  *apply.Applier
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	// Clusters hands out clients for the clusters in spec.clusters.
	Clusters *clusters.Cache
	// RevokeGrace is how long a replaced token of Kiali's stays valid;
	// nil is DefaultRevokeGrace.
	RevokeGrace *time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	// clients are the clients this Wirer handed out, by kubeconfig Secret
	// key: a Wirer serves one reconcile, in which Kiali's access, the
	// checks and the wiring all use the same cluster's kubeconfig, read
	// once.
	clients map[clusters.SecretKey]clientResult
}

type clientResult struct {
	client client.Client
	err    error
}

// clusterClient is the client for the cluster whose kubeconfig is at key,
// read once per Wirer (Clusters reads the Secret on every call, so that a
// changed kubeconfig is picked up by the next reconcile).
func (r *Wirer) clusterClient(ctx context.Context, key clusters.SecretKey) (client.Client, error) {
	if res, ok := r.clients[key]; ok {
		return res.client, res.err
	}
	cl, err := r.Clusters.Client(ctx, key)
	if r.clients == nil {
		r.clients = map[clusters.SecretKey]clientResult{}
	}
	r.clients[key] = clientResult{client: cl, err: err}
	return cl, err
}
