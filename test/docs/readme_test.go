// Package docs checks that the commands README.md tells a newcomer to run
// exist, and that the files and names docs/architecture.md points to do.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

func read(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testbed.Root(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// codeBlocks returns the lines of the README's fenced shell blocks.
func codeBlocks(readme string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in:
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return lines
}

func TestReadmeStartsWithTheTwoCommands(t *testing.T) {
	lines := codeBlocks(read(t, "README.md"))
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "make run-local") || !strings.HasPrefix(lines[1], "make test") {
		t.Fatalf("the README's first commands are %q, want make run-local and make test", lines[:min(2, len(lines))])
	}
	if !strings.Contains(read(t, ".ci/run"), "\nmake test\n") {
		t.Error(".ci/run does not run the README's test command")
	}
}

func TestReadmeCommandsExist(t *testing.T) {
	makefile := read(t, "Makefile")
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z0-9_-]+):`).FindAllStringSubmatch(makefile, -1) {
		targets[m[1]] = true
	}
	readme := read(t, "README.md")
	checked := 0
	for _, l := range codeBlocks(readme) {
		fields := strings.Fields(l)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "make":
			for _, f := range fields[1:] {
				if strings.HasPrefix(f, "#") {
					break
				}
				if strings.Contains(f, "=") {
					continue
				}
				checked++
				if !targets[f] {
					t.Errorf("README runs make %s, which the Makefile does not define", f)
				}
			}
		case "go":
			if fields[1] == "run" && len(fields) > 2 {
				checked++
				if _, err := os.Stat(filepath.Join(testbed.Root(), fields[2])); err != nil {
					t.Errorf("README runs go run %s: %v", fields[2], err)
				}
			}
		}
	}
	for _, m := range regexp.MustCompile("`(make [a-z-]+(?: [a-z-]+)*)`").FindAllStringSubmatch(readme, -1) {
		for _, f := range strings.Fields(m[1])[1:] {
			checked++
			if !targets[f] {
				t.Errorf("README mentions %q; the Makefile has no target %s", m[1], f)
			}
		}
	}
	if checked < 8 {
		t.Errorf("only %d commands found in the README", checked)
	}
}
