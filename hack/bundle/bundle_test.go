package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

const root = "../.."

// makeVersion is the Makefile's default bundle VERSION.
func makeVersion(t *testing.T) string {
	raw, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VERSION \?= (\S+)$`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("no VERSION ?= in the Makefile")
	}
	return string(m[1])
}

func kustomize(t *testing.T) string {
	t.Helper()
	p, err := testbed.Tool("kustomize")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The committed bundle must be what make bundle generates now: a change to
// RBAC, the CRD, the manager or the CSV base without make bundle fails here.
func TestCommittedBundleIsUpToDate(t *testing.T) {
	out, err := exec.Command(kustomize(t), "build", filepath.Join(root, "config", "manifests")).Output()
	if err != nil {
		t.Fatalf("kustomize build config/manifests: %v", err)
	}
	v := makeVersion(t)
	files, err := Generate(out, Options{Version: v, Image: defaultImage(v), Channel: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	var committed []string
	err = filepath.Walk(filepath.Join(root, "bundle"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			committed = append(committed, rel)
		}
		return err
	})
	if err != nil {
		t.Fatalf("%v (run make bundle)", err)
	}
	committed = append(committed, "bundle.Dockerfile")
	var generated []string
	for name := range files {
		generated = append(generated, name)
	}
	sort.Strings(committed)
	sort.Strings(generated)
	if strings.Join(committed, "\n") != strings.Join(generated, "\n") {
		t.Fatalf("bundle files differ from make bundle's (run make bundle):\ncommitted %v\ngenerated %v", committed, generated)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what make bundle generates: run make bundle and commit it", name)
		}
	}
}

// The bundle passes operator-framework's validators with no error and no
// warning: the defaults, OperatorHub's, good practices, and deprecated APIs.
func TestBundleValidates(t *testing.T) {
	bundle, err := manifests.GetBundleFromDir(filepath.Join(root, "bundle", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	validators := validation.DefaultBundleValidators.WithValidators(
		validation.OperatorHubV2Validator,
		validation.GoodPracticesValidator,
		validation.AlphaDeprecatedAPIsValidator,
		validation.StandardCategoriesValidator,
	)
	objs := append(bundle.ObjectsToValidate(), map[string]string{"k8s-version": "1.37"})
	results := validators.Validate(objs...)
	var problems []string
	for _, r := range results {
		for _, e := range append(append([]errors.Error{}, r.Errors...), r.Warnings...) {
			problems = append(problems, string(e.Level)+": "+e.Error())
		}
	}
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	if len(results) < 5 {
		t.Errorf("only %d validators ran", len(results))
	}
}

// Every install mode is declared, the CSV's clusterPermissions hold only
// what cannot be namespaced, and the manager learns the target namespaces
// from the annotation OLM sets on its pod template.
func TestBundleInstallModes(t *testing.T) {
	bundle, err := manifests.GetBundleFromDir(filepath.Join(root, "bundle", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	csv := bundle.CSV
	var modes []string
	for _, m := range csv.Spec.InstallModes {
		if m.Supported {
			modes = append(modes, string(m.Type))
		}
	}
	sort.Strings(modes)
	if got, want := strings.Join(modes, ","), "AllNamespaces,MultiNamespace,OwnNamespace,SingleNamespace"; got != want {
		t.Errorf("supported install modes %s, want %s", got, want)
	}
	clusterScoped := map[string]bool{
		"apiextensions.k8s.io/customresourcedefinitions": true,
		"authentication.k8s.io/tokenreviews":             true,
		"authorization.k8s.io/subjectaccessreviews":      true,
		// OpenShift's login mode (internal/controller/loginmode.go).
		"config.openshift.io/authentications": true,
	}
	for _, p := range csv.Spec.InstallStrategy.StrategySpec.ClusterPermissions {
		for _, r := range p.Rules {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					if !clusterScoped[g+"/"+res] {
						t.Errorf("clusterPermissions grant %s/%s, which can be namespaced: it belongs in permissions", g, res)
					}
				}
			}
		}
	}
	found := false
	for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == "WATCH_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
					e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['olm.targetNamespaces']" {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error("the manager's WATCH_NAMESPACE is not read from olm.targetNamespaces")
	}
}

// The bundle holds no ServiceMonitor or PrometheusRule, so that it
// installs where the Prometheus Operator is not. OLM v0 lists both kinds
// as supported (pkg/controller/operators/catalog/supportedresources.go),
// but creates them through API discovery of their group
// (apiresourceFromGVK in pkg/controller/operators/catalog/operator.go):
// without the CRDs that step errs, and once --install-plan-retry-timeout
// (1m) has passed the InstallPlan is Failed, the whole operator with it.
// OLM v1 installs the bundle as one release after a server-side dry run
// (internal/operator-controller/applier/helm.go in operator-controller),
// which a kind without its CRD fails as well. The manager makes them
// instead, once the CRDs are served (internal/monitoring), with the scraper
// the bundle does ship (TestBundleShipsTheMetricsScraper).
func TestBundleNeedsNoPrometheusOperator(t *testing.T) {
	dir := filepath.Join(root, "bundle", "manifests")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`(?m)^apiVersion: monitoring\.coreos\.com/`).Match(raw) {
			t.Errorf("%s is a Prometheus Operator object: the bundle would not install without its CRDs", e.Name())
		}
	}
	if len(entries) == 0 {
		t.Error("the bundle is empty")
	}
}

// The bundle ships what the manager's ServiceMonitor needs and no
// Prometheus Operator CRD does: the scraper, as its clusterPermissions (OLM
// makes and binds the account in the install namespace), with the metrics
// endpoint alone. No token Secret: OLM makes the account after the bundle's
// objects, and the token controller deletes a token Secret whose account
// does not exist; the manager writes the scraper's token itself. It may
// make its ServiceMonitor and PrometheusRule and request that token, and
// learns its namespace.
func TestBundleShipsTheMetricsScraper(t *testing.T) {
	const scraper = "kiali-auth-proxy-operator-metrics-scraper"
	bundle, err := manifests.GetBundleFromDir(filepath.Join(root, "bundle", "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range bundle.Objects {
		if o.GetKind() == "Secret" {
			t.Errorf("the bundle ships Secret %s", o.GetName())
		}
	}
	strategy := bundle.CSV.Spec.InstallStrategy.StrategySpec
	granted := false
	for _, p := range strategy.ClusterPermissions {
		if p.ServiceAccountName != scraper {
			continue
		}
		granted = len(p.Rules) == 1 && len(p.Rules[0].APIGroups) == 0 &&
			strings.Join(p.Rules[0].NonResourceURLs, ",") == "/metrics" && strings.Join(p.Rules[0].Verbs, ",") == "get"
	}
	if !granted {
		t.Errorf("%s is not granted exactly get on /metrics", scraper)
	}
	for _, p := range strategy.Permissions {
		if p.ServiceAccountName == scraper {
			t.Errorf("%s has namespaced permissions: %v", scraper, p.Rules)
		}
	}
	monitoring, token := false, false
	for _, p := range strategy.Permissions {
		for _, r := range p.Rules {
			if strings.Join(r.APIGroups, ",") == "monitoring.coreos.com" &&
				strings.Join(r.Resources, ",") == "servicemonitors,prometheusrules" && strings.Join(r.Verbs, ",") == "get,create,patch" {
				monitoring = true
			}
			if strings.Join(r.Resources, ",") == "serviceaccounts/token" && strings.Join(r.ResourceNames, ",") == scraper && strings.Join(r.Verbs, ",") == "create" {
				token = true
			}
		}
	}
	if !monitoring {
		t.Error("the manager may not make its ServiceMonitor and PrometheusRule")
	}
	if !token {
		t.Errorf("the manager may not request a token for %s alone", scraper)
	}
	podNamespace := false
	for _, d := range strategy.DeploymentSpecs {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
					podNamespace = true
				}
			}
		}
	}
	if !podNamespace {
		t.Error("the manager's POD_NAMESPACE is not its namespace")
	}
}
