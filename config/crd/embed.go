// Package crd embeds the generated CustomResourceDefinition, so that offline
// tools validate with exactly the schema the API server enforces.
package crd

import _ "embed"

// KialiAuthProxy is config/crd/bases/mesh.kialiauth.io_kialiauthproxies.yaml.
//
//go:embed bases/mesh.kialiauth.io_kialiauthproxies.yaml
var KialiAuthProxy []byte
