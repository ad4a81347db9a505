package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// No container engine runs here, so the image itself cannot be built; what
// can be checked is that the Dockerfile's build step produces a static,
// non-root-compatible binary with exactly the flags it uses.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager")
	}
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := strings.ReplaceAll(string(raw), "\\\n", " ")
	run := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 .*go build .*)$`).FindStringSubmatch(dockerfile)
	if run == nil {
		t.Fatal("no 'RUN CGO_ENABLED=0 ... go build' step in the Dockerfile")
	}
	for _, want := range []string{"-trimpath", "-X main.version=${VERSION}", "./cmd"} {
		if !strings.Contains(run[1], want) {
			t.Errorf("the build step lacks %s: %s", want, run[1])
		}
	}
	if !regexp.MustCompile(`(?m)^USER 65532:65532$`).MatchString(dockerfile) {
		t.Error("the image does not run as a non-root user")
	}

	// Build in a directory holding only what the Dockerfile's COPY lines
	// bring into the image's work directory, as docker would, and run the
	// step with sh -c and the build arguments in the environment.
	ignoreRaw, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	ignore := string(ignoreRaw)
	workspace := t.TempDir()
	builder := strings.SplitN(dockerfile, "\nFROM ", 3)[1] // the build stage
	copies := regexp.MustCompile(`(?m)^COPY (.+)$`).FindAllStringSubmatch(builder, -1)
	if len(copies) == 0 {
		t.Fatal("no COPY in the build stage")
	}
	for _, m := range copies {
		fields := strings.Fields(m[1])
		dest := fields[len(fields)-1]
		for _, src := range fields[:len(fields)-1] {
			target := filepath.Join(workspace, dest)
			if dest == "./" {
				target = filepath.Join(workspace, filepath.Base(src))
			}
			copyTree(t, filepath.Join("..", src), target)
			// .dockerignore keeps everything out but what is copied.
			if !regexp.MustCompile(`(?m)^!` + regexp.QuoteMeta(src) + `$`).MatchString(ignore) {
				t.Errorf(".dockerignore leaves %s out of the build context", src)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "manager")
	step := strings.Replace(run[1], "-o manager", "-o "+out, 1)
	cmd := exec.Command("sh", "-c", step)
	cmd.Dir = workspace
	cmd.Env = append(os.Environ(), "VERSION=test", "TARGETOS=linux", "TARGETARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", step, err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: it would not start on a distroless static image")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	version, err := exec.Command(out, "-version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(version)) != "test" {
		t.Errorf("-version printed %q (%v), want the build argument", version, err)
	}
}

// copyTree copies a file or a directory tree.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, raw, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}
