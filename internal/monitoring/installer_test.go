package monitoring

import (
	"bytes"
	"os"
	"testing"
)

// TestManifestsAreConfigPrometheus: the manager makes exactly what
// config/prometheus holds (make generate copies them).
func TestManifestsAreConfigPrometheus(t *testing.T) {
	for file, embedded := range map[string][]byte{
		"../../config/prometheus/monitor.yaml": serviceMonitorYAML,
		"../../config/prometheus/alerts.yaml":  prometheusRuleYAML,
	} {
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, embedded) {
			t.Errorf("internal/monitoring's copy of %s differs: run make generate", file)
		}
	}
}

func TestObjectsAreInTheNamespace(t *testing.T) {
	objs, err := Objects("operators")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetKind() != "ServiceMonitor" || objs[1].GetKind() != "PrometheusRule" {
		t.Fatalf("objects: %v", objs)
	}
	for _, u := range objs {
		if u.GetNamespace() != "operators" || u.GetName() == "" {
			t.Errorf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		}
	}
}
