package kheaders

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// syntheticIndex dumps types as Write does and returns their index.
func syntheticIndex(t *testing.T, types ...btf.Type) *typeIndex {
	t.Helper()
	d := newDumper(&bytes.Buffer{}, Excluded{Tags: map[string]bool{}, Idents: map[string]bool{}, Typedefs: map[string]bool{}})
	if err := d.dumpScalars(types, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	d.rec = newIndexRecorder()
	if err := d.dump(types); err != nil {
		t.Fatal(err)
	}
	idx := d.rec.index()
	return &idx
}

func subsetText(idx *typeIndex, idents ...string) string {
	set := map[string]bool{}
	for _, id := range idents {
		set[id] = true
	}
	text, _, _ := idx.closure(set)
	return string(text)
}

// TestSubsetClosure checks the closure on types built in memory: members
// by value and typedef targets are defined, pointers only declared unless
// the program names the pointer member, typedefs of pointers bring their
// target, enums used as member types come along, and macros bring what
// their bodies name.
func TestSubsetClosure(t *testing.T) {
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	inner := &btf.Struct{Name: "inner", Size: 4, Members: []btf.Member{{Name: "x", Type: u32}}}
	target := &btf.Struct{Name: "target", Size: 4, Members: []btf.Member{{Name: "y", Type: u32}}}
	other := &btf.Struct{Name: "other", Size: 4, Members: []btf.Member{{Name: "z", Type: u32}}}
	color := &btf.Enum{Name: "color", Size: 4, Values: []btf.EnumValue{{Name: "RED", Value: 1}, {Name: "GREEN", Value: 2}}}
	outer := &btf.Struct{Name: "outer", Size: 24, Members: []btf.Member{
		{Name: "in", Type: inner},
		{Name: "c", Type: color, Offset: 32},
		{Name: "tp", Type: &btf.Pointer{Target: target}, Offset: 64},
		{Name: "op", Type: &btf.Pointer{Target: other}, Offset: 128},
	}}
	node := &btf.Struct{Name: "node", Size: 4, Members: []btf.Member{{Name: "v", Type: u32}}}
	nodePtr := &btf.Typedef{Name: "node_ptr", Type: &btf.Pointer{Target: node}}
	lonely := &btf.Struct{Name: "lonely", Size: 4, Members: []btf.Member{{Name: "w", Type: u32}}}
	idx := syntheticIndex(t, u32, color, inner, target, other, outer, node, nodePtr, lonely)
	idx.Macros = map[string]string{"OUTER_SIZE": "(sizeof(struct outer) + NODE_SIZE)", "NODE_SIZE": "sizeof(node_ptr)", "lonely_w": "w"}

	has := func(text, want string) bool { return strings.Contains(text, want) }
	s := subsetText(idx, "outer")
	for _, want := range []string{"struct outer {", "struct inner {", "enum color {", "struct target;", "struct other;"} {
		if !has(s, want) {
			t.Errorf("subset of outer lacks %q:\n%s", want, s)
		}
	}
	for _, not := range []string{"struct target {", "struct other {", "node", "lonely"} {
		if has(s, not) {
			t.Errorf("subset of outer has %q:\n%s", not, s)
		}
	}
	if strings.Index(s, "struct inner {") > strings.Index(s, "struct outer {") {
		t.Errorf("inner defined after outer embeds it:\n%s", s)
	}
	// Naming the member tp (o->tp->y) needs struct target complete.
	s = subsetText(idx, "outer", "tp")
	if !has(s, "struct target {") || has(s, "struct other {") {
		t.Errorf("subset of outer, tp:\n%s", s)
	}
	// A member name alone brings nothing.
	if s := subsetText(idx, "tp"); has(s, "struct") {
		t.Errorf("subset of tp alone:\n%s", s)
	}
	s = subsetText(idx, "node_ptr")
	if !has(s, "typedef struct node *node_ptr;") || !has(s, "struct node {") {
		t.Errorf("subset of node_ptr:\n%s", s)
	}
	// An enumerator brings its enum.
	if s := subsetText(idx, "GREEN"); !has(s, "GREEN = 2") || has(s, "struct") {
		t.Errorf("subset of GREEN:\n%s", s)
	}
	// Macros bring the macros and types their bodies name.
	s = subsetText(idx, "OUTER_SIZE")
	for _, want := range []string{"#define OUTER_SIZE", "#define NODE_SIZE", "struct outer {", "struct node {"} {
		if !has(s, want) {
			t.Errorf("subset of OUTER_SIZE lacks %q:\n%s", want, s)
		}
	}
	if has(s, "lonely") {
		t.Errorf("subset of OUTER_SIZE has lonely:\n%s", s)
	}
}

func TestScanIdents(t *testing.T) {
	got := strings.Join(scanIdents(`x = task->mm->arg_start + 0x10UL; /* c1 */ __u64 _y2;`), " ")
	if want := "x task mm arg_start c1 __u64 _y2"; got != want {
		t.Errorf("scanIdents: %q, want %q", got, want)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "local.h"), []byte("#include \"deeper.h\"\nstruct from_local *p;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "deeper.h"), []byte("int from_deeper;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ids, includes := ProgramIdents("#include \"local.h\"\nint main_ident;", []string{dir})
	if !includes || !ids["from_local"] || !ids["from_deeper"] || !ids["main_ident"] {
		t.Errorf("ProgramIdents: %v, includes %v", ids, includes)
	}
	if _, includes := ProgramIdents("int x; // include", nil); includes {
		t.Error("a program without #include said to include")
	}
}

// TestProgramSubsetFiles writes subsets into a fake tree: mode 0700
// directories, reuse by identifier set, ErrBadIndex for a missing or
// corrupt index, refusal of a subset directory others may write, the
// failed mark, and pruning of the least recently used.
func TestProgramSubsetFiles(t *testing.T) {
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	s := &btf.Struct{Name: "thing", Size: 4, Members: []btf.Member{{Name: "x", Type: u32}}}
	idx := syntheticIndex(t, u32, s)
	idx.Macros = map[string]string{}
	tree := t.TempDir()
	if sub, err := ProgramSubset(tree, map[string]bool{"thing": true}); err != nil || sub.Dir != "" {
		t.Fatalf("a tree without a stamp (not gobcc's): %+v, %v", sub, err)
	}
	if err := os.WriteFile(filepath.Join(tree, stampFile), []byte(formatVersion+"\nkey\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ProgramSubset(tree, map[string]bool{"thing": true}); !errors.Is(err, ErrBadIndex) {
		t.Fatalf("missing index: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tree, indexFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ProgramSubset(tree, map[string]bool{"thing": true}); !errors.Is(err, ErrBadIndex) {
		t.Fatalf("corrupt index: %v", err)
	}
	if err := writeIndex(tree, *idx); err != nil {
		t.Fatal(err)
	}
	sub, err := ProgramSubset(tree, map[string]bool{"thing": true})
	if err != nil || !sub.Created || sub.Types != 1 {
		t.Fatalf("first subset: %+v, %v", sub, err)
	}
	for _, dir := range []string{filepath.Dir(sub.Dir), sub.Dir} {
		if fi, err := os.Lstat(dir); err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
			t.Errorf("%s: %v, %v", dir, fi.Mode(), err)
		}
	}
	data, err := os.ReadFile(filepath.Join(sub.Dir, SubsetHeader))
	if err != nil || !bytes.Contains(data, []byte("struct thing {")) {
		t.Fatalf("subset header: %v\n%s", err, data)
	}
	again, err := ProgramSubset(tree, map[string]bool{"thing": true})
	if err != nil || again.Created || again.Dir != sub.Dir {
		t.Errorf("second subset: %+v, %v", again, err)
	}
	if err := os.Chmod(sub.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ProgramSubset(tree, map[string]bool{"thing": true}); err == nil {
		t.Error("a subset directory of mode 0755 was used")
	}
	os.Chmod(sub.Dir, 0o700)
	if err := MarkSubsetFailed(sub.Dir); err != nil {
		t.Fatal(err)
	}
	if marked, err := ProgramSubset(tree, map[string]bool{"thing": true}); err != nil || marked.Dir != "" {
		t.Errorf("marked subset: %+v, %v", marked, err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, err := ProgramSubset(tree, map[string]bool{id: true}); err != nil {
			t.Fatal(err)
		}
	}
	pruneSubsets(filepath.Join(tree, subsetsDir), 2)
	if entries, _ := os.ReadDir(filepath.Join(tree, subsetsDir)); len(entries) != 2 {
		t.Errorf("%d subsets after pruning to 2", len(entries))
	}
}
