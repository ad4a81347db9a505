package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed files must be what the generator writes from the current
// lists: a stale one would leave the CRD enforcing an old allow list or
// letting a protected annotation through.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	header, err := os.ReadFile(filepath.Join(root, "hack", "boilerplate.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		want, err := f.Generate(header)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, "api", "v1alpha1", f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("api/v1alpha1/%s is stale: run make generate manifests", f.Name)
		}
	}
}
