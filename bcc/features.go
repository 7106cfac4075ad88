package bcc

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/tracefs"
	"github.com/gobcc/gobcc/internal/usym"
)

// Feature is one attach mechanism and whether the running kernel allows it,
// as ProbeFeatures reports it.
type Feature struct {
	// Name is the mechanism: "BTF", "kprobes", "uprobes", "tracepoints",
	// "raw tracepoints", "fentry/kfunc", "LSM", "perf events", "XDP",
	// "batch map ops", "ring buffer".
	Name string
	// Supported reports whether the kernel allowed a minimal program or
	// map of that kind to load and attach (for tracepoints, whether
	// tracefs lists them; for kprobes offered through tracefs only,
	// whether kprobe_events exists).
	Supported bool
	// Detail says how it was found out or why it is refused.
	Detail string
}

// minimalProg is "r0 = 0; exit": what every feature probe loads.
var minimalProg = []byte{
	0xb7, 0, 0, 0, 0, 0, 0, 0, // mov64 r0, 0
	0x95, 0, 0, 0, 0, 0, 0, 0, // exit
}

// The Support* answers are computed once per process. Kernel features do not
// change while a process runs, and each probe loads a program and reads the
// kernel's BTF (tens of milliseconds); cilium/ebpf caches its feature probes
// the same way.
var (
	kfuncOnce, lsmOnce, rawTPOnce sync.Once
	kfuncErr, lsmErr, rawTPErr    error
)

// SupportKfunc reports whether the kernel loads and attaches fentry/fexit
// programs (BCC's support_kfunc). Unlike BCC, which only looks for a kernel
// symbol, it loads and attaches a minimal program, so it answers false on a
// kernel under lockdown, which refuses them.
func SupportKfunc() bool { return kfuncSupport() == nil }

// SupportLSM reports whether the kernel loads and attaches BPF LSM programs
// (BCC's support_lsm), by trying a minimal one.
func SupportLSM() bool { return lsmSupport() == nil }

// SupportRawTracepoint reports whether the kernel loads and attaches raw
// tracepoint programs (BCC's support_raw_tracepoint).
func SupportRawTracepoint() bool { return rawTracepointSupport() == nil }

func kfuncSupport() error {
	kfuncOnce.Do(func() {
		kfuncErr = probeBTFProgram(Tracing, AttachTraceFentry, "bpf_fentry_test1", "fentry/kfunc")
	})
	return kfuncErr
}

func lsmSupport() error {
	lsmOnce.Do(func() {
		lsmErr = probeBTFProgram(LSM, AttachLSMMac, "bpf_lsm_file_open", "LSM")
	})
	return lsmErr
}

func rawTracepointSupport() error {
	rawTPOnce.Do(func() {
		rawTPErr = withMinimalProgram(RawTracepoint, "raw tracepoint", func(progFD int) error {
			// sched_process_free is frequent enough to exist everywhere
			// and the program does nothing.
			lfd, err := bpfsys.RawTracepointOpen("sched_process_free", progFD)
			if err != nil {
				return fmt.Errorf("%w: raw tracepoint attach refused: %w", ErrNotSupported, err)
			}
			return unix.Close(lfd)
		})
	})
	return rawTPErr
}

// probeBTFProgram loads a do-nothing program of progType attached to the
// vmlinux BTF function target and attaches it for a moment.
func probeBTFProgram(progType ProgType, attachType AttachType, target, what string) error {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return fmt.Errorf("%w: %s needs kernel BTF (/sys/kernel/btf/vmlinux): %w", ErrNotSupported, what, err)
	}
	var fn *btf.Func
	if err := spec.TypeByName(target, &fn); err != nil {
		return fmt.Errorf("%w: %s: kernel BTF has no function %s: %w", ErrNotSupported, what, target, err)
	}
	id, err := spec.TypeID(fn)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotSupported, what, err)
	}
	fd, log, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{
		Type: uint32(progType), Insns: minimalProg, License: "GPL", Name: "gobcc_probe",
		ExpectedAttachType: uint32(attachType), AttachBTFID: uint32(id),
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) && strings.TrimSpace(log) == "" {
			return fmt.Errorf("%w: %s program refused (EPERM, no verifier log): %s", ErrNotSupported, what, tracingRefusedReason())
		}
		return fmt.Errorf("%w: %s program refused: %w: %s", ErrNotSupported, what, err, strings.TrimSpace(log))
	}
	defer unix.Close(fd)
	lfd, err := bpfsys.RawTracepointOpen("", fd)
	if err != nil {
		return fmt.Errorf("%w: %s attach refused: %w", ErrNotSupported, what, err)
	}
	unix.Close(lfd)
	return nil
}

func uprobeSupport() error {
	if _, err := pmuType("uprobe"); err == nil {
		return nil
	}
	return fmt.Errorf("%w: this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe: CONFIG_UPROBE_EVENTS not set, or Linux < 4.17)", ErrNotSupported)
}

func tracepointSupport() error {
	dir, err := tracefs.Dir()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	if _, err := os.Stat(dir + "/events"); err != nil {
		return fmt.Errorf("%w: no tracefs events directory: %w", ErrNotSupported, err)
	}
	if !tracefs.TracepointExists("sched", "sched_process_exec") {
		return fmt.Errorf("%w: tracefs lists no sched:sched_process_exec", ErrNotSupported)
	}
	return nil
}

// perfEventSupport opens a software cpu-clock event on CPU 0 and runs a
// minimal perf_event program on it.
func perfEventSupport() error {
	return withMinimalProgram(PerfEvent, "perf_event", func(progFD int) error {
		attr := unix.PerfEventAttr{
			Type:   unix.PERF_TYPE_SOFTWARE,
			Config: unix.PERF_COUNT_SW_CPU_CLOCK,
			Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
			Sample: 1 << 62, // a period that never elapses: nothing runs
			Bits:   unix.PerfBitDisabled,
		}
		pfd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("%w: perf_event_open(cpu-clock): %w", ErrNotSupported, err)
		}
		defer unix.Close(pfd)
		if err := unix.IoctlSetInt(pfd, unix.PERF_EVENT_IOC_SET_BPF, progFD); err != nil {
			return fmt.Errorf("%w: PERF_EVENT_IOC_SET_BPF: %w", ErrNotSupported, err)
		}
		return nil
	})
}

func xdpSupport() error {
	// XDP_PASS is 2.
	prog := []byte{0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}
	fd, _, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{Type: uint32(XDP), Insns: prog, License: "GPL", Name: "gobcc_probe"})
	if err != nil {
		return fmt.Errorf("%w: XDP program refused: %w", ErrNotSupported, err)
	}
	unix.Close(fd)
	return nil
}

// kprobeAttachSupport is kprobeSupport, and where the kprobe PMU exists,
// a minimal program attached for a moment to a kprobe on vfs_read.
func kprobeAttachSupport() (string, error) {
	pmu, err := kprobeSupport()
	if err != nil {
		return "", err
	}
	if pmu < 0 {
		return "tracefs kprobe_events present (no kprobe PMU)", nil
	}
	err = withMinimalProgram(Kprobe, "kprobe", func(progFD int) error {
		fd, err := openProbePMU(pmu, "vfs_read", 0, 0, -1, 0, progFD)
		if err != nil {
			return fmt.Errorf("%w: attaching a kprobe to vfs_read: %w", ErrNotSupported, err)
		}
		return unix.Close(fd)
	})
	return "minimal program attached to a kprobe on vfs_read", err
}

// uprobeAttachSupport is uprobeSupport, and a minimal program attached for
// a moment to a uprobe on this executable's entry point (which has run
// already, so the probe never fires).
func uprobeAttachSupport() (string, error) {
	if err := uprobeSupport(); err != nil {
		return "", err
	}
	pmu, err := pmuType("uprobe")
	if err != nil {
		return "", fmt.Errorf("%w: uprobe PMU: %w", ErrNotSupported, err)
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding this executable to probe: %w", err)
	}
	ef, err := elf.Open(self)
	if err != nil {
		return "", fmt.Errorf("reading this executable to probe: %w", err)
	}
	entry := ef.Entry
	ef.Close()
	off, err := usym.ResolveAddress(self, entry)
	if err != nil {
		return "", fmt.Errorf("this executable's entry point: %w", err)
	}
	err = withMinimalProgram(Kprobe, "uprobe", func(progFD int) error {
		fd, err := openProbePMU(pmu, self, off, 0, -1, 0, progFD)
		if err != nil {
			return fmt.Errorf("%w: attaching a uprobe to %s: %w", ErrNotSupported, self, err)
		}
		return unix.Close(fd)
	})
	return "minimal program attached to a uprobe on this executable", err
}

// withMinimalProgram loads "r0 = 0; exit" as progType and passes its fd
// to attach, closing it afterwards.
func withMinimalProgram(progType ProgType, what string, attach func(progFD int) error) error {
	fd, _, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{Type: uint32(progType), Insns: minimalProg, License: "GPL", Name: "gobcc_probe"})
	if err != nil {
		return fmt.Errorf("%w: %s program refused: %w", ErrNotSupported, what, err)
	}
	defer unix.Close(fd)
	return attach(fd)
}

// btfSupport loads the kernel's BTF (what fentry, LSM and CO-RE need) and
// finds task_struct in it.
func btfSupport() (string, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return "", fmt.Errorf("%w: kernel BTF (/sys/kernel/btf/vmlinux) unusable: %w", ErrNotSupported, err)
	}
	var ts *btf.Struct
	if err := spec.TypeByName("task_struct", &ts); err != nil {
		return "", fmt.Errorf("%w: kernel BTF has no task_struct: %w", ErrNotSupported, err)
	}
	return fmt.Sprintf("kernel BTF loaded (task_struct is %d bytes)", ts.Size), nil
}

// batchSupport tries a batch lookup on a small hash map (Linux 5.6+):
// without it, table reads take one lookup per key.
func batchSupport() error {
	if err := bpfsys.BatchSupported(uint32(MapHash)); err != nil {
		if errors.Is(err, bpfsys.ErrNotSupported) {
			return fmt.Errorf("%w: batch map operations: %w", ErrNotSupported, err)
		}
		return fmt.Errorf("probing batch map operations: %w", err)
	}
	return nil
}

// ringbufSupport creates a one-page BPF ring buffer (Linux 5.8+).
func ringbufSupport() error {
	fd, err := bpfsys.MapCreate(uint32(MapRingbuf), 0, 0, uint32(os.Getpagesize()), 0, "gobcc_probe")
	if err != nil {
		return fmt.Errorf("%w: creating a BPF ring buffer: %w", ErrNotSupported, err)
	}
	unix.Close(fd)
	return nil
}

// ProbeFeatures reports which attach mechanisms and map features the
// running kernel allows, for `gobcc doctor`. Each entry that is not
// supported carries the reason; programs and maps are created and
// attached for a moment, so that a kernel under lockdown reports fentry
// and LSM refused. It needs the privileges BPF needs (BTF excepted).
func ProbeFeatures() []Feature {
	fixed := func(ok string, check func() error) func() (string, error) {
		return func() (string, error) { return ok, check() }
	}
	checks := []struct {
		name  string
		check func() (string, error)
	}{
		{"BTF", btfSupport},
		{"kprobes", kprobeAttachSupport},
		{"uprobes", uprobeAttachSupport},
		{"tracepoints", fixed("tracefs events present", tracepointSupport)},
		{"raw tracepoints", fixed("minimal raw tracepoint program loaded and attached", rawTracepointSupport)},
		{"fentry/kfunc", fixed("minimal fentry program loaded and attached to bpf_fentry_test1", kfuncSupport)},
		{"LSM", fixed("minimal LSM program loaded and attached to file_open", lsmSupport)},
		{"perf events", fixed("cpu-clock perf event opened with a perf_event program", perfEventSupport)},
		{"XDP", fixed("minimal XDP program loaded", xdpSupport)},
		{"batch map ops", fixed("batch lookup on a hash map worked", batchSupport)},
		{"ring buffer", fixed("created a BPF ring buffer map", ringbufSupport)},
	}
	out := make([]Feature, 0, len(checks))
	for _, c := range checks {
		f := Feature{Name: c.name, Supported: true}
		var err error
		if f.Detail, err = c.check(); err != nil {
			f.Supported, f.Detail = false, err.Error()
		}
		out = append(out, f)
	}
	return out
}
