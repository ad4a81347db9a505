package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

// docs/architecture.md says where each decision lives: every file it names
// exists, and every function or type it names as pkg.Name or Type.Method
// is declared in the package it names.
func TestArchitectureNamesWhatExists(t *testing.T) {
	doc := read(t, "docs/architecture.md")
	for _, m := range regexp.MustCompile("`((?:api|internal|cmd|hack|test)/[^` ]+)`").FindAllStringSubmatch(doc, -1) {
		path := m[1]
		if strings.Contains(path, "<") {
			continue
		}
		if _, err := os.Stat(filepath.Join(testbed.Root(), path)); err != nil {
			t.Errorf("docs/architecture.md names %s: %v", path, err)
		}
	}

	decls, fields := map[string]bool{}, map[string]bool{}
	for _, dir := range []string{"api/v1alpha1", "internal/render", "internal/controller", "internal/conditions",
		"internal/apply", "internal/multicluster", "internal/secrets"} {
		pkg := filepath.Base(dir)
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, filepath.Join(testbed.Root(), dir), func(fi os.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			for _, f := range p.Files {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						decls[pkg+"."+d.Name.Name] = true
						decls[d.Name.Name] = true
						if d.Recv != nil && len(d.Recv.List) == 1 {
							decls[recvName(d.Recv.List[0].Type)+"."+d.Name.Name] = true
						}
					case *ast.GenDecl:
						for _, s := range d.Specs {
							switch s := s.(type) {
							case *ast.TypeSpec:
								decls[pkg+"."+s.Name.Name] = true
								if st, ok := s.Type.(*ast.StructType); ok {
									for _, f := range st.Fields.List {
										if f.Tag != nil {
											if m := regexp.MustCompile(`json:"([^",]+)`).FindStringSubmatch(f.Tag.Value); m != nil {
												fields[m[1]] = true
											}
										}
									}
								}
							case *ast.ValueSpec:
								for _, n := range s.Names {
									decls[pkg+"."+n.Name] = true
								}
							}
						}
					}
				}
			}
		}
	}
	known := map[string]string{"v1alpha1": "", "render": "", "controller": "", "conditions": "", "apply": "",
		"multicluster": "", "secrets": "", "Reconciler": "", "Wirer": "", "Applier": ""}
	for _, m := range regexp.MustCompile("`([A-Za-z0-9]+)\\.([A-Z][A-Za-z0-9]*)`").FindAllStringSubmatch(doc, -1) {
		if _, ok := known[m[1]]; !ok {
			continue
		}
		if !decls[m[1]+"."+m[2]] {
			t.Errorf("docs/architecture.md names %s.%s, which is not declared", m[1], m[2])
		}
	}
	for _, m := range regexp.MustCompile("`([a-z][A-Za-z]+)`").FindAllStringSubmatch(doc, -1) {
		if fields[m[1]] || !regexp.MustCompile(`[A-Z]`).MatchString(m[1]) {
			continue // a field of the API or a plain word, not a function
		}
		if !decls[m[1]] {
			t.Errorf("docs/architecture.md names %s, which is not a function", m[1])
		}
	}
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}
