// Package monitoring makes the manager's ServiceMonitor and PrometheusRule
// (config/prometheus) in the manager's own namespace, once the Prometheus
// Operator's CRDs are served there. An install, from config/ or the OLM
// bundle, cannot carry them: without the CRDs it would fail, and OLM fails
// the whole InstallPlan (operator-lifecycle-manager
// pkg/controller/operators/catalog/operator.go looks each bundle object's
// kind up through discovery). The manager adds them when it can instead,
// and looks again while it runs, so the CRDs may come later.
package monitoring

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The manifests, copied from config/prometheus by make generate (a test
// holds them equal), so that a kustomize install and the manager make the
// same objects.
var (
	//go:embed servicemonitor.yaml
	serviceMonitorYAML []byte
	//go:embed prometheusrule.yaml
	prometheusRuleYAML []byte
)

// DefaultInterval is how often the manager looks for the CRDs, and puts the
// objects back as they are in the manifests.
const DefaultInterval = 5 * time.Minute

// Objects are the ServiceMonitor and PrometheusRule in namespace.
func Objects(namespace string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, raw := range [][]byte{serviceMonitorYAML, prometheusRuleYAML} {
		u := &unstructured.Unstructured{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&u.Object); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		u.SetNamespace(namespace)
		out = append(out, u)
	}
	return out, nil
}

// Installer applies the objects while the manager leads.
type Installer struct {
	// Client writes; Mapper tells whether the CRDs are served.
	Client client.Client
	Mapper meta.RESTMapper
	// Namespace is the manager's own: where its metrics Service and the
	// scraper's token Secret are.
	Namespace string
	// FieldOwner of the writes.
	FieldOwner string
	// Interval between looks; DefaultInterval when zero.
	Interval time.Duration
	Log      logr.Logger
}

// NeedLeaderElection: one replica writes.
func (i *Installer) NeedLeaderElection() bool { return true }

// Start looks now and then every Interval until ctx ends.
func (i *Installer) Start(ctx context.Context) error {
	interval := i.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	told := false
	for {
		switch served, err := i.Ensure(ctx); {
		case err != nil:
			i.Log.Error(err, "making the ServiceMonitor and PrometheusRule", "namespace", i.Namespace)
		case !served && !told:
			i.Log.Info("the Prometheus Operator's CRDs are not served: no ServiceMonitor or PrometheusRule for now; looking again every " + interval.String())
			told = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// Ensure applies the objects when their kinds are served, and reports
// whether they are.
func (i *Installer) Ensure(ctx context.Context) (bool, error) {
	objs, err := Objects(i.Namespace)
	if err != nil {
		return false, err
	}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		if _, err := i.Mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version); err != nil {
			if meta.IsNoMatchError(err) {
				return false, nil
			}
			return false, err
		}
	}
	for _, u := range objs {
		if err := i.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(i.FieldOwner), client.ForceOwnership); err != nil {
			return true, fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return true, nil
}
