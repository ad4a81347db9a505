package main

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const multiclusterSample = "../config/samples/mesh_v1alpha1_kialiauthproxy_multicluster.yaml"

// documents decodes a YAML stream into its objects, comments dropped.
func documents(t *testing.T, stream string) []map[string]any {
	t.Helper()
	var out []map[string]any
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
}

// TestRenderShowsWhatGoesToEachCluster: each cluster's section is in the
// stream, as comments, so the stream still applies to the hub alone; with
// -cluster, that cluster's objects are YAML.
func TestRenderShowsWhatGoesToEachCluster(t *testing.T) {
	out, errOut, code := runRenderTest(t, "", "-f", multiclusterSample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"# ==== Cluster east: written there by the operator, with the kubeconfig in Secret kiali/east-monitoring-writer key kubeconfig ====",
		"# ==== Cluster west:",
		"# ==== Cluster south:",
		"# The remote_write entry, as an item of spec.remoteWrite of Prometheus monitoring/k8s",
		"# The remote_write entry, as prometheus.remoteWrite in key config.yaml of ConfigMap openshift-user-workload-monitoring/user-workload-monitoring-config",
		"# The remote_write entry, as remote_write of key prometheus.yml of ConfigMap istio-system/prometheus",
		"#         replacement: south",
		"# kind: ClusterRole",
		"# The Kiali CR lists clusters east, west, south once the operator has made their remote-cluster",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("render output lacks %q", want)
		}
	}
	for _, obj := range documents(t, out) {
		md := obj["metadata"].(map[string]any)
		if md["namespace"] != nil && md["namespace"] != "kiali" || obj["kind"] == "ClusterRole" {
			t.Errorf("the hub's stream holds %v %v/%v, which belongs to another cluster", obj["kind"], md["namespace"], md["name"])
		}
	}

	out, errOut, code = runRenderTest(t, "", "-f", multiclusterSample, "-cluster", "west")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var kinds []string
	for _, obj := range documents(t, out) {
		kinds = append(kinds, obj["kind"].(string))
	}
	if strings.Join(kinds, ",") != "ServiceAccount,ClusterRole,ClusterRoleBinding" {
		t.Errorf("-cluster west printed %v", kinds)
	}
	if strings.Contains(out, "==== Cluster east") {
		t.Error("-cluster west printed east's section")
	}
	if _, errOut, code := runRenderTest(t, "", "-f", multiclusterSample, "-cluster", "north"); code == 0 || !strings.Contains(errOut, `no cluster "north"`) {
		t.Errorf("-cluster north: exit %d, %s", code, errOut)
	}
}
