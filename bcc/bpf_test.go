package bcc

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobcc/gobcc/internal/testutil"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustTable returns the named table or ends the test.
func mustTable(tb testing.TB, b *BPF, name string) *Table {
	tb.Helper()
	t, err := b.Table(name)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// triggerKmalloc makes the kernel allocate: opening files and pipes calls
// kmalloc from many places.
func triggerKmalloc(t *testing.T) {
	t.Helper()
	for i := 0; i < 200; i++ {
		f, err := os.Open("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		f.Read(buf)
		f.Close()
	}
}

func TestSeedProgram(t *testing.T) {
	testutil.RequireRoot(t)
	for _, inProcess := range []bool{false, true} {
		b, err := New(Options{Text: readTestdata(t, "kmalloc_callers.c"), InProcess: inProcess})
		if err != nil {
			t.Fatalf("InProcess=%v: %v", inProcess, err)
		}
		if n := b.NumOpenTracepoints(); n != 1 {
			t.Errorf("NumOpenTracepoints = %d, want 1", n)
		}
		triggerKmalloc(t)
		time.Sleep(50 * time.Millisecond)
		callers, err := b.Table("callers")
		if err != nil {
			t.Fatal(err)
		}
		items, err := callers.Items()
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			t.Fatalf("InProcess=%v: no kmalloc callers recorded", inProcess)
		}
		known := 0
		var total uint64
		for _, it := range items {
			name := b.Ksym(it.Key.Uint64())
			total += it.Value.Uint64()
			if name != "[unknown]" && name != "" {
				known++
			}
		}
		if known != len(items) {
			t.Errorf("InProcess=%v: %d of %d call sites resolve to kernel functions", inProcess, known, len(items))
		}
		if total == 0 {
			t.Errorf("counts are all zero")
		}
		t.Logf("InProcess=%v: %d call sites, %d calls; e.g. %s", inProcess, len(items), total, b.Ksym(items[0].Key.Uint64()))
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}

func TestCompileErrorHasLineAndColumn(t *testing.T) {
	testutil.RequireRoot(t)
	src := "BPF_HASH(counts, u32, u64);\n\nint f(void *ctx) {\n    return undefined_thing;\n}\n"
	_, err := New(Options{Text: src, Name: "bad.c"})
	var ce *CompileError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCompile) {
		t.Fatalf("want *CompileError wrapping ErrCompile, got %T %v", err, err)
	}
	errs := ce.Errors()
	if len(errs) == 0 {
		t.Fatalf("no diagnostics parsed from %q", ce.Output)
	}
	d := errs[0]
	if d.File != "bad.c" || d.Line != 4 || d.Column != 12 || !strings.Contains(d.Message, "undefined_thing") {
		t.Errorf("diagnostic = %+v", d)
	}
	if !strings.Contains(d.Source, "return undefined_thing;") {
		t.Errorf("diagnostic source line = %q", d.Source)
	}
	if !strings.Contains(err.Error(), "bad.c:4:12: error:") {
		t.Errorf("error text lacks location: %v", err)
	}
}

// An error found in libbcc's second pass (after it rewrote the program)
// still names the user's line.
func TestCompileErrorAfterRewriteHasUserLine(t *testing.T) {
	testutil.RequireRoot(t)
	_, err := New(Options{SrcFile: "../testdata/cli_syntax.c"})
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Errors()) == 0 {
		t.Fatalf("want a compile error, got %v", err)
	}
	if d := ce.Errors()[0]; d.Line != 6 || d.Column != 22 {
		t.Errorf("diagnostic at %d:%d, want 6:22 (%s)", d.Line, d.Column, d)
	}
	if !strings.Contains(ce.Output, "cli_syntax.c:6:22: error") {
		t.Errorf("output not relocated: %s", ce.Output)
	}
}

func TestCrashingProgramsAreErrors(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tc := range []struct{ file, want string }{
		{"crash_syntax_before_table.c", "SIGSEGV"},
		{"crash_return_address.c", "SIGSEGV"},
		{"crash_signed_div.c", "LLVM"},
		{"crash_int128_div.c", "__udivti3"},
	} {
		_, err := New(Options{SrcFile: "../testdata/" + tc.file})
		if err == nil {
			t.Errorf("%s: compiled", tc.file)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error lacks %q: %v", tc.file, tc.want, err)
		}
		t.Logf("%s: %.300v", tc.file, err)
	}
}

func TestVerifierRejection(t *testing.T) {
	testutil.RequireRoot(t)
	src := `BPF_HASH(counts, u32, u64);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 key = 1;
    u64 *v = counts.lookup(&key);
    return *v;   // no NULL check
}
`
	_, err := New(Options{Text: src, Name: "reject.c"})
	var ve *VerifierError
	if !errors.As(err, &ve) || !errors.Is(err, ErrVerifier) {
		t.Fatalf("want *VerifierError, got %T %v", err, err)
	}
	if ve.Function != "tracepoint__syscalls__sys_enter_getpid" || ve.ProgType != Tracepoint {
		t.Errorf("function/type = %s/%s", ve.Function, ve.ProgType)
	}
	if !strings.Contains(ve.Log, "invalid mem access 'map_value_or_null'") {
		t.Errorf("log lacks the reason: %s", ve.Log)
	}
	// Newer kernels (6.18 here) end the log's source lines with "@ file:line",
	// which gobcc maps to the program's name; older ones (6.1) print the
	// source line alone.
	want := "; return *v;   // no NULL check"
	if regexp.MustCompile(`(?m)^; .* @ \S+:\d+$`).MatchString(ve.Log) {
		want += " @ reject.c:5"
	}
	if !strings.Contains(ve.Log, want) {
		t.Errorf("log lacks %q:\n%s", want, ve.Log)
	}
	if !strings.Contains(ve.Hint, "NULL") {
		t.Errorf("hint = %q", ve.Hint)
	}
}
