//go:build linux

package perfevent

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/testutil"
	"github.com/gobcc/gobcc/internal/tracefs"
)

func TestAttrToUnix(t *testing.T) {
	a := Attr{Type: TypeSoftware, Config: 3, SampleFreq: 99, Flags: FlagInherit | FlagExcludeKernel, PreciseIP: 2, WakeupEvents: 4, Config1: 5, Config2: 6}
	u, err := a.toUnix()
	if err != nil {
		t.Fatal(err)
	}
	if u.Type != TypeSoftware || u.Config != 3 || u.Sample != 99 || u.Wakeup != 4 || u.Ext1 != 5 || u.Ext2 != 6 {
		t.Errorf("fields: %+v", u)
	}
	want := uint64(unix.PerfBitInherit | unix.PerfBitExcludeKernel | unix.PerfBitFreq | 2<<preciseIPShift)
	if u.Bits != want {
		t.Errorf("Bits = %#x, want %#x", u.Bits, want)
	}
	if u.Size == 0 {
		t.Error("Size not set")
	}
	u, err = (&Attr{SamplePeriod: 7}).toUnix()
	if err != nil || u.Sample != 7 || u.Bits&unix.PerfBitFreq != 0 {
		t.Errorf("period: %+v, %v", u, err)
	}
	for name, bad := range map[string]Attr{
		"period and freq": {SamplePeriod: 1, SampleFreq: 1},
		"freq flag":       {Flags: flagFreq},
		"precise_ip":      {PreciseIP: 4},
	} {
		if _, err := bad.toUnix(); !errors.Is(err, ErrInvalidAttr) {
			t.Errorf("%s: %v, want ErrInvalidAttr", name, err)
		}
	}
}

func TestPMUFiles(t *testing.T) {
	dir := t.TempDir()
	old := pmuDir
	pmuDir = dir
	t.Cleanup(func() { pmuDir = old })
	if err := os.MkdirAll(filepath.Join(dir, "uprobe", "format"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "uprobe", "type"), []byte("9\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "uprobe", "format", "retprobe"), []byte("config:3\n"), 0o644)
	if typ, err := PMUType("uprobe"); err != nil || typ != 9 {
		t.Errorf("PMUType(uprobe) = %d, %v", typ, err)
	}
	if bit := RetprobeBit("uprobe"); bit != 1<<3 {
		t.Errorf("RetprobeBit = %#x", bit)
	}
	if _, err := PMUType("kprobe"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing PMU: %v", err)
	}
	if bit := RetprobeBit("kprobe"); bit != 1 {
		t.Errorf("default RetprobeBit = %#x", bit)
	}
}

// loadProgram loads "r0 = 0; exit" as progType.
func loadProgram(t *testing.T, progType uint32) int {
	t.Helper()
	insns := []byte{0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}
	fd, log, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{Type: progType, Insns: insns, License: "GPL", Name: "perfevent_test"})
	if err != nil {
		t.Fatalf("load: %v\n%s", err, log)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestEventLifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	prog := loadProgram(t, unix.BPF_PROG_TYPE_PERF_EVENT)
	ev, err := Open(&Attr{Type: TypeSoftware, Config: unix.PERF_COUNT_SW_CPU_CLOCK, SamplePeriod: 1 << 40}, -1, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	fd := ev.FD()
	if err := ev.SetBPF(prog); err != nil {
		t.Fatal(err)
	}
	if link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err != nil || link != "anon_inode:[perf_event]" {
		t.Errorf("fd %d is %q, %v", fd, link, err)
	}
	if err := ev.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Errorf("fd %d open after Close", fd)
	}
	if ev.FD() != -1 || ev.Close() != nil {
		t.Error("second Close not a no-op")
	}
	if err := ev.SetBPF(prog); !errors.Is(err, unix.EBADF) {
		t.Errorf("SetBPF after Close: %v", err)
	}
}

func TestOpenTracepointRunsProgram(t *testing.T) {
	testutil.RequireRoot(t)
	id, err := tracefs.TracepointID("syscalls", "sys_enter_getppid")
	if err != nil {
		testutil.RequireKernel(t, "tracepoint: %v", err)
		return
	}
	prog := loadProgram(t, unix.BPF_PROG_TYPE_TRACEPOINT)
	ev, err := OpenTracepoint(id, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := ev.SetBPF(prog); err != nil {
		t.Fatal(err)
	}
	// A kprobe program on a tracepoint is refused: SetBPF reports it.
	other := loadProgram(t, unix.BPF_PROG_TYPE_SOCKET_FILTER)
	ev2, err := OpenTracepoint(id, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ev2.Close()
	if err := ev2.SetBPF(other); err == nil {
		t.Error("socket filter program accepted on a tracepoint")
	}
}

func TestOpenProbeBadTarget(t *testing.T) {
	testutil.RequireRoot(t)
	pmu, err := PMUType("uprobe")
	if err != nil {
		testutil.RequireKernel(t, "no uprobe PMU: %v", err)
		return
	}
	if _, err := OpenProbe(pmu, "/nonexistent/binary", 0, 0, -1, 0); err == nil {
		t.Error("uprobe on a missing file opened")
	}
	if _, err := OpenProbe(pmu, "bad\x00path", 0, 0, -1, 0); err == nil {
		t.Error("target with NUL accepted")
	}
}
