package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
)

// The CRDs of the platforms beyond OpenShift's defaults: the Gateway API
// and cert-manager on any Kubernetes, OpenShift's cluster Authentication.
// Each comes from the module that ships it, at a pinned version.

// CertManagerVersion is the cert-manager release whose CRDs the tests
// validate the rendered Certificate against. Its module is not a
// dependency of the operator (the Certificate is rendered unstructured), so
// it is downloaded by version.
const CertManagerVersion = "v1.21.2"

// GatewayAPICRDs are the Gateway API's standard-channel HTTPRoute and
// Gateway CRDs, from the sigs.k8s.io/gateway-api module.
func GatewayAPICRDs() ([]string, error) {
	dir, err := ModuleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	std := filepath.Join(dir, "config", "crd", "standard")
	return []string{
		filepath.Join(std, "gateway.networking.k8s.io_httproutes.yaml"),
		filepath.Join(std, "gateway.networking.k8s.io_gateways.yaml"),
	}, nil
}

// CertManagerCRDs are cert-manager's Certificate and issuer CRDs.
func CertManagerCRDs() ([]string, error) {
	dir, err := DownloadedModuleDir("github.com/cert-manager/cert-manager", CertManagerVersion)
	if err != nil {
		return nil, err
	}
	crds := filepath.Join(dir, "deploy", "crds")
	return []string{
		filepath.Join(crds, "cert-manager.io_certificates.yaml"),
		filepath.Join(crds, "cert-manager.io_issuers.yaml"),
		filepath.Join(crds, "cert-manager.io_clusterissuers.yaml"),
	}, nil
}

// AuthenticationCRD is OpenShift's authentications.config.openshift.io,
// as a default (not TechPreview) cluster installs it, from the
// github.com/openshift/api module.
func AuthenticationCRD() (string, error) {
	dir, err := ModuleDir("github.com/openshift/api")
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "config", "v1", "zz_generated.crd-manifests", "0000_10_config-operator_01_authentications-Default.crd.yaml"), nil
}

// DownloadedModuleDir is the directory of a module at a version, which the
// project need not require: go mod download fetches it into the module
// cache once.
func DownloadedModuleDir(module, version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = Root()
	out, err := cmd.Output()
	if ee := (&exec.ExitError{}); err != nil && errors.As(err, &ee) {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	if err != nil {
		return "", fmt.Errorf("downloading %s@%s: %w", module, version, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("downloading %s@%s: %s", module, version, m.Error)
	}
	return m.Dir, nil
}
