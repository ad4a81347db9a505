// Package prometheus tests config/prometheus: the alerts with promtool's
// rule tests, the ServiceMonitor against the Service it scrapes, both
// against the Prometheus Operator's CRDs, and that no other install needs
// those CRDs.
package prometheus

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/statusmetrics"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

const monitoringGroup = "monitoring.coreos.com"

func build(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := testbed.KustomizeBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// only returns the one object of kind in objs.
func only(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s objects, want 1", len(found), kind)
	}
	return found[0]
}

// rules is the PrometheusRule's spec, the rule file Prometheus gets from it.
type rules struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// ruleTests is what the test below reads of promtool's test file.
type ruleTests struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name          string `json:"name"`
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// promtool's rule tests run on the groups of the shipped PrometheusRule,
// extracted as Prometheus Operator hands them to Prometheus, and each alert
// is tested firing and not firing.
func TestAlertsPassPromtoolTests(t *testing.T) {
	promtool, err := testbed.Tool("promtool")
	if err != nil {
		t.Fatal(err)
	}
	rule := only(t, build(t, "prometheus"), "PrometheusRule")
	spec, err := yaml.Marshal(rule.Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	var shipped rules
	if err := yaml.UnmarshalStrict(spec, &shipped); err != nil {
		t.Fatalf("the PrometheusRule's spec is not a rule file: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests ruleTests
	if err := yaml.Unmarshal(raw, &tests); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tests.RuleFiles, []string{"rules.yaml"}) {
		t.Fatalf("testdata/alerts_test.yaml reads %v; it must read only rules.yaml, the PrometheusRule's groups", tests.RuleFiles)
	}

	// promtool passes a test of an alert that does not exist when it expects
	// none, so every alert tested must be one of the file, and every alert of
	// the file must be tested both ways.
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	alerts := map[string]bool{}
	for _, g := range shipped.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = true
			if !firing[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s is not tested both firing (%v) and not firing (%v)", r.Alert, firing[r.Alert], quiet[r.Alert])
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || !strings.Contains(r.Annotations["description"], "kubectl describe kialiauthproxy") {
				t.Errorf("alert %s needs a severity, a summary and a description that points at kubectl describe kialiauthproxy", r.Alert)
			}
		}
	}
	for name := range firing {
		if !alerts[name] {
			t.Errorf("testdata/alerts_test.yaml tests alert %s, which the PrometheusRule does not have", name)
		}
	}
	for name := range quiet {
		if !alerts[name] {
			t.Errorf("testdata/alerts_test.yaml tests alert %s, which the PrometheusRule does not have", name)
		}
	}
	if len(alerts) < 4 {
		t.Errorf("only %d alerts", len(alerts))
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The alerts read the series the manager serves, and every series is used
// by some alert: a renamed metric fails here, not silently in production.
func TestAlertsReadTheServedSeries(t *testing.T) {
	rule := only(t, build(t, "prometheus"), "PrometheusRule")
	spec, _ := yaml.Marshal(rule.Object["spec"])
	served := []string{statusmetrics.ConditionMetric, statusmetrics.ConditionGoodMetric, statusmetrics.TokenExpiryMetric,
		statusmetrics.LastSampleAgeMetric, statusmetrics.ClusterMetricsFlowMetric}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`kialiauthproxy_[a-z_]+`).FindAllString(string(spec), -1) {
		used[m] = true
		if !slices.Contains(served, m) {
			t.Errorf("the alerts read %s, which the manager does not serve", m)
		}
	}
	for _, m := range served {
		if !used[m] {
			t.Errorf("no alert reads %s", m)
		}
	}
}

// The ServiceMonitor selects the manager's metrics Service by its labels,
// on its port, with the Secret shipped beside it, whose ServiceAccount is
// bound to the metrics-reader role the manager's authorization checks.
func TestServiceMonitorScrapesTheManager(t *testing.T) {
	operator := build(t, "default")
	prom := build(t, "prometheus")
	monitor := only(t, prom, "ServiceMonitor")

	var service *unstructured.Unstructured
	for _, o := range operator {
		if o.GetKind() == "Service" && strings.HasSuffix(o.GetName(), "metrics-service") {
			service = o
		}
	}
	if service == nil {
		t.Fatal("config/default has no metrics Service")
	}
	if monitor.GetNamespace() != service.GetNamespace() {
		t.Errorf("the ServiceMonitor is in %s, the metrics Service in %s", monitor.GetNamespace(), service.GetNamespace())
	}
	selector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	if len(selector) == 0 {
		t.Fatal("the ServiceMonitor selects no labels")
	}
	for k, v := range selector {
		if service.GetLabels()[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the metrics Service does not carry", k, v)
		}
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("%d endpoints, want 1", len(endpoints))
	}
	ep := endpoints[0].(map[string]any)
	ports, _, _ := unstructured.NestedSlice(service.Object, "spec", "ports")
	found := false
	for _, p := range ports {
		found = found || p.(map[string]any)["name"] == ep["port"]
	}
	if !found {
		t.Errorf("the ServiceMonitor scrapes port %v, which the metrics Service does not name", ep["port"])
	}
	if ep["scheme"] != "https" || ep["honorLabels"] != true {
		t.Errorf("the endpoint must scrape https and honour the series' namespace label: %v", ep)
	}

	secretName, _, _ := unstructured.NestedString(ep, "authorization", "credentials", "name")
	var secret, binding *unstructured.Unstructured
	for _, o := range prom {
		switch {
		case o.GetKind() == "Secret" && o.GetName() == secretName:
			secret = o
		case o.GetKind() == "ClusterRoleBinding":
			binding = o
		}
	}
	if secret == nil || binding == nil {
		t.Fatalf("config/prometheus needs the token Secret %q the ServiceMonitor names and a ClusterRoleBinding", secretName)
	}
	account := secret.GetAnnotations()[corev1.ServiceAccountNameKey]
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != account ||
		subjects[0].(map[string]any)["namespace"] != monitor.GetNamespace() {
		t.Errorf("the ClusterRoleBinding binds %v, not the token's ServiceAccount %s/%s", subjects, monitor.GetNamespace(), account)
	}
	role, _, _ := unstructured.NestedString(binding.Object, "roleRef", "name")
	var reader *unstructured.Unstructured
	for _, o := range operator {
		if o.GetKind() == "ClusterRole" && o.GetName() == role {
			reader = o
		}
	}
	if reader == nil {
		t.Fatalf("the ClusterRoleBinding binds %s, which the operator's install does not have", role)
	}
	rules, _, _ := unstructured.NestedSlice(reader.Object, "rules")
	grants := false
	for _, r := range rules {
		urls, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "nonResourceURLs")
		verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs")
		grants = grants || (slices.Contains(urls, "/metrics") && slices.Contains(verbs, "get"))
	}
	if !grants {
		t.Errorf("%s does not grant get on /metrics", role)
	}
}

// Every other install applies on a cluster without the Prometheus
// Operator: none holds a monitoring.coreos.com object. The OLM bundle does
// not either; hack/bundle tests that.
func TestOtherInstallsNeedNoPrometheusOperator(t *testing.T) {
	for _, dir := range []string{"default", "namespaced", "manifests", "guard", "spoke-guard"} {
		for _, o := range build(t, dir) {
			if strings.HasPrefix(o.GetAPIVersion(), monitoringGroup+"/") {
				t.Errorf("config/%s holds %s %s: it would not install without the Prometheus Operator", dir, o.GetKind(), o.GetName())
			}
		}
	}
}

// Every object of config/prometheus is accepted by an API server with the
// Prometheus Operator's CRDs (those the suites use, generated from the
// module's types), with unknown fields refused.
// startAPIServer starts a control plane for one test, stopped after it.
func startAPIServer(t *testing.T, o testbed.Options) *rest.Config {
	t.Helper()
	env, err := testbed.NewEnvironment(o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg
}

func TestManifestsFitThePrometheusOperatorCRDs(t *testing.T) {
	cfg := startAPIServer(t, testbed.Options{PrometheusOperator: true})
	k, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	objs := build(t, "prometheus")
	namespaces := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && !namespaces[ns] {
			namespaces[ns] = true
			if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var kinds []string
	for _, o := range objs {
		if err := k.Create(ctx, o, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
			t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		kinds = append(kinds, o.GetKind())
	}
	sort.Strings(kinds)
	for _, want := range []string{"PrometheusRule", "ServiceMonitor"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("config/prometheus has no %s", want)
		}
	}

	// The check is strict: a misspelt field is refused, not dropped.
	bad := only(t, objs, "ServiceMonitor").DeepCopy()
	endpoints, _, _ := unstructured.NestedSlice(bad.Object, "spec", "endpoints")
	endpoints[0].(map[string]any)["honourLabels"] = true
	if err := unstructured.SetNestedSlice(bad.Object, endpoints, "spec", "endpoints"); err != nil {
		t.Fatal(err)
	}
	err = k.Create(ctx, bad, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict))
	if !apierrors.IsBadRequest(err) && !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "honourLabels") {
		t.Errorf("a ServiceMonitor with the unknown field honourLabels was not refused for it: %v", err)
	}
}
