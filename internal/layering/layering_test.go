package layering

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/onedrive-agent/onedrive-agent"

// pkg is what the rules look at in one folder of the module.
type pkg struct {
	path    string              // import path
	imports map[string][]string // import path → files (production files)
	tests   map[string][]string // import path → files (_test.go files)
	// exported lists, per exported declaration of a production file, the
	// import paths its signature or type refers to.
	exported map[string][]string // "store.Open" → import paths
}

// rule names a line and reports the packages that cross it.
type rule struct {
	name  string
	check func(p pkg) []string
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// isSink reports a sink package: a path segment "sink" or "sinks" below
// the module.
func isSink(path string) bool {
	for _, seg := range strings.Split(strings.TrimPrefix(path, module+"/"), "/") {
		if seg == "sink" || seg == "sinks" {
			return true
		}
	}
	return false
}

var (
	storePkg     = module + "/store"
	connectorPkg = module + "/connector"
	agentPkg     = module + "/agent"
	deltaPkg     = module + "/agent/delta"
	graphtestPkg = module + "/connector/graphtest"
	demoPkg      = module + "/cmd/onedrive-agent"
	bbolt        = "go.etcd.io/bbolt"
	oauth2       = "golang.org/x/oauth2"
)

var rules = []rule{
	{"store and connector import neither agent nor each other", func(p pkg) []string {
		var bad []string
		for imp, files := range p.imports {
			switch {
			case under(p.path, storePkg) && (under(imp, agentPkg) || under(imp, connectorPkg)),
				under(p.path, connectorPkg) && (under(imp, agentPkg) || under(imp, storePkg)):
				bad = append(bad, fmt.Sprintf("%s imports %s (%s)", p.path, imp, strings.Join(files, ", ")))
			}
		}
		return bad
	}},
	{"production code never imports connector/graphtest (the demo aside)", func(p pkg) []string {
		if under(p.path, graphtestPkg) || p.path == demoPkg {
			return nil
		}
		if files, ok := p.imports[graphtestPkg]; ok {
			return []string{fmt.Sprintf("%s imports %s in production code (%s)", p.path, graphtestPkg, strings.Join(files, ", "))}
		}
		return nil
	}},
	{"only store imports bbolt, only connector imports oauth2", func(p pkg) []string {
		var bad []string
		for _, m := range []map[string][]string{p.imports, p.tests} {
			for imp, files := range m {
				if under(imp, bbolt) && !under(p.path, storePkg) || under(imp, oauth2) && !under(p.path, connectorPkg) {
					bad = append(bad, fmt.Sprintf("%s imports %s (%s)", p.path, imp, strings.Join(files, ", ")))
				}
			}
		}
		return bad
	}},
	{"no bbolt or oauth2 type in an exported declaration of store or connector", func(p pkg) []string {
		var bad []string
		for decl, imps := range p.exported {
			for _, imp := range imps {
				if under(imp, bbolt) || under(imp, oauth2) {
					bad = append(bad, fmt.Sprintf("%s: exported %s refers to %s", p.path, decl, imp))
				}
			}
		}
		return bad
	}},
	{"sink packages import neither store nor agent/delta", func(p pkg) []string {
		if !isSink(p.path) {
			return nil
		}
		var bad []string
		for imp, files := range p.imports {
			if under(imp, storePkg) || under(imp, deltaPkg) {
				bad = append(bad, fmt.Sprintf("%s imports %s (%s)", p.path, imp, strings.Join(files, ", ")))
			}
		}
		return bad
	}},
}

// violations applies every rule to every package.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			for _, v := range r.check(p) {
				out = append(out, r.name+": "+v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// load parses every Go file of the module below root (imports, and the
// exported declarations of store and connector).
func load(t *testing.T, root string) []pkg {
	t.Helper()
	byDir := map[string]*pkg{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		ip := module
		if rel != "." {
			ip += "/" + filepath.ToSlash(rel)
		}
		p := byDir[ip]
		if p == nil {
			p = &pkg{path: ip, imports: map[string][]string{}, tests: map[string][]string{}, exported: map[string][]string{}}
			byDir[ip] = p
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := filepath.Base(path)
		isTest := strings.HasSuffix(name, "_test.go")
		aliases := map[string]string{} // local name → import path
		for _, is := range f.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			if isTest {
				p.tests[imp] = append(p.tests[imp], name)
			} else {
				p.imports[imp] = append(p.imports[imp], name)
			}
			local := imp[strings.LastIndexByte(imp, '/')+1:]
			if is.Name != nil {
				local = is.Name.Name
			} else if imp == bbolt {
				local = "bbolt"
			}
			aliases[local] = imp
		}
		if !isTest && (under(ip, storePkg) || under(ip, connectorPkg) && !under(ip, graphtestPkg)) {
			exportedRefs(f, aliases, p.exported)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]pkg, 0, len(byDir))
	for _, p := range byDir {
		out = append(out, *p)
	}
	return out
}

// exportedRefs records, for each exported declaration of f, the import
// paths its visible type expressions refer to.
func exportedRefs(f *ast.File, aliases map[string]string, into map[string][]string) {
	pkgName := f.Name.Name
	refs := func(key string, nodes ...ast.Node) {
		for _, n := range nodes {
			if n == nil {
				continue
			}
			ast.Inspect(n, func(n ast.Node) bool {
				if _, ok := n.(*ast.BlockStmt); ok {
					return false // bodies are not part of the signature
				}
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok {
					if imp, ok := aliases[id.Name]; ok {
						into[key] = append(into[key], imp)
					}
				}
				return true
			})
		}
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
				continue
			}
			if d.Recv != nil {
				refs(pkgName+"."+d.Name.Name, d.Recv)
			}
			refs(pkgName+"."+d.Name.Name, d.Type)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					refs(pkgName+"."+s.Name.Name, exportedParts(s.Type)...)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() {
							refs(pkgName+"."+n.Name, s.Type)
						}
					}
				}
			}
		}
	}
}

// exportedParts returns what of a type other packages see: for a struct,
// its exported and embedded fields; for an interface, its methods; else
// the whole type.
func exportedParts(t ast.Expr) []ast.Node {
	var out []ast.Node
	switch t := t.(type) {
	case *ast.StructType:
		for _, fl := range t.Fields.List {
			vis := len(fl.Names) == 0
			for _, n := range fl.Names {
				vis = vis || n.IsExported()
			}
			if vis {
				out = append(out, fl.Type)
			}
		}
	default:
		out = append(out, t)
	}
	return out
}

func exportedRecv(fl *ast.FieldList) bool {
	if fl == nil || len(fl.List) == 0 {
		return true
	}
	t := fl.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return true
		}
	}
}

// TestLayering checks the module itself.
func TestLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	pkgs := load(t, root)
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages under %s", len(pkgs), root)
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestLayering_Rules shows each rule catching what it forbids, on a made-up
// module written to a temporary folder.
func TestLayering_Rules(t *testing.T) {
	files := map[string]string{
		"store/a.go":                 "package store\nimport _ \"" + module + "/agent\"\n",
		"store/b.go":                 "package store\nimport bolt \"go.etcd.io/bbolt\"\nfunc Raw() *bolt.DB { return nil }\ntype T struct{ tx *bolt.Tx }\ntype U struct{ DB *bolt.Tx }\nfunc (t *T) Ok() { var _ bolt.Tx }\n",
		"connector/c.go":             "package connector\nimport (\n\"golang.org/x/oauth2\"\n_ \"" + module + "/store\"\n)\nvar Config *oauth2.Config\ntype I interface{ Token() *oauth2.Token }\n",
		"connector/graphtest/g.go":   "package graphtest\n",
		"agent/x.go":                 "package agent\nimport _ \"" + module + "/connector/graphtest\"\n",
		"agent/y.go":                 "package agent\nimport _ \"go.etcd.io/bbolt\"\n",
		"agent/y_test.go":            "package agent\nimport _ \"golang.org/x/oauth2\"\n",
		"agent/ok_test.go":           "package agent\nimport _ \"" + module + "/connector/graphtest\"\n",
		"cmd/onedrive-agent/demo.go": "package main\nimport _ \"" + module + "/connector/graphtest\"\n",
		"sink/kafka/k.go":            "package kafka\nimport _ \"" + module + "/store\"\n",
		"agent/sink/s.go":            "package sink\nimport _ \"" + module + "/agent/delta\"\n",
	}
	root := t.TempDir()
	for name, src := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := strings.Join(violations(load(t, root)), "\n")
	for _, want := range []string{
		module + "/store imports " + module + "/agent (a.go)",
		module + "/connector imports " + module + "/store (c.go)",
		module + "/agent imports " + graphtestPkg + " in production code (x.go)",
		module + "/agent imports go.etcd.io/bbolt (y.go)",
		module + "/agent imports golang.org/x/oauth2 (y_test.go)",
		module + "/store: exported store.Raw refers to go.etcd.io/bbolt",
		module + "/store: exported store.U refers to go.etcd.io/bbolt",
		module + "/connector: exported connector.Config refers to golang.org/x/oauth2",
		module + "/connector: exported connector.I refers to golang.org/x/oauth2",
		module + "/sink/kafka imports " + module + "/store (k.go)",
		module + "/agent/sink imports " + module + "/agent/delta (s.go)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no violation %q in:\n%s", want, got)
		}
	}
	for _, notWant := range []string{"demo.go", "ok_test.go", "store.Ok", "store.T "} {
		if strings.Contains(got, notWant) {
			t.Errorf("allowed use reported (%q):\n%s", notWant, got)
		}
	}
}
