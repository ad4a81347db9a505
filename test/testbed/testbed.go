// Package testbed starts a local control plane (kube-apiserver and etcd
// through envtest) with every CRD the operator meets, without reaching
// anything but the Go module proxy: the binaries are built by
// hack/envtest-assets.sh and the third-party CRDs are read from the Go
// modules that ship them.
//
// A suite is its Ginkgo entry point and a BeforeSuite of a few lines; the
// control plane, the manager and the helpers stop and clean up on their own:
//
//	var (
//		ctx = context.Background()
//		k   client.Client
//	)
//
//	func TestExample(t *testing.T) {
//		RegisterFailHandler(Fail)
//		RunSpecs(t, "Example Suite")
//	}
//
//	var _ = BeforeSuite(func() {
//		testbed.Log()
//		c := testbed.StartCluster(testbed.ClusterOptions{Options: testbed.All})
//		k = c.Client
//		testbed.StartManager(ctx, c.Config, testbed.ManagerOptions())
//	})
//
//	var _ = It("converges the reference setup", func() {
//		ns := testbed.NewNamespace(ctx, k, "ex-")
//		testbed.CreateHtpasswd(ctx, k, ns)
//		kap := testbed.Reference(ns)
//		Expect(k.Create(ctx, kap)).To(Succeed())
//		Eventually(testbed.Converged(ctx, k, kap)).Should(Succeed())
//	})
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

// PrometheusOperatorModule ships the Prometheus Operator's API types, from
// which its CRDs are generated.
const PrometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"

// PrometheusOperatorCRDs generates the Prometheus Operator's CRDs with
// controller-gen from the module's Go types (the module ships no YAML),
// once per module version, into the user's cache directory.
func PrometheusOperatorCRDs() (string, error) {
	dir, err := ModuleDir(PrometheusOperatorModule)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(cache, "kiali-auth-proxy-operator", "crds", filepath.Base(dir))
	if _, err := os.Stat(filepath.Join(out, "monitoring.coreos.com_prometheuses.yaml")); err == nil {
		return out, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(mustMkdir(filepath.Dir(out))), "gen-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	gen := []string{"crd:crdVersions=v1,allowDangerousTypes=true", "paths=./v1/...", "output:crd:artifacts:config=" + tmp}
	cmd := exec.Command(filepath.Join(Root(), "bin", "controller-gen"), gen...)
	if _, err := os.Stat(cmd.Path); err != nil {
		// Outside make: the same pinned controller-gen through the module proxy.
		cmd = exec.Command("go", append([]string{"run", "sigs.k8s.io/controller-tools/cmd/controller-gen@" + controllerToolsVersion()}, gen...)...)
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("generating the Prometheus Operator CRDs: %w: %s", err, b)
	}
	if err := os.RemoveAll(out); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

func mustMkdir(dir string) string {
	_ = os.MkdirAll(dir, 0o755)
	return filepath.Join(dir, ".")
}

// controllerToolsVersion is the controller-gen version the Makefile pins.
func controllerToolsVersion() string {
	b, err := os.ReadFile(filepath.Join(Root(), "Makefile"))
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "CONTROLLER_TOOLS_VERSION ?= "); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "v0.23.0"
}

// Options choose the CRDs a control plane starts with.
type Options struct {
	Kiali              bool
	Istio              bool
	Route              bool
	PrometheusOperator bool
	// GatewayAPI, CertManager and OpenShiftAuthentication are not in All:
	// only the suites of those platforms need them (platformcrds.go).
	GatewayAPI              bool
	CertManager             bool
	OpenShiftAuthentication bool
}

// All is every CRD.
var All = Options{Kiali: true, Istio: true, Route: true, PrometheusOperator: true}

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
	if o.PrometheusOperator {
		p, err := PrometheusOperatorCRDs()
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	if o.GatewayAPI {
		p, err := GatewayAPICRDs()
		if err != nil {
			return nil, err
		}
		paths = append(paths, p...)
	}
	if o.CertManager {
		p, err := CertManagerCRDs()
		if err != nil {
			return nil, err
		}
		paths = append(paths, p...)
	}
	if o.OpenShiftAuthentication {
		p, err := AuthenticationCRD()
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
