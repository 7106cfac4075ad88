package main

import (
	"fmt"
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
