package bcc

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/testutil"
)

// bccDebugOutput runs the seed program through BCC Python with a debug
// flag and returns what it printed.
func bccDebugOutput(t *testing.T, flag debugflags.Flags) string {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c",
		"import sys\nfrom bcc import BPF\nBPF(src_file=b'../testdata/kmalloc_callers.c', debug=int(sys.argv[1]))",
		strings.TrimSpace(strings.Split(flagNumber(flag), " ")[0]))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("BCC Python: %v\n%s", err, out)
	}
	return string(out)
}

func flagNumber(f debugflags.Flags) string {
	return strings.TrimSpace(strings.Fields(strings.ReplaceAll(fmtUint(uint(f)), ",", " "))[0])
}

func fmtUint(u uint) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return string(b[i:])
}

// Each debug flag produces its output where BCC's does, and it reaches the
// DebugWriter, in both compile modes.
func TestDebugFlagsOutput(t *testing.T) {
	testutil.RequireRoot(t)
	cases := []struct {
		flag   debugflags.Flags
		marker string // in both BCC's and gobcc's output; "" means both print nothing
	}{
		{debugflags.LLVMIR, "; ModuleID"},
		{debugflags.BPF, "processed 22 insns"},
		{debugflags.Preprocessor, "clang -cc1"},
		{debugflags.Source, "Disassembly of function tracepoint__kmem__kmalloc"},
		{debugflags.BPFRegisterState, "Live regs before insn"},
		{debugflags.BTF, ""},
	}
	src := readTestdata(t, "kmalloc_callers.c")
	for _, c := range cases {
		ref := bccDebugOutput(t, c.flag)
		if c.flag == debugflags.BPFRegisterState && !strings.Contains(ref, c.marker) {
			// Older verifiers (6.1) print no "Live regs" block; their
			// register-state log shows states such as "R10=fp0".
			c.marker = "R10=fp0"
		}
		if c.marker != "" && !strings.Contains(ref, c.marker) {
			t.Fatalf("%v: BCC Python's output lacks %q: %.500s", c.flag, c.marker, ref)
		}
		for _, inProcess := range []bool{false, true} {
			var buf bytes.Buffer
			b, err := New(Options{Text: src, Debug: c.flag, DebugWriter: &buf, InProcess: inProcess})
			if err != nil {
				t.Fatalf("%v: %v", c.flag, err)
			}
			b.Close()
			got := buf.String()
			if c.marker == "" {
				if strings.TrimSpace(got) != strings.TrimSpace(ref) {
					t.Errorf("%v InProcess=%v: gobcc printed %q, BCC %q", c.flag, inProcess, got, ref)
				}
				continue
			}
			if !strings.Contains(got, c.marker) {
				t.Errorf("%v InProcess=%v: output lacks %q: %.500s", c.flag, inProcess, c.marker, got)
			}
		}
	}
}
