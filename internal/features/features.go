// Package features finds out what the running kernel allows BPF programs to
// do, by trying: each probe creates a minimal map or loads a do-nothing
// program and attaches it for a moment, rather than reading kernel config
// or looking for symbols, so that a kernel under lockdown reports fentry
// and LSM refused although it has them. Refusals wrap ErrNotSupported.
//
// Probes whose answer a program needs repeatedly (Kfunc, LSM,
// RawTracepoint) are computed once per process: kernel features do not
// change while a process runs, and each probe costs tens of milliseconds
// (loading the kernel's BTF); cilium/ebpf caches its probes the same way.
package features

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/tracefs"
	"github.com/gobcc/gobcc/internal/usym"
)

// ErrNotSupported is wrapped by every refusal: the kernel's "no".
var ErrNotSupported = bpfsys.ErrNotSupported

// The kernel's enum bpf_prog_type, bpf_attach_type and bpf_map_type
// values the probes use.
const (
	progKprobe        = 2
	progXDP           = 6
	progPerfEvent     = 7
	progRawTracepoint = 17
	progTracing       = 26
	progLSM           = 29

	attachTraceFentry = 24
	attachLSMMac      = 27

	mapHash    = 1
	mapRingbuf = 27
)

// minimalProg is "r0 = 0; exit": what every program probe loads.
var minimalProg = []byte{
	0xb7, 0, 0, 0, 0, 0, 0, 0, // mov64 r0, 0
	0x95, 0, 0, 0, 0, 0, 0, 0, // exit
}

var (
	kfuncOnce, lsmOnce, rawTPOnce sync.Once
	kfuncErr, lsmErr, rawTPErr    error
)

// Kfunc reports whether the kernel loads and attaches fentry programs
// (fexit needs the same). It answers once per process.
func Kfunc() error {
	kfuncOnce.Do(func() {
		kfuncErr = btfProgram(progTracing, attachTraceFentry, "bpf_fentry_test1", "fentry/kfunc")
	})
	return kfuncErr
}

// LSM reports whether the kernel loads and attaches BPF LSM programs. It
// answers once per process.
func LSM() error {
	lsmOnce.Do(func() {
		lsmErr = btfProgram(progLSM, attachLSMMac, "bpf_lsm_file_open", "LSM")
	})
	return lsmErr
}

// RawTracepoint reports whether the kernel loads and attaches raw
// tracepoint programs. It answers once per process.
func RawTracepoint() error {
	rawTPOnce.Do(func() {
		rawTPErr = withMinimalProgram(progRawTracepoint, "raw tracepoint", func(progFD int) error {
			// sched_process_free exists everywhere, and the program does
			// nothing.
			lfd, err := bpfsys.RawTracepointOpen("sched_process_free", progFD)
			if err != nil {
				return fmt.Errorf("%w: raw tracepoint attach refused: %w", ErrNotSupported, err)
			}
			return unix.Close(lfd)
		})
	})
	return rawTPErr
}

// btfProgram loads a do-nothing program of progType aimed at the vmlinux
// BTF function target and attaches it for a moment.
func btfProgram(progType, attachType uint32, target, what string) error {
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
		Type: progType, Insns: minimalProg, License: "GPL", Name: "gobcc_probe",
		ExpectedAttachType: attachType, AttachBTFID: uint32(id),
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) && strings.TrimSpace(log) == "" {
			return fmt.Errorf("%w: %s program refused (EPERM, no verifier log): %s", ErrNotSupported, what, TracingRefusedReason())
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

// lockdownFile is where securityfs shows the kernel's lockdown mode.
const lockdownFile = "/sys/kernel/security/lockdown"

// TracingRefusedReason explains an EPERM with no verifier log for a
// fentry/fexit or LSM program: the process has the privileges (other
// programs load), so it is the kernel's policy or configuration.
func TracingRefusedReason() string {
	if data, err := os.ReadFile(lockdownFile); err == nil {
		// "none [integrity] confidentiality": the bracketed mode is active.
		s := string(data)
		if i := strings.IndexByte(s, '['); i >= 0 {
			if j := strings.IndexByte(s[i:], ']'); j > 0 {
				if mode := s[i+1 : i+j]; mode != "none" {
					return fmt.Sprintf("kernel lockdown is %q (%s), which forbids fentry/fexit and LSM programs", mode, lockdownFile)
				}
			}
		}
	}
	return "the kernel refused tracing programs (EPERM with no verifier log): kernel lockdown or missing CONFIG_BPF_JIT/ftrace support"
}

// PMUType reads the perf event type of a dynamic PMU such as "kprobe" or
// "uprobe".
func PMUType(name string) (int, error) {
	data, err := os.ReadFile("/sys/bus/event_source/devices/" + name + "/type")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// Uprobe reports whether the kernel has the uprobe PMU that uprobes and
// USDT probes are created through.
func Uprobe() error {
	if _, err := PMUType("uprobe"); err == nil {
		return nil
	}
	return fmt.Errorf("%w: this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe: CONFIG_UPROBE_EVENTS not set, or Linux < 4.17)", ErrNotSupported)
}

// Kprobe reports whether the kernel can create kprobes at all: through the
// kprobe PMU (pmu is its perf event type) or, with pmu -1, only through
// tracefs's kprobe_events.
func Kprobe() (pmu int, err error) {
	if t, err := PMUType("kprobe"); err == nil {
		return t, nil
	}
	if dir, err := tracefs.Dir(); err == nil {
		if _, err := os.Stat(dir + "/kprobe_events"); err == nil {
			return -1, nil
		}
	}
	return 0, fmt.Errorf("%w: this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices and no kprobe_events in tracefs: CONFIG_KPROBES is not set); use a tracepoint or raw tracepoint instead", ErrNotSupported)
}

// Tracefs returns where tracefs is mounted.
func Tracefs() (string, error) {
	dir, err := tracefs.Dir()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return dir, nil
}

// Tracepoints reports whether tracefs lists tracepoints.
func Tracepoints() error {
	dir, err := Tracefs()
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir + "/events"); err != nil {
		return fmt.Errorf("%w: no tracefs events directory: %w", ErrNotSupported, err)
	}
	if !tracefs.TracepointExists("sched", "sched_process_exec") {
		return fmt.Errorf("%w: tracefs lists no sched:sched_process_exec", ErrNotSupported)
	}
	return nil
}

// PerfEvent opens a software cpu-clock event on CPU 0 and sets a minimal
// perf_event program on it.
func PerfEvent() error {
	return withMinimalProgram(progPerfEvent, "perf_event", func(progFD int) error {
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

// XDP loads a program returning XDP_PASS.
func XDP() error {
	prog := []byte{0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0} // r0 = XDP_PASS; exit
	fd, _, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{Type: progXDP, Insns: prog, License: "GPL", Name: "gobcc_probe"})
	if err != nil {
		return fmt.Errorf("%w: XDP program refused: %w", ErrNotSupported, err)
	}
	unix.Close(fd)
	return nil
}

// KprobeAttach is Kprobe and, where the kprobe PMU exists, a minimal
// program attached for a moment to a kprobe on vfs_read. detail says what
// was tried.
func KprobeAttach() (detail string, err error) {
	pmu, err := Kprobe()
	if err != nil {
		return "", err
	}
	if pmu < 0 {
		return "tracefs kprobe_events present (no kprobe PMU)", nil
	}
	err = withMinimalProgram(progKprobe, "kprobe", func(progFD int) error {
		fd, err := openProbePMU(pmu, "vfs_read", 0, progFD)
		if err != nil {
			return fmt.Errorf("%w: attaching a kprobe to vfs_read: %w", ErrNotSupported, err)
		}
		return unix.Close(fd)
	})
	return "minimal program attached to a kprobe on vfs_read", err
}

// UprobeAttach is Uprobe and a minimal program attached for a moment to a
// uprobe on this executable's entry point (which has run already, so the
// probe never fires).
func UprobeAttach() (detail string, err error) {
	if err := Uprobe(); err != nil {
		return "", err
	}
	pmu, err := PMUType("uprobe")
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
	err = withMinimalProgram(progKprobe, "uprobe", func(progFD int) error {
		fd, err := openProbePMU(pmu, self, off, progFD)
		if err != nil {
			return fmt.Errorf("%w: attaching a uprobe to %s: %w", ErrNotSupported, self, err)
		}
		return unix.Close(fd)
	})
	return "minimal program attached to a uprobe on this executable", err
}

// openProbePMU creates a kprobe or uprobe on every process of CPU 0
// through its dynamic PMU (config1 names target, config2 is the offset)
// and runs progFD on it. Closing the descriptor removes the probe.
func openProbePMU(pmu int, target string, offset uint64, progFD int) (int, error) {
	cTarget, err := unix.BytePtrFromString(target)
	if err != nil {
		return -1, fmt.Errorf("probe target %q: %w", target, err)
	}
	attr := unix.PerfEventAttr{
		Type:   uint32(pmu),
		Sample: 1,
		Wakeup: 1,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Ext1:   uint64(uintptr(unsafe.Pointer(cTarget))),
		Ext2:   offset,
	}
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	// The kernel reads the string during perf_event_open.
	runtime.KeepAlive(cTarget)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, progFD); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	return fd, nil
}

// withMinimalProgram loads "r0 = 0; exit" as progType and passes its fd
// to attach, closing it afterwards.
func withMinimalProgram(progType uint32, what string, attach func(progFD int) error) error {
	fd, _, err := bpfsys.ProgLoad(bpfsys.ProgLoadAttr{Type: progType, Insns: minimalProg, License: "GPL", Name: "gobcc_probe"})
	if err != nil {
		return fmt.Errorf("%w: %s program refused: %w", ErrNotSupported, what, err)
	}
	defer unix.Close(fd)
	return attach(fd)
}

// BTF loads the kernel's BTF (what fentry, LSM and CO-RE need) and finds
// task_struct in it.
func BTF() (detail string, err error) {
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

// BatchMapOps tries a batch lookup on a small hash map (Linux 5.6+):
// without it, table reads take one lookup per key.
func BatchMapOps() error {
	if err := bpfsys.BatchSupported(mapHash); err != nil {
		if errors.Is(err, bpfsys.ErrNotSupported) {
			return fmt.Errorf("%w: batch map operations: %w", ErrNotSupported, err)
		}
		return fmt.Errorf("probing batch map operations: %w", err)
	}
	return nil
}

// RingBuffer creates a one-page BPF ring buffer (Linux 5.8+).
func RingBuffer() error {
	fd, err := bpfsys.MapCreate(mapRingbuf, 0, 0, uint32(os.Getpagesize()), 0, "gobcc_probe")
	if err != nil {
		return fmt.Errorf("%w: creating a BPF ring buffer: %w", ErrNotSupported, err)
	}
	unix.Close(fd)
	return nil
}

// Privileged reports whether this process may have the privileges BPF
// tracing needs: root, CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON (tracing
// programs and perf events need the latter; `gobcc doctor` and
// testutil.Privileged apply the same rule). When the capabilities cannot
// be read it answers true and leaves the verdict to the kernel.
func Privileged() bool {
	if os.Geteuid() == 0 {
		return true
	}
	var hdr unix.CapUserHeader
	var data [2]unix.CapUserData
	hdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true
	}
	const capSysAdmin, capPerfmon, capBPF = 21, 38, 39
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(capSysAdmin) || (has(capBPF) && has(capPerfmon))
}

// Result is one probe's outcome.
type Result struct {
	// Name is the mechanism, as listed in All.
	Name string
	// Err is nil when the kernel allowed it, else why not.
	Err error
	// Detail says what was tried and succeeded; with Err, Err's text.
	Detail string
}

// All runs every probe in a fixed order: "tracefs", "BTF", "kprobes",
// "uprobes", "tracepoints", "raw tracepoints", "fentry/kfunc", "LSM",
// "perf events", "XDP", "batch map ops", "ring buffer". All but tracefs and
// BTF need the privileges BPF needs.
func All() []Result {
	fixed := func(ok string, check func() error) func() (string, error) {
		return func() (string, error) { return ok, check() }
	}
	checks := []struct {
		name  string
		check func() (string, error)
	}{
		{"tracefs", func() (string, error) {
			dir, err := Tracefs()
			return "mounted at " + dir, err
		}},
		{"BTF", BTF},
		{"kprobes", KprobeAttach},
		{"uprobes", UprobeAttach},
		{"tracepoints", fixed("tracefs events present", Tracepoints)},
		{"raw tracepoints", fixed("minimal raw tracepoint program loaded and attached", RawTracepoint)},
		{"fentry/kfunc", fixed("minimal fentry program loaded and attached to bpf_fentry_test1", Kfunc)},
		{"LSM", fixed("minimal LSM program loaded and attached to file_open", LSM)},
		{"perf events", fixed("cpu-clock perf event opened with a perf_event program", PerfEvent)},
		{"XDP", fixed("minimal XDP program loaded", XDP)},
		{"batch map ops", fixed("batch lookup on a hash map worked", BatchMapOps)},
		{"ring buffer", fixed("created a BPF ring buffer map", RingBuffer)},
	}
	out := make([]Result, 0, len(checks))
	for _, c := range checks {
		detail, err := c.check()
		if err != nil {
			detail = err.Error()
		}
		out = append(out, Result{Name: c.name, Err: err, Detail: detail})
	}
	return out
}
