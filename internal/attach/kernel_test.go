package attach

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// loadMinimal loads "r0 = 0; exit" as progType, closed at the test's end.
func loadMinimal(t *testing.T, progType uint32) int {
	t.Helper()
	insns := []byte{
		0xb7, 0, 0, 0, 0, 0, 0, 0, // mov64 r0, 0
		0x95, 0, 0, 0, 0, 0, 0, 0, // exit
	}
	fd, _, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{Type: progType, Insns: insns, License: "GPL", Name: "attach_test"})
	if err != nil {
		t.Fatalf("load program type %d: %v", progType, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// The openers against the kernel, through a Registry: each holds the
// descriptors it says, missing tracepoints wrap ErrTracepointNotFound,
// and Close leaves no perf event open.
func TestOpenersOnKernel(t *testing.T) {
	testutil.RequireRoot(t)
	const (
		progTracepoint    = 5
		progPerfEvent     = 7
		progRawTracepoint = 17
	)
	perfBefore := testutil.CountFDsOfKind("[perf_event]")
	var r Registry
	defer r.Close()
	attachFD := func(kind Kind, target string, progType uint32, open Opener) (*Link, error) {
		fd := loadMinimal(t, progType)
		return r.Attach(Request{Kind: kind, Target: target, Fn: "f", What: target, Dup: DupTarget,
			Program: func() (int, error) { return fd, nil }, Open: open})
	}
	tp, err := attachFD(Tracepoint, "syscalls:sys_enter_getppid", progTracepoint, TracepointOpener("syscalls", "sys_enter_getppid"))
	if err != nil {
		t.Fatal(err)
	}
	if tp.FD() < 0 {
		t.Errorf("tracepoint FD = %d", tp.FD())
	}
	if _, err := attachFD(Tracepoint, "syscalls:nope", progTracepoint, TracepointOpener("syscalls", "nope")); !errors.Is(err, tracefs.ErrTracepointNotFound) {
		t.Errorf("missing tracepoint: %v", err)
	}
	if _, err := attachFD(RawTracepoint, "sys_enter", progRawTracepoint, RawTracepointOpener("sys_enter")); err != nil {
		t.Fatal(err)
	}
	if _, err := attachFD(RawTracepoint, "gobcc_nope", progRawTracepoint, RawTracepointOpener("gobcc_nope")); !errors.Is(err, tracefs.ErrTracepointNotFound) {
		t.Errorf("missing raw tracepoint: %v", err)
	}
	attr := &perfevent.Attr{Type: perfevent.TypeSoftware, Config: 0, SampleFreq: 10}
	open, err := PerfEventOpenerFor(attr, 0, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attachFD(PerfEvent, PerfEventTarget(attr.Type, attr.Config), progPerfEvent, open); err != nil {
		t.Fatal(err)
	}
	cpus, err := bpfsys.OnlineCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Descriptors(PerfEvent); got != len(cpus) {
		t.Errorf("perf event descriptors %d, want one per CPU (%d)", got, len(cpus))
	}
	if got := testutil.CountFDsOfKind("[perf_event]") - perfBefore; got != 1+len(cpus) {
		t.Errorf("%d perf events open, want %d", got, 1+len(cpus))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := testutil.CountFDsOfKind("[perf_event]"); got != perfBefore {
		t.Errorf("perf events after Close: %d, want %d", got, perfBefore)
	}
}

// Without kprobes (this machine's kernel), the kprobe opener and the
// regexp form fail with ErrNotSupported naming CONFIG_KPROBES; with them,
// a kprobe attaches.
func TestKprobeOpener(t *testing.T) {
	testutil.RequireRoot(t)
	if err := KprobeSupport(); err != nil {
		for _, err := range []error{err, second(KprobeOpener("vfs_read", false, 0, 0)), second(KprobeReTargets("vfs_rea.*"))} {
			if !errors.Is(err, bpfsys.ErrNotSupported) || !strings.Contains(err.Error(), "CONFIG_KPROBES") {
				t.Errorf("want ErrNotSupported naming CONFIG_KPROBES, got %v", err)
			}
		}
		return
	}
	var r Registry
	defer r.Close()
	open, err := KprobeOpener("vfs_read", false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := loadMinimal(t, 2) // BPF_PROG_TYPE_KPROBE
	before := OpenProbes()
	if _, err := r.Attach(Request{Kind: Kprobe, Target: "vfs_read", Fn: "f", What: "kprobe vfs_read",
		Program: func() (int, error) { return fd, nil }, Open: open}); err != nil {
		t.Fatal(err)
	}
	if OpenProbes() != before+1 {
		t.Errorf("OpenProbes %d -> %d", before, OpenProbes())
	}
}

func second[T any](_ T, err error) error { return err }
