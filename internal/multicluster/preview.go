package multicluster

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// ClusterPreview is what the operator writes on one cluster of
// spec.clusters, as far as it is known without the clusters: for a review
// of the KialiAuthProxy before it is applied.
type ClusterPreview struct {
	Cluster string
	// Objects are Kiali's ServiceAccount and roles (kialiAccess Managed).
	// Its tokens are not shown: each is bound to an anchor Secret made
	// when it is issued.
	Objects []client.Object
	// RemoteWrite is where the remote_write entry goes, and the entry in
	// that place's format; empty without a Prometheus.
	RemoteWriteWhere, RemoteWrite string
	// Credentials names the receiver credentials Secret written next to
	// the Prometheus, and its keys; empty when the receiver needs none.
	Credentials     string
	CredentialsKeys []string
}

// Preview is what the operator writes on each cluster of the plan. The
// basic-auth user name, read from a Secret, is shown as username.
func Preview(p render.Plan) ([]ClusterPreview, error) {
	d, n := p.KAP, p.Names
	var out []ClusterPreview
	ra, wirings := render.RemoteAccessFor(p), desiredWirings(d, n)
	for _, c := range d.Spec.Clusters {
		cp := ClusterPreview{Cluster: c.Name}
		if c.KialiAccess == meshv1alpha1.KialiAccessManaged {
			cp.Objects = ra.Objects()
		}
		for _, w := range wirings {
			if w.Cluster != c.Name {
				continue
			}
			t, err := targetOf(w)
			if err != nil {
				return nil, err
			}
			e := entryFor(d, n, c, "username")
			if cp.RemoteWriteWhere, cp.RemoteWrite, err = t.preview(w, e); err != nil {
				return nil, err
			}
			if rc := d.Spec.Metrics.Receiver; rc.BearerToken != nil || rc.BasicAuth != nil || rc.CA != nil {
				cp.Credentials = w.Namespace + "/" + w.Entry
				for _, k := range []struct {
					set bool
					key []string
				}{
					{rc.BearerToken != nil, []string{remotewrite.BearerTokenKey}},
					{rc.BasicAuth != nil, []string{remotewrite.UsernameKey, remotewrite.PasswordKey}},
					{rc.CA != nil, []string{remotewrite.CAKey}},
				} {
					if k.set {
						cp.CredentialsKeys = append(cp.CredentialsKeys, k.key...)
					}
				}
			}
		}
		out = append(out, cp)
	}
	return out, nil
}
