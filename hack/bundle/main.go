// Command bundle writes the OLM bundle (bundle/manifests, bundle/metadata
// and bundle.Dockerfile) from the output of `kustomize build
// config/manifests`: the hand-written ClusterServiceVersion base completed
// with the install strategy, RBAC, owned CRD, alm-examples and related
// images taken from the same manifests `make deploy` applies.
//
//	kustomize build config/manifests | go run ./hack/bundle -version 0.1.0 -image IMG -dir .
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	var o Options
	dir := flag.String("dir", ".", "directory to write bundle/ and bundle.Dockerfile into")
	flag.StringVar(&o.Version, "version", "0.1.0", "operator version (semver, no leading v)")
	flag.StringVar(&o.Image, "image", "", "operator image; default quay.io/kialiauth/kiali-auth-proxy-operator:v<version>")
	flag.StringVar(&o.Channel, "channel", "alpha", "OLM channel")
	flag.Parse()
	if o.Image == "" {
		o.Image = defaultImage(o.Version)
	}
	in, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = write(*dir, in, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
}

// defaultImage is where released operator images are published.
func defaultImage(version string) string {
	return "quay.io/kialiauth/kiali-auth-proxy-operator:v" + version
}

// write replaces bundle/ under dir with a freshly generated bundle.
func write(dir string, manifests []byte, o Options) error {
	files, err := Generate(manifests, o)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(dir, "bundle")); err != nil {
		return err
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
