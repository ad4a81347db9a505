// Package textdiff shows where two texts first differ, for golden-file
// test failures.
package textdiff

import (
	"fmt"
	"strings"
)

// FirstLine returns the first line on which want and got differ, both
// versions of it, numbered from 1.
func FirstLine(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}
