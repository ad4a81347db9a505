package multicluster

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/conditions"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// State is what the multi-cluster part reads before rendering: the record
// of what was made on other clusters, and which clusters' remote-cluster
// Secrets exist, for the Kiali CR to list only those.
type State struct {
	rec *record
	// secrets maps each cluster whose remote-cluster Secret exists to it.
	secrets map[string]string
	// kiali is each cluster's status of Kiali's access, filled in as the
	// reconcile goes.
	kiali    map[string]*meshv1alpha1.KialiClusterStatus
	problems []conditions.Problem
	// access is Kiali's access as the plan renders it, the same on every
	// cluster: what Managed access makes, and what every cluster's
	// credentials are checked against.
	access render.RemoteAccess
}

// KialiClusterSecrets are the clusters to list in the Kiali CR, with their
// Secrets (render.Inputs.KialiClusterSecrets).
func (st *State) KialiClusterSecrets() map[string]string { return st.secrets }

// Problems are the references of spec.clusters that are unusable, for the
// Degraded condition.
func (st *State) Problems() []conditions.Problem { return st.problems }

// Prepare reads the record (when something may be recorded) and finds the
// remote-cluster Secret of every cluster: kialiSecret for Provided access,
// the newest token's Secret for Managed access.
func (r *Wirer) Prepare(ctx context.Context, p render.Plan) (*State, error) {
	kap, d := p.Stored, p.KAP
	st := &State{rec: &record{}, secrets: map[string]string{}, kiali: map[string]*meshv1alpha1.KialiClusterStatus{},
		access: render.RemoteAccessFor(p)}
	managed := false
	for _, c := range d.Spec.Clusters {
		managed = managed || c.KialiAccess == meshv1alpha1.KialiAccessManaged
	}
	if managed || controllerutil.ContainsFinalizer(kap, meshv1alpha1.RemoteCleanupFinalizer) {
		rec, err := r.loadRecord(ctx, kap, p.Names)
		if err != nil {
			return nil, err
		}
		st.rec = rec
	}
	for _, c := range d.Spec.Clusters {
		ks := &meshv1alpha1.KialiClusterStatus{}
		st.kiali[c.Name] = ks
		if c.KialiAccess == meshv1alpha1.KialiAccessManaged {
			var t *token
			if a := findAccess(st.rec.Access, c.Name); a != nil {
				t = a.newest()
			}
			if t == nil {
				ks.Reason, ks.Message = meshv1alpha1.ReasonKialiSecretMissing, fmt.Sprintf(
					"the operator has not made Kiali's access to cluster %s yet, so the cluster is not in the Kiali CR", c.Name)
				continue
			}
			secret, _, _, err := r.Secrets.Key(ctx, kap.Namespace, render.SecretKey{Name: t.Secret, Key: c.Name}, "")
			if err != nil {
				return nil, err
			}
			if secret != nil {
				st.secrets[c.Name], ks.Secret, ks.Listed = t.Secret, t.Secret, true
			}
			continue
		}
		ks.Secret = c.KialiSecret
		secret, _, problem, err := r.Secrets.Key(ctx, kap.Namespace, render.SecretKey{Name: c.KialiSecret, Key: c.Name},
			fmt.Sprintf("is Kiali's remote-cluster Secret for cluster %s (spec.clusters) and", c.Name))
		if err != nil {
			return nil, err
		}
		if problem != nil {
			problem.Message += "; kiali-prepare-remote-cluster.sh makes it, or set kialiAccess: Managed for the operator to"
			st.problems = append(st.problems, *problem)
		}
		if secret == nil {
			ks.Reason, ks.Message = meshv1alpha1.ReasonKialiSecretMissing, fmt.Sprintf(
				"Secret %s/%s does not exist, so cluster %s is left out of the Kiali CR until it does: the Kiali operator mounts every listed Secret as a volume Kiali cannot start without",
				kap.Namespace, c.KialiSecret, c.Name)
			continue
		}
		st.secrets[c.Name], ks.Listed = c.KialiSecret, true
	}
	return st, nil
}
