package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// installedBy names the make target that puts each program the tests run
// into bin/.
var installedBy = map[string]string{"kustomize": "kustomize", "controller-gen": "controller-gen", "kubectl": "tools", "promtool": "tools"}

// Tool is the path of a program the tests run: the one the Makefile
// installed into bin/, or one on PATH.
func Tool(name string) (string, error) {
	bin := filepath.Join(Root(), "bin", name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	target := installedBy[name]
	if target == "" {
		target = "tools"
	}
	return "", fmt.Errorf("%s is needed: make %s installs it into bin/, or install it on PATH", name, target)
}
