package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestNormalizeArgsJoinsDebugValue(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"run", "--debug", "bpf", "prog.c"}, []string{"run", "--debug=bpf", "prog.c"}},
		{[]string{"run", "--debug", "bpf,source", "p.c"}, []string{"run", "--debug=bpf,source", "p.c"}},
		{[]string{"run", "--debug", "prog.c"}, []string{"run", "--debug", "prog.c"}},
		{[]string{"run", "--debug", "--duration", "1s"}, []string{"run", "--debug", "--duration", "1s"}},
		{[]string{"run", "--", "--debug", "bpf"}, []string{"run", "--", "--debug", "bpf"}},
	} {
		if got := normalizeArgs(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// histogramCases are slot counts exercising the narrow and wide layouts,
// '+'-free bars, and leading zeros.
var histogramCases = [][]uint64{
	{0, 0, 0, 5, 17, 0, 3, 1},
	{0, 1},
	{0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 1000000, 3},
	append(make([]uint64, 40), 7, 0, 9),
}

func pythonList(vals []uint64) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// TestHistogramsMatchBCC prints the same slots with BCC Python's
// _print_log2_hist and _print_linear_hist and with gobcc.
func TestHistogramsMatchBCC(t *testing.T) {
	for _, strip := range []bool{false, true} {
		for _, vals := range histogramCases {
			py := fmt.Sprintf("from bcc.table import _print_log2_hist, _print_linear_hist\n"+
				"_print_log2_hist(%[1]s, 'usecs', %[2]s)\n"+
				"_print_linear_hist(%[1]s, 'msecs', %[2]s)\n", pythonList(vals), map[bool]string{false: "False", true: "True"}[strip])
			out, err := exec.Command("/usr/bin/python3", "-c", py).Output()
			if err != nil {
				t.Skipf("BCC Python unavailable: %v", err)
			}
			var got bytes.Buffer
			writeLog2Hist(&got, vals, "usecs", strip)
			writeLinearHist(&got, vals, "msecs", strip)
			if got.String() != string(out) {
				t.Errorf("slots %v strip %v:\ngobcc:\n%s\nBCC:\n%s", vals, strip, got.String(), out)
			}
		}
	}
}

func TestExitCodeOfUsageError(t *testing.T) {
	if got := exitCode(usageErrorf("bad %s", "flag")); got != exitUsage {
		t.Errorf("exitCode(usage) = %d", got)
	}
	if got := exitCode(&silentError{code: exitVerifier}); got != exitVerifier {
		t.Errorf("exitCode(silent 4) = %d", got)
	}
	if got := exitCode(fmt.Errorf("x")); got != exitRuntime {
		t.Errorf("exitCode(other) = %d", got)
	}
}

func BenchmarkWriteLog2Hist(b *testing.B) {
	vals := make([]uint64, log2IndexMax)
	for i := 1; i < 30; i++ {
		vals[i] = uint64(i * i * 1000)
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		writeLog2Hist(&buf, vals, "value", false)
	}
}
