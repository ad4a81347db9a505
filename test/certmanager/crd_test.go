package certmanager

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// TestCertificatesFitTheCRD creates every rendered Certificate, as a
// server-side dry run with strict field validation, against cert-manager's
// CRD: a field the CRD does not have, a mistyped value or one outside an
// enum or pattern is refused, not dropped.
func TestCertificatesFitTheCRD(t *testing.T) {
	ctx := context.Background()
	for name, kap := range map[string]*meshv1alpha1.KialiAuthProxy{
		"sample ClusterIssuer": sample(t),
		"Issuer by default": func() *meshv1alpha1.KialiAuthProxy {
			kap := sample(t)
			kap.Spec.Proxy.TLS.CertManager.IssuerRef = meshv1alpha1.CertManagerIssuerRef{Name: "mesh-ca"}
			return kap
		}(),
		"external issuer": func() *meshv1alpha1.KialiAuthProxy {
			kap := sample(t)
			kap.Spec.Proxy.TLS.CertManager.IssuerRef = meshv1alpha1.CertManagerIssuerRef{Name: "pca", Kind: "AWSPCAClusterIssuer", Group: "awspca.cert-manager.io"}
			return kap
		}(),
		"longest names": longest(t, meshv1alpha1.CertManagerIssuerRef{
			Name: strings.Repeat(strings.Repeat("i", 62)+".", 4) + "i", Kind: "ClusterIssuer",
		}),
	} {
		t.Run(name, func(t *testing.T) {
			ensureNamespace(t, kap.Namespace)
			certs := certificates(kap)
			if len(certs) == 0 {
				t.Fatal("no Certificate rendered")
			}
			for _, c := range certs {
				if err := k.Create(ctx, c, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict)); err != nil {
					t.Errorf("Certificate %s: %v", c.GetName(), err)
				}
			}
		})
	}
}

// TestTheCRDCheckIsStrict shows the check above refuses what it should: a
// misspelt field and a value the CRD's enum does not hold.
func TestTheCRDCheckIsStrict(t *testing.T) {
	ctx := context.Background()
	kap := sample(t)
	ensureNamespace(t, kap.Namespace)
	for field, brk := range map[string]func(spec map[string]any){
		"dnsName":   func(s map[string]any) { s["dnsName"] = s["dnsNames"]; delete(s, "dnsNames") },
		"algorithm": func(s map[string]any) { s["privateKey"].(map[string]any)["algorithm"] = "ecdsa" },
		"size":      func(s map[string]any) { s["privateKey"].(map[string]any)["size"] = "256" },
	} {
		t.Run(field, func(t *testing.T) {
			c := certificates(kap)[0]
			brk(c.Object["spec"].(map[string]any))
			err := k.Create(ctx, c, client.DryRunAll, client.FieldValidation(metav1.FieldValidationStrict))
			if !apierrors.IsBadRequest(err) && !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), field) {
				t.Errorf("a Certificate with a bad %s was not refused for it: %v", field, err)
			}
		})
	}
}

// TestChartInstallsTheTestedCRD: the tests install deploy/crds, which
// cert-manager calls a source for its chart rather than an install. The
// chart's template of the same CRD differs from it only in lines of Helm
// actions, each a line of its own: an if around the whole file, an
// optional keep annotation and the chart's labels, all in the metadata.
// With those lines dropped its spec must be the one tested, so that what
// the chart installs accepts what the tests accept.
func TestChartInstallsTheTestedCRD(t *testing.T) {
	dir, err := testbed.DownloadedModuleDir("github.com/cert-manager/cert-manager", testbed.CertManagerVersion)
	if err != nil {
		t.Fatal(err)
	}
	tested := crdSpec(t, filepath.Join(dir, "deploy", "crds", "cert-manager.io_certificates.yaml"), false)
	chart := crdSpec(t, filepath.Join(dir, "deploy", "charts", "cert-manager", "templates", "crd-cert-manager.io_certificates.yaml"), true)
	if !reflect.DeepEqual(tested, chart) {
		t.Error("the chart's Certificate CRD has another spec than deploy/crds: test against the chart's")
	}
}

// crdSpec reads the spec of a CRD file; of a Helm template, without the
// lines that hold a template action.
func crdSpec(t *testing.T, path string, template bool) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if template {
		var kept []string
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "{{") {
				if !strings.HasPrefix(strings.TrimSpace(line), "{{") || !strings.HasSuffix(strings.TrimSpace(line), "}}") {
					t.Fatalf("%s: a template action inside a line, which dropping lines cannot resolve: %q", path, line)
				}
				continue
			}
			kept = append(kept, line)
		}
		raw = []byte(strings.Join(kept, "\n"))
	}
	crd := map[string]any{}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	spec, ok, err := unstructured.NestedMap(crd, "spec")
	if !ok || err != nil {
		t.Fatalf("%s: no spec: %v", path, err)
	}
	return spec
}
