package multicluster

import (
	"fmt"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/remotewrite"
)

// What the operator looks at on a cluster, besides the place it writes,
// to tell whether the entry will take effect. Pure functions over what
// was read; spokes.go does the reading.

// finding is something a wiring saw that the write alone does not say.
type finding struct {
	// reason is the CamelCase reason of status.clusters[].reason; empty
	// for a note that is not a problem.
	reason  string
	message string
	// notWired: the entry does not take effect there (not written, or
	// nothing reads it).
	notWired bool
}

// OpenShift Service Mesh 2.x labels what its control plane renders with
// the control plane's namespace and name (maistra/istio-operator,
// pkg/controller/common/metadata.go; set in helm/manifestprocessing.go).
const (
	maistraOwnerLabel     = "maistra.io/owner"
	maistraOwnerNameLabel = "maistra.io/owner-name"
)

// renderedBy names the controller that renders obj, or "" when none says
// so: a Service Mesh control plane's label, or an owner reference (the
// controller's first). Such a controller rewrites the object from its own
// template, which would take the entry out again.
func renderedBy(obj metav1.Object) (who string, serviceMesh bool) {
	if ns := obj.GetLabels()[maistraOwnerLabel]; ns != "" {
		name := obj.GetLabels()[maistraOwnerNameLabel]
		if name == "" {
			return fmt.Sprintf("the OpenShift Service Mesh control plane of namespace %s (label %s)", ns, maistraOwnerLabel), true
		}
		return fmt.Sprintf("ServiceMeshControlPlane %s/%s (label %s)", ns, name, maistraOwnerLabel), true
	}
	refs := obj.GetOwnerReferences()
	if len(refs) == 0 {
		return "", false
	}
	ref := refs[0]
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			ref = r
			break
		}
	}
	return fmt.Sprintf("%s %s (owner reference)", ref.Kind, ref.Name), false
}

// renderedFinding says why the operator leaves a rendered ConfigMap alone.
func renderedFinding(w wiring, who string, serviceMesh bool) *finding {
	fix := "configure remote_write through that owner, or point spec.clusters[].prometheus at a Prometheus you manage"
	if serviceMesh {
		fix = "send this mesh's metrics through OpenShift user-workload monitoring (spec.clusters[].prometheus.userWorkloadMonitoring) or a Prometheus you manage"
	}
	return &finding{
		reason: meshv1alpha1.ReasonRenderedByAnother,
		message: fmt.Sprintf("ConfigMap %s/%s on cluster %s is rendered by %s, which would revert the remote_write entry, so the operator does not write it: %s",
			w.Namespace, w.Name, w.Cluster, who, fix),
		notWired: true,
	}
}

// senderReplicas reads a Prometheus Operator Prometheus: the external
// label its replicas carry (spec.replicaExternalLabelName, default
// prometheus_replica; "" turns it off) and how many replicas each shard
// runs (spec.replicas, default 1).
func senderReplicas(p *unstructured.Unstructured) (label string, replicas int64) {
	label, replicas = remotewrite.DefaultReplicaLabel, 1
	if v, ok, _ := unstructured.NestedString(p.Object, "spec", "replicaExternalLabelName"); ok {
		label = v
	}
	if v, ok, _ := unstructured.NestedInt64(p.Object, "spec", "replicas"); ok {
		replicas = v
	}
	return label, replicas
}

// replicaFinding: replicas that no label tells apart each send every
// series under the same labels; the hub refuses the interleaved samples
// as out of order and drops whole batches.
func replicaFinding(w wiring, label string, replicas int64) *finding {
	if label != "" || replicas <= 1 {
		return nil
	}
	return &finding{
		reason: meshv1alpha1.ReasonNoReplicaLabel,
		message: fmt.Sprintf("Prometheus %s/%s on cluster %s runs %d replicas and spec.replicaExternalLabelName is empty, so each replica sends every series "+
			"and the hub cannot keep them apart: remove spec.replicaExternalLabelName (the Prometheus Operator then labels replicas %s) so that only the first replica sends",
			w.Namespace, w.Name, w.Cluster, replicas, remotewrite.DefaultReplicaLabel),
	}
}

// OpenShift's cluster monitoring configuration, where user-workload
// monitoring is switched on.
const (
	clusterMonitoringNamespace = "openshift-monitoring"
	clusterMonitoringConfigMap = "cluster-monitoring-config"
	clusterMonitoringKey       = "config.yaml"
)

// userWorkloadSetting reads enableUserWorkload from cluster-monitoring-config's
// config.yaml; set is false when the key is not there (the
// cluster-monitoring-operator then defaults it to false).
func userWorkloadSetting(config string) (on, set bool, err error) {
	var c struct {
		EnableUserWorkload *bool `json:"enableUserWorkload"`
	}
	if err := yaml.Unmarshal([]byte(config), &c); err != nil {
		return false, false, err
	}
	if c.EnableUserWorkload == nil {
		return false, false, nil
	}
	return *c.EnableUserWorkload, true, nil
}

// userWorkloadFinding says what cluster-monitoring-config shows: data is
// its content, found whether it exists, readErr why it could not be read.
// Only what was seen is reported: a ConfigMap that could not be read
// says nothing about whether user-workload monitoring is on.
func userWorkloadFinding(cluster string, data map[string]string, found bool, readErr error) *finding {
	where := fmt.Sprintf("ConfigMap %s/%s", clusterMonitoringNamespace, clusterMonitoringConfigMap)
	fix := fmt.Sprintf("set enableUserWorkload: true in the %s key of %s on cluster %s", clusterMonitoringKey, where, cluster)
	off := func(why string) *finding {
		return &finding{
			reason:   meshv1alpha1.ReasonUserWorkloadMonitoringOff,
			message:  fmt.Sprintf("user-workload monitoring is off on cluster %s (%s), so no Prometheus reads the entry: %s", cluster, why, fix),
			notWired: true,
		}
	}
	unknown := func(why string) *finding {
		return &finding{message: fmt.Sprintf("wired, but whether user-workload monitoring is on could not be told: %s", why)}
	}
	switch {
	case readErr != nil:
		return unknown(fmt.Sprintf("reading %s on cluster %s: %v", where, cluster, readErr))
	case !found:
		return off(where + " does not exist, and enableUserWorkload defaults to false")
	}
	config, ok := data[clusterMonitoringKey]
	if !ok {
		return unknown(fmt.Sprintf("%s on cluster %s has no %s key", where, cluster, clusterMonitoringKey))
	}
	on, set, err := userWorkloadSetting(config)
	switch {
	case err != nil:
		return unknown(fmt.Sprintf("the %s key of %s on cluster %s is not YAML: %v", clusterMonitoringKey, where, cluster, err))
	case !set:
		return off(where + " does not set enableUserWorkload, which defaults to false")
	case !on:
		return off(where + " sets enableUserWorkload: false")
	}
	return nil
}
