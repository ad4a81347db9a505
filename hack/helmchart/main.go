// Command helmchart writes the operator's Helm chart
// (config/helm/kiali-auth-proxy-operator) from what kustomize builds of
// config/default, config/namespaced and config/guard: the same objects, in
// the release's namespace, with the few install-specific settings (image,
// watched namespaces, guard, replicas and leader election, resources,
// scheduling) as values. With -check it writes nothing and fails when the
// chart on disk is not what config/ makes, for the tests.
//
//	go run ./hack/helmchart -version 0.1.0 [-kustomize bin/kustomize] [-check]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	var o Options
	flag.StringVar(&o.Version, "version", "", "chart version (semver, no leading v), the Makefile's VERSION")
	kustomize := flag.String("kustomize", "bin/kustomize", "kustomize to build config/ with")
	config := flag.String("config", "config", "the config/ directory")
	dir := flag.String("chart", filepath.Join("config", "helm", chartName), "the chart's directory")
	check := flag.Bool("check", false, "write nothing; fail when the chart differs from what config/ makes")
	flag.Parse()
	err := run(*kustomize, *config, *dir, *check, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helmchart:", err)
		os.Exit(1)
	}
}

func run(kustomize, config, dir string, check bool, o Options) error {
	var b Builds
	for _, build := range []struct {
		dir string
		out *[]byte
	}{{"default", &b.Default}, {"namespaced", &b.Namespaced}, {"guard", &b.Guard}} {
		cmd := exec.Command(kustomize, "build", filepath.Join(config, build.dir))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("kustomize build %s: %w: %s", filepath.Join(config, build.dir), err, stderr.String())
		}
		*build.out = out
	}
	files, err := Generate(b, o)
	if err != nil {
		return err
	}
	if check {
		if stale := Compare(dir, files); len(stale) > 0 {
			return fmt.Errorf("%s is not what config/ makes (%s): run make helm-chart", dir, strings.Join(stale, ", "))
		}
		return nil
	}
	return write(dir, files)
}

// Compare returns what differs between the chart in dir and files: the
// paths missing, changed or not generated.
func Compare(dir string, files map[string][]byte) []string {
	var stale []string
	seen := map[string]bool{}
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		want, ok := files[rel]
		if !ok {
			stale = append(stale, rel+" is not generated")
			return nil
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			stale = append(stale, rel+" differs")
		}
		return nil
	})
	for name := range files {
		if !seen[name] {
			stale = append(stale, name+" is missing")
		}
	}
	sort.Strings(stale)
	return stale
}

// write replaces the chart in dir with files.
func write(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
