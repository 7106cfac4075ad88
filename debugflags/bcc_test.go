package debugflags

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/internal/testutil"
)

// loadScript compiles and loads a socket filter through BCC Python with the
// debug flags in argv[1], so the test sees what each value makes libbcc
// print and where.
const loadScript = `
import sys
from bcc import BPF
b = BPF(text="""
BPF_ARRAY(counts, u64, 1);
int filter(void *ctx) {
	int key = 0;
	u64 *v = counts.lookup(&key);
	if (v) return *v;
	return 0;
}
""", debug=int(sys.argv[1]))
b.load_func("filter", BPF.SOCKET_FILTER)
`

func runWithDebug(t *testing.T, f Flags) (stdout, stderr string) {
	t.Helper()
	testutil.RequireRoot(t)
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		testutil.RequireKernel(t, "BCC Python interpreter missing: %v", err)
	}
	if err := exec.Command(python, "-c", "import bcc").Run(); err != nil {
		testutil.RequireKernel(t, "BCC Python bindings unavailable: %v", err)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(python, "-c", loadScript, strconv.FormatUint(uint64(f), 10))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("BCC with debug=%v: %v\nstdout:\n%s\nstderr:\n%s", f, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// TestOutputWhereDocumented checks the doc comments' claims about what
// each flag prints and on which stream, against BCC itself.
func TestOutputWhereDocumented(t *testing.T) {
	_, quiet := runWithDebug(t, None)
	if strings.Contains(quiet, "processed") {
		t.Errorf("debug=none printed a verifier log:\n%s", quiet)
	}

	stdout, _ := runWithDebug(t, LLVMIR)
	if !strings.Contains(stdout, "ModuleID") || !strings.Contains(stdout, "define") {
		t.Errorf("llvm_ir: no LLVM IR on stdout:\n%.500s", stdout)
	}

	_, level1 := runWithDebug(t, BPF)
	if !strings.Contains(level1, "processed") {
		t.Errorf("bpf: no verifier log on stderr:\n%s", level1)
	}
	_, level2 := runWithDebug(t, BPFRegisterState)
	if !strings.Contains(level2, "processed") || strings.Count(level2, "\n") <= strings.Count(level1, "\n") {
		t.Errorf("bpf_register_state: stderr is not a longer verifier log than bpf's\nlevel 1:\n%s\nlevel 2:\n%s", level1, level2)
	}

	_, pre := runWithDebug(t, Preprocessor)
	if !strings.Contains(pre, "clang") || !strings.Contains(pre, "-cc1") || !strings.Contains(pre, ".bpf.fn.filter") {
		t.Errorf("preprocessor: stderr lacks the clang command line or the rewritten source:\n%.2000s", pre)
	}

	_, src := runWithDebug(t, Source)
	if !strings.Contains(src, "Disassembly of function filter") || !strings.Contains(src, "int key = 0;") {
		t.Errorf("source: stderr lacks the source-annotated disassembly:\n%s", src)
	}
}
