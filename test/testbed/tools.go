package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// installedBy names the make target that provides each program the tests
// run.
var installedBy = map[string]string{"kustomize": "kustomize", "controller-gen": "controller-gen", "kubectl": "tools", "promtool": "tools"}

// toolsCacheEnv names the directory hack/test-binaries.sh builds programs
// into (oauth2-proxy, helm); make test sets it.
const toolsCacheEnv = "KAP_TOOLS"

// Tool is the path of a program the tests run: the one the Makefile
// installed into bin/, one hack/test-binaries.sh built into $KAP_TOOLS, or
// one on PATH.
func Tool(name string) (string, error) {
	dirs := []string{filepath.Join(Root(), "bin")}
	if d := os.Getenv(toolsCacheEnv); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		bin := filepath.Join(d, name)
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	target := installedBy[name]
	if target == "" {
		target = "tools"
	}
	return "", fmt.Errorf("%s is needed: make %s provides it (hack/test-binaries.sh builds oauth2-proxy and helm; export %s=$(hack/test-binaries.sh) to run one test by hand), or install it on PATH", name, target, toolsCacheEnv)
}
