package v1alpha1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func loadCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "mesh.kialiauth.io_kialiauthproxies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(raw, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// A default in the schema would be written into stored objects, which GitOps
// tools then report as drift from Git: defaults belong in WithDefaults.
func TestCRDHasNoSchemaDefaults(t *testing.T) {
	var walk func(path string, s *apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s *apiextensionsv1.JSONSchemaProps) {
		if s.Default != nil {
			t.Errorf("%s has a schema default %s", path, s.Default.Raw)
		}
		if s.Description == "" && path != "" && !strings.HasPrefix(path, ".metadata") && !strings.HasSuffix(path, "[]") {
			t.Errorf("%s has no description (kubectl explain shows nothing)", path)
		}
		for name, p := range s.Properties {
			walk(path+"."+name, &p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", s.Items.Schema)
		}
	}
	for _, v := range loadCRD(t).Spec.Versions {
		walk("", v.Schema.OpenAPIV3Schema)
	}
}

func TestCRDNamesAndColumns(t *testing.T) {
	crd := loadCRD(t)
	if crd.Spec.Group != "mesh.kialiauth.io" || crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
		t.Errorf("group %s scope %s", crd.Spec.Group, crd.Spec.Scope)
	}
	if got := crd.Spec.Names.ShortNames; len(got) != 1 || got[0] != "kap" {
		t.Errorf("short names %v, want [kap]", got)
	}
	var cols []string
	for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
		cols = append(cols, c.Name+"="+c.JSONPath)
	}
	want := []string{`Ready=.status.conditions[?(@.type=="Ready")].status`, "URL=.status.url", "Age=.metadata.creationTimestamp"}
	if strings.Join(cols, " ") != strings.Join(want, " ") {
		t.Errorf("printer columns %v, want %v", cols, want)
	}
	if crd.Spec.Versions[0].Subresources == nil || crd.Spec.Versions[0].Subresources.Status == nil {
		t.Error("no status subresource")
	}
}
