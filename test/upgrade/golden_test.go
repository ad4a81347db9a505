// Package upgrade checks that what the previous release left in a cluster
// becomes what this one renders without downtime: objects are changed in
// place, the proxy rolls with maxUnavailable 0, and nothing is deleted and
// created again (a new Service would lose its IP; a new session secret
// would log every user out).
package upgrade

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

var update = flag.Bool("update", false, "write the snapshot of the previous release from the current code (only when a release is cut)")

const (
	// previous is the release whose objects testdata holds.
	previous = "v0.1.0"
	// previousImage is the default proxy image that release rendered.
	previousImage = "registry.example.com/oauth-proxy:0.1.0"
	namespace     = "kiali"
	// sessionValue is the session secret that release generated.
	sessionValue = "Prev10usRe1easeSess10nSecret32ch"
)

var goldenFile = filepath.Join("testdata", previous, "objects.yaml")

// referenceKAP is the reference KialiAuthProxy (config/samples).
func referenceKAP(t fataler) *meshv1alpha1.KialiAuthProxy {
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "config", "samples", "mesh_v1alpha1_kialiauthproxy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kap := &meshv1alpha1.KialiAuthProxy{}
	if err := yaml.UnmarshalStrict(raw, kap); err != nil {
		t.Fatal(err)
	}
	kap.Namespace = namespace
	return kap
}

// rendered is what the current code renders for the reference setup, with
// the inputs the controller passes it, and the session secret.
func rendered(t fataler, proxyImage string) []*unstructured.Unstructured {
	kap := referenceKAP(t)
	n := render.NamesFor(kap)
	in := render.Inputs{
		ProxyImage:     proxyImage,
		SessionSecret:  render.SecretKey{Name: n.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey},
		Htpasswd:       &render.SecretKey{Name: "htpasswd", Key: "auth"},
		InputsChecksum: "0123456789abcdef",
	}
	var out []*unstructured.Unstructured
	for _, obj := range render.Render(kap, in) {
		u, err := render.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: n.SessionSecret, Namespace: namespace, Labels: render.Labels(kap, render.ComponentSessionSecret)},
		Type:       corev1.SecretTypeOpaque,
		Immutable:  ptr(true),
		Data:       map[string][]byte{meshv1alpha1.DefaultSessionSecretKey: []byte(sessionValue)},
	}
	u, err := render.ToUnstructured(secret)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, u)
}

// previousObjects loads the previous release's objects; with -update it
// first writes them from the current code.
func previousObjects(t fataler) []*unstructured.Unstructured {
	if *update {
		var b bytes.Buffer
		for _, u := range rendered(t, previousImage) {
			raw, err := yaml.Marshal(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("---\n")
			b.Write(raw)
		}
		if err := os.WriteFile(goldenFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(string(raw), "---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// fataler is what the loaders need of a test: a plain test or a ginkgo
// spec.
type fataler interface{ Fatal(args ...any) }

func ptr[T any](v T) *T { return &v }
