package testbed

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrometheusOperatorCRDsAreGeneratedFromTheModule(t *testing.T) {
	dir, err := PrometheusOperatorCRDs()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "monitoring.coreos.com_prometheuses.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 100000 {
		t.Errorf("the Prometheus CRD is only %d bytes", len(b))
	}
}
