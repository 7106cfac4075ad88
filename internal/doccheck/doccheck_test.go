package doccheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// snippetMarker, alone on the line before a ```go fence, makes the block a
// snippet to compile: the body of a function with snippetParams in scope.
const snippetMarker = "<!-- compile: snippet -->"

// snippetParams are in scope in every snippet. Snippets may leave them
// unused.
const snippetParams = "ctx context.Context, b *bcc.BPF, program string"

// knownImports are the packages a snippet may use by their usual name
// without importing them: the wrapper imports those it refers to.
var knownImports = map[string]string{
	"bcc": "github.com/gobcc/gobcc/bcc", "cflags": "github.com/gobcc/gobcc/cflags",
	"debugflags": "github.com/gobcc/gobcc/debugflags", "headers": "github.com/gobcc/gobcc/headers",
	"cache": "github.com/gobcc/gobcc/cache", "tracepipe": "github.com/gobcc/gobcc/tracepipe",
	"symbols": "github.com/gobcc/gobcc/symbols", "probes": "github.com/gobcc/gobcc/probes",
	"features": "github.com/gobcc/gobcc/features", "perf": "github.com/gobcc/gobcc/perf",
	"binary": "encoding/binary", "bytes": "bytes", "context": "context", "errors": "errors",
	"exec": "os/exec", "filepath": "path/filepath", "flag": "flag", "fmt": "fmt", "io": "io",
	"iter": "iter", "json": "encoding/json", "log": "log", "maps": "maps", "math": "math",
	"os": "os", "signal": "os/signal", "slices": "slices", "sort": "sort", "strconv": "strconv",
	"strings": "strings", "sync": "sync", "syscall": "syscall", "time": "time", "unix": "golang.org/x/sys/unix",
}

// block is one ```go block of a Markdown file.
type block struct {
	file    string // relative to the repository root
	line    int    // of the block's first code line
	code    string
	snippet bool // marked as a snippet
}

func (b block) complete() bool {
	for _, l := range strings.Split(b.code, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		return strings.HasPrefix(l, "package ")
	}
	return false
}

func extract(root, rel string) ([]block, error) {
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []block
	var cur *block
	var prev string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```go":
			cur = &block{file: rel, line: n + 1, snippet: strings.TrimSpace(prev) == snippetMarker}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		}
		prev = line
	}
	return out, sc.Err()
}

var pkgRef = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.[A-Za-z_]`)

// wrap turns a snippet into a main package whose function snippet has the
// snippet as its body. Variables the snippet declares at its top level are
// then used (`_ = x`), so that a snippet need not use all it shows; //line
// directives make compile errors name the Markdown file and line.
func wrap(b block) (string, error) {
	uses := map[string]bool{"bcc": true, "context": true}
	for _, m := range pkgRef.FindAllStringSubmatch(b.code, -1) {
		if _, ok := knownImports[m[1]]; ok {
			uses[m[1]] = true
		}
	}
	var names []string
	for n := range uses {
		names = append(names, n)
	}
	sort.Strings(names)
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, n := range names {
		fmt.Fprintf(&src, "\t%s %q\n", n, knownImports[n])
	}
	fmt.Fprintf(&src, ")\n\nfunc main() {}\n\nfunc snippet(%s) error {\n", snippetParams)
	fmt.Fprintf(&src, "//line %s:%d\n", b.file, b.line)
	src.WriteString(b.code)
	declared, err := topLevelVars(b.code)
	if err != nil {
		return "", err
	}
	for _, v := range declared {
		fmt.Fprintf(&src, "\t_ = %s\n", v)
	}
	src.WriteString("\treturn nil\n}\n")
	return src.String(), nil
}

// topLevelVars lists the variables a function body declares outside any
// nested block.
func topLevelVars(body string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", "package p\nfunc f() {\n"+body+"\n}\n", parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	fn := f.Decls[0].(*ast.FuncDecl)
	seen := map[string]bool{}
	var out []string
	add := func(id *ast.Ident) {
		if id.Name != "_" && !seen[id.Name] {
			seen[id.Name] = true
			out = append(out, id.Name)
		}
	}
	for _, st := range fn.Body.List {
		switch s := st.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				for _, e := range s.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := s.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, sp := range g.Specs {
					for _, id := range sp.(*ast.ValueSpec).Names {
						add(id)
					}
				}
			}
		}
	}
	return out, nil
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestDocsCompile compiles every complete Go file and every marked snippet
// of README.md and docs/*.md, as packages the go command sees through an
// overlay inside this module (so they build against this tree's API).
func TestDocsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds every documented program")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	root := repoRoot(t)
	mds, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, md := range mds {
		rel, _ := filepath.Rel(root, md)
		files = append(files, rel)
	}
	overlay := map[string]string{}
	var pkgs []string
	var unmarked []string
	tmp := t.TempDir()
	for _, file := range files {
		blocks, err := extract(root, file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			var src string
			switch {
			case b.complete():
				src = fmt.Sprintf("//line %s:%d\n%s", b.file, b.line, b.code)
			case b.snippet:
				if src, err = wrap(b); err != nil {
					t.Errorf("%s:%d: snippet does not parse: %v", b.file, b.line, err)
					continue
				}
			default:
				unmarked = append(unmarked, fmt.Sprintf("%s:%d", b.file, b.line))
				continue
			}
			name := fmt.Sprintf("block%03d", len(pkgs))
			real := filepath.Join(tmp, name+".go")
			if err := os.WriteFile(real, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			overlay[filepath.Join(root, "internal", "doccheck", "blocks", name, "main.go")] = real
			pkgs = append(pkgs, "./internal/doccheck/blocks/"+name)
		}
	}
	if len(unmarked) > 0 {
		t.Logf("Go blocks neither complete files nor marked %q, not compiled: %s", snippetMarker, strings.Join(unmarked, ", "))
	}
	if len(pkgs) == 0 {
		t.Fatal("no Go block to compile: the extraction is broken")
	}
	data, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, append([]string{"build", "-overlay", overlayFile, "-o", os.DevNull}, pkgs...)...)
	if len(pkgs) > 1 {
		cmd.Args = append([]string{goCmd, "build", "-overlay", overlayFile}, pkgs...)
	}
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%d documented Go blocks do not all compile (%v):\n%s", len(pkgs), err, out)
	}
	t.Logf("compiled %d Go blocks", len(pkgs))
}

func TestExtractAndWrap(t *testing.T) {
	dir := t.TempDir()
	md := "text\n```go\npackage main\n\nfunc main() {}\n```\n" + snippetMarker + "\n```go\nn, err := fmt.Println(x)\nfor i := range 3 { y := i; _ = y }\n```\n```go\nunmarked()\n```\n"
	if err := os.WriteFile(filepath.Join(dir, "a.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := extract(dir, "a.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 || !blocks[0].complete() || blocks[0].line != 3 || blocks[0].snippet ||
		!blocks[1].snippet || blocks[1].complete() || blocks[2].snippet {
		t.Fatalf("blocks: %+v", blocks)
	}
	src, err := wrap(blocks[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\tfmt \"fmt\"\n", "//line a.md:9\n", "\t_ = n\n\t_ = err\n", "func snippet(" + snippetParams + ") error {"} {
		if !strings.Contains(src, want) {
			t.Errorf("wrapped snippet lacks %q:\n%s", want, src)
		}
	}
	if strings.Contains(src, "\t_ = y") || strings.Contains(src, "\t_ = i") {
		t.Errorf("nested variables used by the wrapper:\n%s", src)
	}
}
