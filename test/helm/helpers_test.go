package helm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/textdiff"
)

const (
	release = "kiali-auth-proxy-operator"
	// releaseNamespace is not config/'s namespace, so that a namespace the
	// chart failed to template shows.
	releaseNamespace = "kap-system"
	// kustomizeNamespace is where config/ installs the operator.
	kustomizeNamespace = "kiali-auth-proxy-operator-system"
	managerRoleBinding = "kiali-auth-proxy-operator-manager-rolebinding"
	crdName            = "kialiauthproxies.mesh.kialiauth.io"
	managedByLabel     = "app.kubernetes.io/managed-by"
	fieldManager       = "helm-chart-test"
)

func chartDir() string {
	return filepath.Join(testbed.Root(), "config", "helm", "kiali-auth-proxy-operator")
}

func tool(name string) string {
	GinkgoHelper()
	p, err := testbed.Tool(name)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// run runs a program with stdin and returns what it printed on standard
// output; it fails the spec, with standard error, when the program fails.
func run(stdin []byte, name string, args ...string) []byte {
	GinkgoHelper()
	out, stderr, err := runResult(stdin, name, args...)
	if err != nil {
		Fail(fmt.Sprintf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr))
	}
	return out
}

func runResult(stdin []byte, name string, args ...string) ([]byte, string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = testbed.Root()
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

func kubectl(stdin []byte, args ...string) []byte {
	GinkgoHelper()
	return run(stdin, tool("kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

func helm(args ...string) []byte {
	GinkgoHelper()
	return run(nil, tool("helm"), args...)
}

// render is helm template of the chart in the release's namespace, with
// config/'s image so that it compares with kustomize's objects.
func render(extra ...string) []byte {
	GinkgoHelper()
	args := append([]string{"template", release, chartDir(), "--namespace", releaseNamespace}, imageValues()...)
	return helm(append(args, extra...)...)
}

// imageValues set the chart's image to the one config/manager sets.
func imageValues() []string {
	GinkgoHelper()
	objs, err := testbed.KustomizeBuild("default")
	Expect(err).NotTo(HaveOccurred())
	for _, u := range objs {
		if u.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if c := c.(map[string]any); c["name"] == "manager" {
				image := c["image"].(string)
				i := strings.LastIndex(image, ":")
				Expect(i).To(BeNumerically(">", strings.LastIndex(image, "/")), "config/manager's image %s has no tag", image)
				return []string{"--set", "image.repository=" + image[:i], "--set", "image.tag=" + image[i+1:]}
			}
		}
	}
	Fail("config/default has no manager container")
	return nil
}

// makeVersion is the Makefile's default VERSION, the chart's version.
func makeVersion() string {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), "Makefile"))
	Expect(err).NotTo(HaveOccurred())
	m := regexp.MustCompile(`(?m)^VERSION \?= (\S+)$`).FindSubmatch(raw)
	Expect(m).NotTo(BeNil(), "no VERSION ?= in the Makefile")
	return string(m[1])
}

func decode(raw []byte) []*unstructured.Unstructured {
	GinkgoHelper()
	objs, err := testbed.DecodeYAML(raw)
	Expect(err).NotTo(HaveOccurred())
	return objs
}

// kustomizeInstall is what kustomize builds of config/<dir>, moved into the
// release's namespace, as the chart makes it: without the Namespace (Helm
// installs into one that exists, or that helm install --create-namespace
// makes) and labelled managed by Helm where kustomize labels it managed by
// kustomize.
func kustomizeInstall(dir string) []*unstructured.Unstructured {
	GinkgoHelper()
	objs, err := testbed.KustomizeBuild(dir)
	Expect(err).NotTo(HaveOccurred())
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Namespace" {
			Expect(u.GetName()).To(Equal(kustomizeNamespace))
			continue
		}
		u.Object = replaceStrings(u.Object, func(s string) string {
			return strings.ReplaceAll(s, kustomizeNamespace, releaseNamespace)
		}).(map[string]any)
		if labels := u.GetLabels(); labels[managedByLabel] == "kustomize" {
			labels[managedByLabel] = "Helm"
			u.SetLabels(labels)
		}
		out = append(out, u)
	}
	return out
}

// watching makes config/namespaced's install one for the namespaces
// listed, as README "Install modes" says to: manager-role bound by a
// RoleBinding in each, and WATCH_NAMESPACE listing them (config/namespaced
// takes it from the pod's namespace, the one namespace it binds).
func watching(objs []*unstructured.Unstructured, namespaces ...string) []*unstructured.Unstructured {
	GinkgoHelper()
	var out []*unstructured.Unstructured
	bound := false
	for _, u := range objs {
		switch {
		case u.GetKind() == "RoleBinding" && u.GetName() == managerRoleBinding:
			Expect(u.GetNamespace()).To(Equal(releaseNamespace))
			bound = true
			for _, ns := range namespaces {
				c := u.DeepCopy()
				c.SetNamespace(ns)
				out = append(out, c)
			}
			continue
		case u.GetKind() == "Deployment":
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			set := false
			for _, c := range containers {
				env, _ := c.(map[string]any)["env"].([]any)
				for i, e := range env {
					if e.(map[string]any)["name"] == "WATCH_NAMESPACE" {
						env[i] = map[string]any{"name": "WATCH_NAMESPACE", "value": strings.Join(namespaces, ",")}
						set = true
					}
				}
			}
			Expect(set).To(BeTrue(), "config/namespaced sets no WATCH_NAMESPACE")
			Expect(unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")).To(Succeed())
		}
		out = append(out, u)
	}
	Expect(bound).To(BeTrue(), "config/namespaced has no RoleBinding %s", managerRoleBinding)
	return out
}

// without removes the objects of config/<dir>.
func without(objs []*unstructured.Unstructured, dir string) []*unstructured.Unstructured {
	GinkgoHelper()
	drop := index(kustomizeInstall(dir))
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if _, ok := drop[key(u)]; !ok {
			out = append(out, u)
		}
	}
	return out
}

func key(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

func index(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, u := range objs {
		out[key(u)] = u
	}
	return out
}

func keys(objs map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range objs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// expectSameObjects fails unless got and want hold the same objects, field
// for field, and says where the first one differs.
func expectSameObjects(got, want []*unstructured.Unstructured) {
	GinkgoHelper()
	g, w := index(got), index(want)
	Expect(keys(g)).To(Equal(keys(w)), "the chart's objects (actual) and kustomize's (expected)")
	for _, k := range keys(w) {
		wy, err := yaml.Marshal(w[k].Object)
		Expect(err).NotTo(HaveOccurred())
		gy, err := yaml.Marshal(g[k].Object)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(gy)).To(Equal(string(wy)), "%s: the chart (+) differs from kustomize (-) at %s", k, textdiff.FirstLine(string(wy), string(gy)))
	}
}

// replaceStrings puts f(s) in place of every string s of the tree (keys
// excepted).
func replaceStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = replaceStrings(e, f)
		}
	case []any:
		for i, e := range x {
			x[i] = replaceStrings(e, f)
		}
	case string:
		return f(x)
	}
	return v
}

// missingFrom returns the first path at which live lacks what rendered
// sets, or "" when the server holds every field as rendered (it may add
// defaults, status and metadata of its own).
func missingFrom(live, rendered any, path string) string {
	switch r := rendered.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return path
		}
		for k, v := range r {
			if p := missingFrom(l[k], v, path+"."+k); p != "" {
				return p
			}
		}
		return ""
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(r) {
			return path
		}
		for i := range r {
			if p := missingFrom(l[i], r[i], fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
		return ""
	default:
		if live != rendered {
			return path
		}
		return ""
	}
}
