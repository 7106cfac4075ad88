package bcc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobcc/gobcc/cflags"
	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/tracepipe"
)

const getpidValueProg = `
BPF_ARRAY(out, u64, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if (bpf_get_current_pid_tgid() >> 32 != TEST_PID)
        return 0;
    int k = 0;
    u64 v = MAGIC;
    out.update(&k, &v);
    return 0;
}
`

func TestCFlagsDefineReachesProgram(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: getpidValueProg, CFlags: []string{
		cflags.Define("TEST_PID", os.Getpid()),
		cflags.Define("MAGIC", 0x5eed1234),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	syscall.Getpid()
	out, err := b.Table("out")
	if err != nil {
		t.Fatal(err)
	}
	v, err := out.Lookup(0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Uint64() != 0x5eed1234 {
		t.Errorf("out[0] = %#x, want 0x5eed1234", v.Uint64())
	}
	// Without the define the program does not compile.
	_, err = New(Options{Text: getpidValueProg, CFlags: []string{cflags.Define("TEST_PID", 1)}})
	if !errors.Is(err, ErrCompile) || !strings.Contains(err.Error(), "MAGIC") {
		t.Errorf("missing -DMAGIC: %v", err)
	}
}

func TestBadCFlagIsRejectedBeforeCompiling(t *testing.T) {
	_, err := New(Options{Text: getpidValueProg, CFlags: []string{"prog.c"}})
	if !errors.Is(err, cflags.ErrNotAFlag) {
		t.Errorf("want cflags.ErrNotAFlag, got %v", err)
	}
}

func TestTraceFieldsFromBPF(t *testing.T) {
	testutil.RequireRoot(t)
	marker := fmt.Sprintf("gobcc-%d", os.Getpid())
	src := `
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    if (bpf_get_current_pid_tgid() >> 32 != TEST_PID)
        return 0;
    bpf_trace_printk("` + marker + ` %d\n", 42);
    return 0;
}
`
	b, err := New(Options{Text: src, CFlags: []string{cflags.Define("TEST_PID", os.Getpid())}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Open the pipe before the event so that the line is not missed.
	if _, err := b.TraceFields(ctxDone()); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	syscall.Getpid()
	for {
		ev, err := b.TraceFields(ctx)
		if err != nil {
			t.Fatalf("no trace line with %q: %v", marker, err)
		}
		if !strings.Contains(ev.Message, marker) {
			continue
		}
		if !ev.Parsed || ev.Message != marker+" 42" || ev.PID != syscall.Gettid() && ev.PID <= 0 {
			t.Errorf("event = %+v", ev)
		}
		if ev.Function != "bpf_trace_printk" || ev.CPU < 0 || ev.Timestamp <= 0 {
			t.Errorf("event fields = %+v", ev)
		}
		return
	}
}

// ctxDone returns an already cancelled context: a read with it returns at
// once, after opening the pipe.
func ctxDone() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestWrongTableNameAndType(t *testing.T) {
	testutil.RequireRoot(t)
	b, err := New(Options{Text: getpidValueProg, CFlags: []string{cflags.Define("TEST_PID", 1), cflags.Define("MAGIC", 1)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Table("nope"); !errors.Is(err, ErrTableNotFound) || !strings.Contains(err.Error(), "out") {
		t.Errorf("Table(nope) = %v", err)
	}
	out, _ := b.Table("out")
	if _, err := out.Lookup("not a number"); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("Lookup(string) on a u32-keyed array = %v", err)
	}
	if _, err := out.Lookup(5); !errors.Is(err, ErrKeyNotExist) {
		t.Errorf("Lookup(5) on a 1-entry array = %v", err)
	}
	if _, err := TableOf[uint32, uint32](out); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("TableOf[uint32,uint32] on u64 values = %v", err)
	}
	typed, err := TableOf[uint32, uint64](out)
	if err != nil {
		t.Fatal(err)
	}
	if err := typed.Update(0, 77); err != nil {
		t.Fatal(err)
	}
	if v, err := typed.Lookup(0); err != nil || v != 77 {
		t.Errorf("typed Lookup = %v, %v", v, err)
	}
	if _, err := b.LoadFunc("nope", Tracepoint); !errors.Is(err, ErrFunctionNotFound) {
		t.Errorf("LoadFunc(nope) = %v", err)
	}
	b.Close()
	if _, err := out.Items(); !errors.Is(err, ErrClosed) {
		t.Errorf("Items after Close = %v", err)
	}
}

func TestMissingTracepoint(t *testing.T) {
	testutil.RequireRoot(t)
	_, err := New(Options{Text: "TRACEPOINT_PROBE(kmem, kmallocc) { return 0; }\n"})
	if err == nil {
		t.Fatal("compiled and attached a missing tracepoint")
	}
	if !errors.Is(err, ErrTracepointNotFound) && !errors.Is(err, ErrCompile) {
		t.Errorf("want ErrTracepointNotFound or a compile error, got %v", err)
	}
	t.Log(err)
}

func TestKprobesNotSupportedHere(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := kprobeSupport(); err == nil {
		t.Skip("this kernel has kprobes")
	}
	_, err := New(Options{Text: "int kprobe__vfs_read(void *ctx) { return 0; }\n"})
	if !errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "CONFIG_KPROBES") {
		t.Errorf("want ErrNotSupported naming CONFIG_KPROBES, got %v", err)
	}
}

func TestRawTracepoint(t *testing.T) {
	testutil.RequireRoot(t)
	src := `
BPF_ARRAY(hits, u64, 1);
RAW_TRACEPOINT_PROBE(sys_enter) {
    int k = 0;
    u64 *v = hits.lookup(&k);
    if (v) __sync_fetch_and_add(v, 1);
    return 0;
}
`
	b, err := New(Options{Text: src})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.NumOpenTracepoints() != 1 {
		t.Errorf("NumOpenTracepoints = %d", b.NumOpenTracepoints())
	}
	syscall.Getpid()
	hits, _ := b.Table("hits")
	v, err := hits.Lookup(0)
	if err != nil || v.Uint64() == 0 {
		t.Errorf("hits = %v, %v", v, err)
	}
	if err := b.DetachRawTracepoint("sys_enter"); err != nil {
		t.Fatal(err)
	}
	if err := b.DetachRawTracepoint("sys_enter"); !errors.Is(err, ErrNotAttached) {
		t.Errorf("second detach = %v", err)
	}
}

// A binary without libbcc starts and says what is missing, in both modes.
func TestMissingLibbcc(t *testing.T) {
	testutil.RequireRoot(t)
	t.Setenv("GOBCC_LIBBCC", "/nonexistent/libbcc.so.0")
	// The in-process library is opened once per process, so only the helper
	// path (a fresh process that sees the variable) can be tested here.
	_, err := New(Options{Text: getpidValueProg})
	if !errors.Is(err, ErrLibbccNotFound) || !strings.Contains(err.Error(), "/nonexistent/libbcc.so.0") {
		t.Errorf("want ErrLibbccNotFound naming the file, got %v", err)
	}
}

// A verifier log larger than the first buffer (64 KiB) comes back whole:
// the buffer grows on ENOSPC.
func TestVerifierLogGrows(t *testing.T) {
	testutil.RequireRoot(t)
	// 128 lookups: 6.1's register-state log is terser than 6.18's (55 KB
	// for 64 lookups), and the log must outgrow the first 64 KiB buffer on
	// both.
	src := `
BPF_ARRAY(counts, u64, 128);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    #pragma unroll
    for (int i = 0; i < 128; i++) {
        int k = i;
        u64 *v = counts.lookup(&k);
        if (v) __sync_fetch_and_add(v, 1);
    }
    return 0;
}
`
	b, err := New(Options{Text: src, Debug: debugflags.BPFRegisterState, DebugWriter: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f, err := b.LoadFunc("tracepoint__syscalls__sys_enter_getpid", Tracepoint)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Log) <= 64*1024 || !strings.Contains(f.Log, "processed ") {
		t.Errorf("log is %d bytes (want > 64 KiB, ending with the summary)", len(f.Log))
	}
}

func TestTraceBufferSize(t *testing.T) {
	testutil.RequireRoot(t)
	before, _, err := tracepipe.BufferSize()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tracepipe.SetBufferSize(before) })
	if err := tracepipe.SetBufferSize(before + 64); err != nil {
		t.Fatal(err)
	}
	got, _, err := tracepipe.BufferSize()
	if err != nil || got < before+64 {
		t.Errorf("after tracepipe.SetBufferSize(%d): %d, %v", before+64, got, err)
	}
}
