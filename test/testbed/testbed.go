// Package testbed starts a local control plane (kube-apiserver and etcd
// through envtest) with every CRD the operator meets, without reaching
// anything but the Go module proxy: the binaries are built by
// hack/envtest-assets.sh and the third-party CRDs are read from the Go
// modules that ship them.
package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Assets returns the directory of kube-apiserver and etcd: KUBEBUILDER_ASSETS
// when set, otherwise what hack/envtest-assets.sh provides (building the
// binaries on first use).
func Assets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	cmd := exec.Command("bash", filepath.Join(Root(), "hack", "envtest-assets.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("providing envtest binaries: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ModuleDir is the directory of a module this project requires.
func ModuleDir(module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = Root()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating module %s: %w: %s", module, err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		// Listed but not downloaded yet.
		dl := exec.Command("go", "mod", "download", module)
		dl.Dir = Root()
		if out, err := dl.CombinedOutput(); err != nil {
			return "", fmt.Errorf("downloading module %s: %w: %s", module, err, out)
		}
		return ModuleDir(module)
	}
	return dir, nil
}

// OperatorCRDs is the operator's own CRD.
func OperatorCRDs() string { return filepath.Join(Root(), "config", "crd", "bases") }

// KialiCRD is the project's Kiali CRD fixture.
func KialiCRD() string { return filepath.Join(Root(), "test", "crds", "kiali.io_kialis.yaml") }

// IstioCRDs are Istio's CRDs, from the istio.io/api module.
func IstioCRDs() (string, error) {
	dir, err := ModuleDir("istio.io/api")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml"), nil
}

// RouteCRD is OpenShift's Route CRD, from the github.com/openshift/api module.
func RouteCRD() (string, error) {
	dir, err := ModuleDir("github.com/openshift/api")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "route", "v1", "zz_generated.crd-manifests", "routes.crd.yaml"), nil
}

// Options choose the CRDs a control plane starts with.
type Options struct {
	Kiali bool
	Istio bool
	Route bool
}

// All is every CRD.
var All = Options{Kiali: true, Istio: true, Route: true}

// NewEnvironment returns an envtest environment with the chosen CRDs; call
// Start on it.
func NewEnvironment(o Options) (*envtest.Environment, error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	paths := []string{OperatorCRDs()}
	if o.Kiali {
		paths = append(paths, KialiCRD())
	}
	if o.Istio {
		p, err := IstioCRDs()
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	if o.Route {
		p, err := RouteCRD()
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     paths,
		ErrorIfCRDPathMissing: true,
	}, nil
}
