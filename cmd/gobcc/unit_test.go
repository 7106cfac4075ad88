package main

import (
	"fmt"
	"reflect"
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
