package main

import (
	"fmt"
	"strings"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/multicluster"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// clusterSections shows what the operator writes on each cluster of
// spec.clusters. Those objects belong to other clusters, so in the hub's
// stream every line is a comment: the stream stays safe to apply on the
// hub. With only set, the one cluster's objects are printed as YAML, to
// apply or diff there, and the hub's are left out.
func clusterSections(plan render.Plan, only string) (string, error) {
	previews, err := multicluster.Preview(plan)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	found := false
	for i, cp := range previews {
		if only != "" && cp.Cluster != only {
			continue
		}
		found = true
		c := plan.KAP.Spec.Clusters[i]
		var sec strings.Builder
		fmt.Fprintf(&sec, "# ==== Cluster %s: written there by the operator, with the kubeconfig in Secret %s/%s key %s ====\n",
			cp.Cluster, plan.Names.Namespace, c.Kubeconfig.Name, c.Kubeconfig.Key)
		if len(cp.Objects) > 0 {
			fmt.Fprintf(&sec, "# Kiali's identity there (kialiAccess: Managed). Each token is bound to an empty Secret %s-<suffix>\n"+
				"# in %s, and written into Secret %s/%s-<suffix> on the hub, which the Kiali CR then lists.\n",
				plan.Names.RemoteKiali, plan.KAP.Spec.Kiali.IstioNamespace, plan.Names.Namespace, c.KialiSecret)
			doc, err := apply.YAML(cp.Objects)
			if err != nil {
				return "", err
			}
			if only == "" {
				sec.WriteString(commented("---\n" + string(doc)))
			} else {
				sec.WriteString("---\n")
				sec.Write(doc)
			}
		}
		if cp.RemoteWrite != "" {
			fmt.Fprintf(&sec, "# The remote_write entry, as %s:\n", cp.RemoteWriteWhere)
			sec.WriteString(commented(cp.RemoteWrite))
		}
		if cp.Credentials != "" {
			fmt.Fprintf(&sec, "# Next to it, Secret %s with the keys %s, copied from spec.metrics.receiver's Secrets.\n",
				cp.Credentials, strings.Join(cp.CredentialsKeys, ", "))
		}
		b.WriteString(sec.String())
	}
	if only != "" && !found {
		return "", fmt.Errorf("KialiAuthProxy %s/%s has no cluster %q in spec.clusters", plan.Stored.Namespace, plan.Stored.Name, only)
	}
	return b.String(), nil
}

// managedNote says why the offline Kiali CR lists no Managed cluster.
func managedNote(plan render.Plan) string {
	var names []string
	for _, c := range plan.KAP.Spec.Clusters {
		if c.KialiAccess == meshv1alpha1.KialiAccessManaged {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("# The Kiali CR lists clusters %s once the operator has made their remote-cluster\n"+
		"# Secrets (kialiAccess: Managed); what it makes there is at the end, per cluster.\n", strings.Join(names, ", "))
}

func commented(text string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n") {
		b.WriteString("# " + strings.TrimSuffix(line, "\n") + "\n")
	}
	return b.String()
}
