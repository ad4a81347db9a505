package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/textdiff"
)

const referenceSample = "../config/samples/mesh_v1alpha1_kialiauthproxy.yaml"

func runRenderTest(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runRender(args, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// The stream is exactly what the render package gives for the sample, so
// what GitOps commits is what the operator applies.
func TestRenderPrintsTheOperatorsObjects(t *testing.T) {
	out, stderr, code := runRenderTest(t, "", "-f", referenceSample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// The golden file pins what the operator applies for the sample (with a
	// fixed inputs checksum, which offline rendering cannot know).
	golden, err := os.ReadFile("../internal/render/testdata/reference.golden.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(golden), "inputs-checksum: sha256:0123456789abcdef", "inputs-checksum: "+offlineChecksum, 1)
	body := out[strings.Index(out, "\n---\n")+len("\n---\n"):]
	if body != want {
		t.Errorf("render output differs from internal/render/testdata/reference.golden.yaml:\n%s", textdiff.FirstLine(want, body))
	}
	if !strings.Contains(out, "kubectl -n kiali create secret generic kiali-proxy") {
		t.Errorf("the header does not say how the session secret is created:\n%s", out[:400])
	}
	for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "ConfigMap", "Kiali", "VirtualService"} {
		if !strings.Contains(out, "\nkind: "+kind+"\n") {
			t.Errorf("no %s in the output", kind)
		}
	}
	if strings.Contains(out, "\nkind: Secret\n") {
		t.Error("a Secret was printed")
	}
}

func TestRenderReadsStandardInput(t *testing.T) {
	raw, err := os.ReadFile(filepath.Clean(referenceSample))
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, _ := runRenderTest(t, "", "-f", referenceSample)
	fromStdin, stderr, code := runRenderTest(t, string(raw), "-f", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.SplitN(fromStdin, "\n---\n", 2)[1] != strings.SplitN(fromFile, "\n---\n", 2)[1] {
		t.Error("standard input renders differently from the file")
	}
}

func TestRenderRejectsInvalidObjects(t *testing.T) {
	raw, err := os.ReadFile(referenceSample)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(raw), "host: kiali.mesh.apps.north.example.com", "host: Kiali_Host", 1)
	bad = strings.Replace(bad, "    replicas: 1\n", "    replicas: 1\n    replica: 2\n", 1)
	out, stderr, code := runRenderTest(t, bad, "-f", "-")
	if code == 0 {
		t.Fatal("an invalid KialiAuthProxy rendered with exit 0")
	}
	if out != "" {
		t.Errorf("objects printed for an invalid KialiAuthProxy:\n%s", out)
	}
	for _, want := range []string{
		"KialiAuthProxy kiali/kiali is invalid",
		"spec.exposure.host must be a lowercase DNS name such as kiali.apps.example.com",
		"spec.proxy.replica: Invalid value: unknown field",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}

func TestRenderRejectsOtherKinds(t *testing.T) {
	_, stderr, code := runRenderTest(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "-f", "-")
	if code == 0 || !strings.Contains(stderr, "not a mesh.kialiauth.io/v1alpha1 KialiAuthProxy") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	if _, _, code := runRenderTest(t, ""); code != 2 {
		t.Errorf("no -f: exit %d, want 2 (usage)", code)
	}
}
