package kheaders

import (
	"bytes"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/gobcc/gobcc/internal/testutil"
)

func dumpC(t *testing.T, types ...btf.Type) string {
	t.Helper()
	var b bytes.Buffer
	d := newDumper(&b, Excluded{Tags: map[string]bool{"bpf_insn": true}, Idents: map[string]bool{}, Typedefs: map[string]bool{}})
	if err := d.dumpScalars(types, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := d.dump(types); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestDumpPaddingAndPacking checks the layout rules: holes are char
// arrays (never "long: 64;" runs), partial bytes unnamed bitfields, and a
// member below its natural alignment makes the struct packed.
func TestDumpPaddingAndPacking(t *testing.T) {
	u8 := &btf.Int{Name: "unsigned char", Size: 1}
	u32 := &btf.Int{Name: "unsigned int", Size: 4}
	u64 := &btf.Int{Name: "long long unsigned int", Size: 8}
	i128 := &btf.Int{Name: "__int128", Size: 16, Encoding: btf.Signed}
	holes := &btf.Struct{Name: "holes", Size: 48, Members: []btf.Member{
		{Name: "a", Type: u8, Offset: 0},
		{Name: "flag", Type: u32, Offset: 11, BitfieldSize: 3},
		{Name: "b", Type: u64, Offset: 16 * 8},
		{Name: "wide", Type: i128, Offset: 32 * 8},
	}}
	packed := &btf.Struct{Name: "tight", Size: 12, Members: []btf.Member{
		{Name: "x", Type: u32, Offset: 0},
		{Name: "y", Type: u64, Offset: 4 * 8},
	}}
	insn := &btf.Struct{Name: "bpf_insn", Size: 8, Members: []btf.Member{{Name: "imm", Type: u64}}}
	prog := &btf.Struct{Name: "holder", Size: 16, Members: []btf.Member{
		{Name: "p", Type: &btf.Pointer{Target: insn}},
		{Name: "insns", Type: &btf.Array{Type: insn, Nelems: 1}, Offset: 64},
	}}
	out := dumpC(t, u8, u32, u64, i128, holes, packed, insn, prog)
	for _, want := range []string{
		"\tunsigned char a;\n\tunsigned char : 3;\n\tunsigned int flag: 3;\n\tunsigned char : 2;\n\tchar __pad1[14];\n",
		"\tlong long unsigned int b;\n\tchar __pad2[8];\n\t__int128 wide;\n}",
		"struct tight {\n\tunsigned int x;\n\tlong long unsigned int y;\n} __attribute__((packed));",
		// libbcc defines bpf_insn after linux/types.h: by-value uses get a copy.
		"struct bpf_insn___btf {",
		"\tstruct bpf_insn *p;\n\tstruct bpf_insn___btf insns[1];\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "struct bpf_insn {") {
		t.Errorf("libbcc's struct bpf_insn defined again:\n%s", out)
	}
	if strings.Contains(out, "long:") || strings.Contains(out, "int:") {
		t.Errorf("padding written as bitfield runs:\n%s", out)
	}
}

// TestDumpDeclarators checks pointers to functions and arrays, qualifiers
// and duplicate names.
func TestDumpDeclarators(t *testing.T) {
	i32 := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	ch := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	fn := &btf.FuncProto{Return: i32, Params: []btf.FuncParam{{Type: &btf.Pointer{Target: &btf.Const{Type: ch}}}, {Type: &btf.Void{}}}}
	a := &btf.Struct{Name: "dup", Size: 24, Members: []btf.Member{
		{Name: "cb", Type: &btf.Pointer{Target: fn}},
		{Name: "row", Type: &btf.Pointer{Target: &btf.Array{Type: i32, Nelems: 2}}, Offset: 64},
		{Name: "cp", Type: &btf.Const{Type: &btf.Pointer{Target: ch}}, Offset: 128},
	}}
	b := &btf.Struct{Name: "dup", Size: 4, Members: []btf.Member{{Name: "x", Type: i32}}}
	e := &btf.Enum{Name: "small", Size: 1, Values: []btf.EnumValue{{Name: "S_ONE", Value: 1}}}
	c := &btf.Struct{Name: "user", Size: 8, Members: []btf.Member{{Name: "s", Type: e}, {Name: "d", Type: b, Offset: 32}}}
	out := dumpC(t, i32, ch, a, b, e, c)
	for _, want := range []string{
		"\tvoid *cb;\n",
		"\tint (*row)[2];\n",
		"\tchar *const cp;\n",
		"struct dup___2 {",
		"\tunsigned char s;\n\tchar __pad1[3];\n\tstruct dup___2 d;\n",
		"S_ONE = 1,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionHeader(t *testing.T) {
	h := string(versionHeader("6.18.44-fc-v1252"))
	if !strings.Contains(h, "#define LINUX_VERSION_CODE 397868\n") {
		t.Errorf("version.h:\n%s", h)
	}
	k := string(kconfigHeader([]byte("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"x\"\nCONFIG_E=12\n")))
	for _, want := range []string{"#define CONFIG_A 1\n", "#define CONFIG_B_MODULE 1\n", "#define CONFIG_D \"x\"\n", "#define CONFIG_E 12\n", "#define IS_ENABLED(option)"} {
		if !strings.Contains(k, want) {
			t.Errorf("kconfig.h lacks %q", want)
		}
	}
	if strings.Contains(k, "CONFIG_C") {
		t.Error("kconfig.h defines an unset option")
	}
}

func TestParseDefines(t *testing.T) {
	defs := ParseDefines([]byte("#define A 1 /* c */\n#  define B (A << \\\n 2)\n#define F(x) x\n#define EMPTY\n#define sk_family __sk_common.skc_family // alias\n"))
	got := map[string]string{}
	for _, d := range defs {
		got[d.Name] = d.Body
	}
	want := map[string]string{"A": "1", "B": "(A <<   2)", "F(x)": "", "sk_family": "__sk_common.skc_family"}
	if got["A"] != want["A"] || got["B"] != want["B"] || got["sk_family"] != want["sk_family"] {
		t.Errorf("got %q", got)
	}
	if _, ok := got["EMPTY"]; ok {
		t.Error("a macro without body was kept")
	}
	ok := resolveMacros(map[string]string{"A": "1", "B": "(A << 2)", "C": "(D + 1)", "E": "sizeof(struct x)"}, map[string]bool{}, map[string]bool{})
	if ok["A"] != "1" || ok["B"] != "(A << 2)" || ok["C"] != "" || ok["E"] != "" {
		t.Errorf("resolveMacros: %q", ok)
	}
}

func kernelInput(t *testing.T) Config {
	t.Helper()
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		testutil.RequireKernel(t, "no kernel BTF: %v", err)
	}
	return Config{CacheDir: t.TempDir(), ModulesDir: t.TempDir()}
}

// TestGenerateCache generates the running kernel's tree into an empty
// cache, finds it there the second time, and regenerates entries that are
// not safe to use.
func TestGenerateCache(t *testing.T) {
	c := kernelInput(t)
	first, err := c.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if !first.Generated || first.Kind != KindBTF {
		t.Fatalf("first Generate: %+v", first)
	}
	fi, err := os.Stat(first.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("tree %s: %v %v", first.Dir, fi.Mode(), err)
	}
	vm, err := os.ReadFile(filepath.Join(first.Dir, "include/gobcc/vmlinux.h"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"struct task_struct {", "struct mm_struct {"} {
		if !bytes.Contains(vm, []byte(want)) {
			t.Errorf("vmlinux.h lacks %q", want)
		}
	}
	if bytes.Contains(vm, []byte("long: 64;")) {
		t.Error("vmlinux.h pads with long: 64")
	}
	kernelH, err := os.ReadFile(filepath.Join(first.Dir, "include/gobcc/kernel.h"))
	if err != nil || !bytes.Contains(kernelH, []byte("__has_include(<"+SubsetHeader+">)")) {
		t.Errorf("kernel.h does not switch to a type subset: %v\n%s", err, kernelH)
	}
	idx, err := readIndex(first.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := ProgramIdents("struct task_struct *t; t->mm->arg_start; t->flags & PF_EXITING", nil)
	sub, _, macros := idx.closure(ids)
	for _, want := range []string{"struct task_struct {", "struct mm_struct {", "#define PF_EXITING "} {
		if !bytes.Contains(sub, []byte(want)) {
			t.Errorf("the subset of task->mm->arg_start lacks %q", want)
		}
	}
	if len(sub) > len(vm)/10 || macros != 1 {
		t.Errorf("the subset of task->mm->arg_start has %d bytes (vmlinux.h %d) and %d macros", len(sub), len(vm), macros)
	}
	for _, p := range []string{"include/linux/sched.h", "include/net/sock.h", "arch/x86/include/asm/ptrace.h", "include/linux/kconfig.h", "include/generated/uapi/linux/version.h"} {
		if _, err := os.Stat(filepath.Join(first.Dir, p)); err != nil {
			t.Errorf("tree lacks %s: %v", p, err)
		}
	}
	second, err := c.Generate()
	if err != nil || second.Generated || second.Dir != first.Dir || len(second.Warnings) != 0 {
		t.Fatalf("second Generate: %+v, %v", second, err)
	}
	for _, spoil := range []func() error{
		func() error { return os.Chmod(first.Dir, 0o755) },
		func() error { return os.WriteFile(filepath.Join(first.Dir, stampFile), []byte("old\n"), 0o600) },
		func() error { return os.Remove(filepath.Join(first.Dir, stampFile)) },
	} {
		if err := spoil(); err != nil {
			t.Fatal(err)
		}
		again, err := c.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !again.Generated || len(again.Warnings) == 0 {
			t.Errorf("a spoilt cache entry was used: %+v", again)
		}
	}
}

// TestResolvePolicies checks the choices of auto, installed and a path with
// a fake installed tree.
func TestResolvePolicies(t *testing.T) {
	c := kernelInput(t)
	c.Release = "9.9.9-test"
	if _, err := c.Resolve(PolicyInstalled); !errors.Is(err, ErrNoHeaders) {
		t.Errorf("installed without headers: %v", err)
	}
	tr, err := c.Resolve(PolicyAuto)
	if err != nil || tr.Kind != KindBTF || !strings.Contains(tr.Reason, "no installed headers") {
		t.Errorf("auto without headers: %+v %v", tr, err)
	}
	build := filepath.Join(c.ModulesDir, c.Release, "build")
	if err := os.MkdirAll(filepath.Join(build, "include/config"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(build, "include/config/kernel.release"), []byte("9.9.9-test\n"), 0o644)
	if tr, err := c.Resolve(PolicyAuto); err != nil || tr.Kind != KindInstalled || tr.Env() != "" {
		t.Errorf("auto with the running kernel's headers: %+v %v", tr, err)
	}
	c.LayoutCheck = func(string) error { return ErrLayoutMismatch }
	if tr, err := c.Resolve(PolicyAuto); err != nil || tr.Kind != KindBTF || !strings.Contains(tr.Reason, "layout check") {
		t.Errorf("auto with headers failing the layout check: %+v %v", tr, err)
	}
	os.WriteFile(filepath.Join(build, "include/config/kernel.release"), []byte("6.1.0-test\n"), 0o644)
	c.LayoutCheck = nil
	if tr, err := c.Resolve(PolicyAuto); err != nil || tr.Kind != KindBTF || !strings.Contains(tr.Reason, "6.1.0-test") {
		t.Errorf("auto with another kernel's headers: %+v %v", tr, err)
	}
	if tr, err := c.Resolve(PolicyInstalled); err != nil || tr.Kind != KindInstalled || tr.Release != "6.1.0-test" {
		t.Errorf("installed: %+v %v", tr, err)
	}
	if tr, err := c.Resolve(build); err != nil || tr.Kind != KindPath || tr.Env() != "BCC_KERNEL_SOURCE="+build {
		t.Errorf("path: %+v %v", tr, err)
	}
	if _, err := c.Resolve(t.TempDir()); !errors.Is(err, ErrNoHeaders) {
		t.Errorf("path without include/: %v", err)
	}
}

// TestDataChecksum keeps the generated constant in step with data.txt: the
// input stamp trusts it instead of reading the data.
func TestDataChecksum(t *testing.T) {
	if got := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)); got != dataChecksum {
		t.Errorf("data.txt has CRC-32C %#08x, data_sum.go says %#08x: run go generate in internal/kheaders", got, uint32(dataChecksum))
	}
}
