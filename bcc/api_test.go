package bcc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/tracefs"
	"github.com/gobcc/gobcc/symbols"
	"github.com/gobcc/gobcc/tracepipe"
)

func TestKernelSymbolsLookupAndKsymOptions(t *testing.T) {
	testutil.RequireRoot(t)
	syms, err := symbols.LoadKernel()
	if err != nil {
		t.Fatal(err)
	}
	addr, err := syms.KsymName("schedule")
	if err != nil {
		t.Fatal(err)
	}
	// The declared type is the package's own, with documented fields.
	var sym symbols.KernelSymbol
	sym, ok := syms.Lookup(addr + 1)
	if !ok || sym.Name != "schedule" || sym.Addr != addr || sym.Offset != 1 || sym.Module != "kernel" {
		t.Errorf("Lookup(schedule+1) = %+v, %v; want schedule at %#x, offset 1, module kernel", sym, ok, addr)
	}
	if _, ok := syms.Lookup(1); ok {
		t.Error("Lookup(1) found a symbol")
	}
	for _, c := range []struct {
		opts []symbols.Options
		want string
	}{
		{nil, "schedule"},
		{[]symbols.Options{{}}, "schedule"},
		{[]symbols.Options{{ShowOffset: true}}, "schedule+0x1"},
		{[]symbols.Options{{ShowModule: true}}, "schedule [kernel]"},
		{[]symbols.Options{{ShowModule: true, ShowOffset: true}}, "schedule+0x1 [kernel]"},
	} {
		if got := syms.Ksym(addr+1, c.opts...); got != c.want {
			t.Errorf("Ksym(schedule+1, %+v) = %q, want %q", c.opts, got, c.want)
		}
	}
	// More than one options value is an error, shown in the string.
	got := syms.Ksym(addr, symbols.Options{}, symbols.Options{ShowOffset: true})
	if !strings.Contains(got, ErrTooManyOptions.Error()) {
		t.Errorf("Ksym with two symbols.Options = %q, want it to say %q", got, ErrTooManyOptions)
	}
}

func TestOneOption(t *testing.T) {
	if o, err := oneOption[symbols.Options](nil); err != nil || o != (symbols.Options{}) {
		t.Errorf("no options: %+v, %v", o, err)
	}
	if o, err := oneOption([]symbols.Options{{ShowModule: true}}); err != nil || !o.ShowModule {
		t.Errorf("one option: %+v, %v", o, err)
	}
	if _, err := oneOption([]symbols.Options{{}, {}}); !errors.Is(err, ErrTooManyOptions) {
		t.Errorf("two options: %v, want ErrTooManyOptions", err)
	}
}

func TestVerifierErrorErrnoIsSyscallErrno(t *testing.T) {
	testutil.RequireRoot(t)
	src := `BPF_HASH(counts, u32, u64);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 key = 1;
    u64 *v = counts.lookup(&key);
    return *v;
}
`
	_, err := New(Options{Text: src})
	var ve *VerifierError
	if !errors.As(err, &ve) {
		t.Fatalf("want *VerifierError, got %T %v", err, err)
	}
	var errno syscall.Errno = ve.Errno
	if errno != syscall.EACCES || !errors.Is(err, syscall.EACCES) {
		t.Errorf("Errno = %v (errors.Is EACCES: %v), want EACCES", errno, errors.Is(err, syscall.EACCES))
	}
}

const loadOnlyProg = `
BPF_ARRAY(hits, u64, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    int k = 0;
    u64 *v = hits.lookup(&k);
    if (v)
        __sync_fetch_and_add(v, 1);
    return 0;
}
`

func TestFunctionVerifiedInsns(t *testing.T) {
	testutil.RequireRoot(t)
	const fn = "tracepoint__syscalls__sys_enter_getpid"
	// Without a verifier log the count comes from the kernel.
	b, err := New(Options{Text: loadOnlyProg, NoAutoAttach: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := b.LoadFunc(fn, Tracepoint)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	fromKernel, err := f.VerifiedInsns()
	if errors.Is(err, ErrNotSupported) {
		testutil.RequireKernel(t, "verified instruction count (Linux 5.16+): %v", err)
	}
	if err != nil || fromKernel <= 0 {
		t.Errorf("VerifiedInsns from the kernel = %d, %v", fromKernel, err)
	}
	b.Close()
	if _, err := f.VerifiedInsns(); !errors.Is(err, ErrClosed) {
		t.Errorf("VerifiedInsns after Close: %v, want ErrClosed", err)
	}

	// With a verifier log, from the log: the same count.
	b, err = New(Options{Text: loadOnlyProg, NoAutoAttach: true, Debug: debugflags.BPF, DebugWriter: &strings.Builder{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f, err = b.LoadFunc(fn, Tracepoint)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Log, "processed ") {
		t.Fatalf("verifier log without a processed count:\n%s", f.Log)
	}
	fromLog, err := f.VerifiedInsns()
	if err != nil || fromLog != fromKernel {
		t.Errorf("VerifiedInsns from the log = %d, %v; the kernel said %d", fromLog, err, fromKernel)
	}
}

// openTracePipeWaiting opens trace_pipe, waiting while another reader (an
// engineer's test, a BCC tool) holds it.
func openTracePipeWaiting(t *testing.T) *tracepipe.Pipe {
	t.Helper()
	giveUp := time.Now().Add(30 * time.Second)
	for {
		p, err := tracepipe.Open()
		if err == nil {
			return p
		}
		if !errors.Is(err, tracepipe.ErrBusy) || time.Now().After(giveUp) {
			t.Fatalf("tracepipe.Open: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOpenTracePipe(t *testing.T) {
	testutil.RequireRoot(t)
	pipe := openTracePipeWaiting(t)
	defer pipe.Close()
	if _, err := tracepipe.Open(); !errors.Is(err, tracepipe.ErrBusy) {
		t.Errorf("second tracepipe.Open: %v, want tracepipe.ErrBusy", err)
	}
	dir, err := tracefs.Dir()
	if err != nil {
		t.Fatal(err)
	}
	marker := fmt.Sprintf("gobcc-api-trace-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(dir, "trace_marker"), []byte(marker), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // hang guard
	defer cancel()
	for {
		ev, err := pipe.ReadFields(ctx)
		if err != nil {
			t.Fatalf("ReadFields before the marker came: %v", err)
		}
		if !strings.Contains(ev.Raw, marker) {
			continue // another tracer's line
		}
		if !ev.Parsed || ev.Message != marker || ev.Function != "tracing_mark_write" || ev.PID <= 0 {
			t.Errorf("marker line parsed as %+v", ev)
		}
		break
	}
	// An ended context ends a read that has nothing to return.
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := pipe.ReadLine(done); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("ReadLine with a cancelled context: %v", err)
	}
	if err := pipe.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pipe.ReadLine(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadLine after Close: %v, want os.ErrClosed", err)
	}
	// Closed, the pipe admits the next reader.
	again := openTracePipeWaiting(t)
	again.Close()
}

func TestParseTraceLine(t *testing.T) {
	ev, ok := tracepipe.ParseLine("           <...>-1234    [001] d..31  5678.901234: bpf_trace_printk: hello world\n")
	if !ok || ev.Task != "<...>" || ev.PID != 1234 || ev.CPU != 1 || ev.Flags != "d..31" ||
		ev.Timestamp != 5678901234*time.Microsecond || ev.Function != "bpf_trace_printk" || ev.Message != "hello world" {
		t.Errorf("tracepipe.ParseLine = %+v, %v", ev, ok)
	}
	ev, ok = tracepipe.ParseLine("not a trace line")
	if ok || ev.Raw != "not a trace line" || ev.Parsed {
		t.Errorf("unparsable line = %+v, %v", ev, ok)
	}
}

func TestParseProgType(t *testing.T) {
	for in, want := range map[string]ProgType{
		"tracepoint": Tracepoint, "TRACEPOINT": Tracepoint, "raw-tracepoint": RawTracepoint,
		"SOCKET_FILTER": SocketFilter, "perf_event": PerfEvent,
	} {
		if got, err := ParseProgType(in); err != nil || got != want {
			t.Errorf("ParseProgType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseProgType("nonsense"); err == nil {
		t.Error("ParseProgType(nonsense) succeeded")
	}
}
