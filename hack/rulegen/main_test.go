package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed file must be what the generator writes from the current
// flag lists: a stale one would leave the CRD enforcing an old allow list.
func TestGeneratedFileIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	header, err := os.ReadFile(filepath.Join(root, "hack", "boilerplate.go.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(header)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "api", "v1alpha1", "zz_generated.extraargs.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("api/v1alpha1/zz_generated.extraargs.go is stale: run make generate manifests")
	}
}
