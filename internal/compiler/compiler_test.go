package compiler

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/testutil"
)

func seedProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/kmalloc_callers.c")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCompileBothWays(t *testing.T) {
	testutil.RequireRoot(t)
	for _, isolate := range []bool{true, false} {
		s, err := Compile(context.Background(), Request{Text: seedProgram(t)}, isolate)
		if err != nil {
			t.Fatalf("isolate=%v: %v", isolate, err)
		}
		res := s.Result()
		if len(res.Tables) != 1 || res.Tables[0].Name != "callers" || res.Tables[0].KeySize != 8 {
			t.Fatalf("isolate=%v: tables %+v", isolate, res.Tables)
		}
		if len(res.Functions) != 1 || res.Functions[0].Name != "tracepoint__kmem__kmalloc" || len(res.Functions[0].Insns) == 0 {
			t.Fatalf("isolate=%v: functions %+v", isolate, res.Functions)
		}
		var st unix.Stat_t
		if err := unix.Fstat(res.Tables[0].FD, &st); err != nil {
			t.Fatalf("map fd: %v", err)
		}
		r, err := s.Load(LoadRequest{Name: "tracepoint__kmem__kmalloc", ProgType: 5, LogLevel: 1})
		if err != nil || r.FD < 0 {
			t.Fatalf("isolate=%v: load: %v %+v", isolate, err, r)
		}
		if !strings.Contains(r.Log, "processed") {
			t.Errorf("isolate=%v: verifier log lacks 'processed': %q", isolate, r.Log)
		}
		unix.Close(r.FD)
		s.Close()
		unix.Close(res.Tables[0].FD)
	}
}

func TestCompileErrorCarriesDiagnostics(t *testing.T) {
	testutil.RequireRoot(t)
	for _, isolate := range []bool{true, false} {
		_, err := Compile(context.Background(), Request{Text: "int f(void *ctx) { return x; }\n"}, isolate)
		var ce *Error
		if !errors.As(err, &ce) || !errors.Is(err, ErrCompile) {
			t.Fatalf("isolate=%v: want *Error wrapping ErrCompile, got %v", isolate, err)
		}
		if !strings.Contains(ce.Output, "main.c:1:") || !strings.Contains(ce.Output, "undeclared identifier") {
			t.Errorf("isolate=%v: diagnostics missing: %q", isolate, ce.Output)
		}
	}
}
