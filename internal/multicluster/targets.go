package multicluster

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
)

// A target is one kind of Prometheus configuration on another cluster that
// the operator writes its remote_write entry into: one field of
// spec.clusters[].prometheus. A new kind is a type here and its API field.
type target interface {
	// kind names the target in the record (wiring.Sender). Records
	// outlive releases: a kind never changes.
	kind() string
	// placeOf says where p asks for the entry, or false when p names
	// another kind of target.
	placeOf(p *meshv1alpha1.SpokePrometheus) (place, bool)
	// describe names the place in messages.
	describe(w wiring) string
	// wire merges the entry in (and the credentials next to it). The
	// finding, when not nil, says why the entry will not take effect, or
	// what else there is to know.
	wire(ctx context.Context, cl client.Client, w wiring, e remotewrite.Entry, creds map[string][]byte) (wiring, *finding, error)
	// unwire takes the entry out; the credentials go after it.
	unwire(ctx context.Context, cl client.Client, w wiring) error
	// preview shows the entry in the target's own format, for a review
	// without the cluster: where it goes, and the text written there.
	preview(w wiring, e remotewrite.Entry) (where, text string, err error)
}

// place is where on a cluster a target keeps the Prometheus configuration.
type place struct {
	namespace, name, key string
	// credentialsDir is where a Prometheus reads the credentials from, when
	// the target says so.
	credentialsDir string
}

// targets are every kind of target, in the order admission allows them to
// be named (exactly one per cluster).
var targets = []target{prometheusResource{}, userWorkloadMonitoring{}, prometheusConfigMap{}}

// targetFor is the target p names.
func targetFor(p *meshv1alpha1.SpokePrometheus) (target, place, bool) {
	for _, t := range targets {
		if pl, ok := t.placeOf(p); ok {
			return t, pl, true
		}
	}
	return nil, place{}, false
}

// targetOf is the target of a recorded wiring.
func targetOf(w wiring) (target, error) {
	for _, t := range targets {
		if t.kind() == w.Sender {
			return t, nil
		}
	}
	return nil, fmt.Errorf("the record names a Prometheus target %q this operator does not know", w.Sender)
}
