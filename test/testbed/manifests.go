package testbed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// KustomizeBuild builds config/<dir> as make deploy does, with the
// kustomize the Makefile installs into bin/ (or one on PATH).
func KustomizeBuild(dir string) ([]*unstructured.Unstructured, error) {
	bin, err := Tool("kustomize")
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(bin, "build", filepath.Join(Root(), "config", dir)).Output()
	if ee := (&exec.ExitError{}); errors.As(err, &ee) {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("kustomize build config/%s: %w", dir, err)
	}
	return DecodeYAML(out)
}

// DecodeYAML splits a YAML stream into its objects, skipping empty
// documents.
func DecodeYAML(raw []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var out []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}
