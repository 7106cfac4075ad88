//go:build linux

// Package perfevent opens perf events (perf_event_open(2)) and runs BPF
// programs on them: tracepoint events, kprobes and uprobes created through
// their dynamic PMUs, and hardware/software events for PerfEvent programs.
// It is the plumbing below gobcc's Attach* calls; it knows nothing of
// libbcc or of the bcc package.
//
// An Event owns its descriptor; Close disables and closes it, which removes
// a PMU probe and stops the program.
package perfevent

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Perf event types (the kernel's enum perf_type_id).
const (
	TypeHardware   uint32 = unix.PERF_TYPE_HARDWARE
	TypeSoftware   uint32 = unix.PERF_TYPE_SOFTWARE
	TypeTracepoint uint32 = unix.PERF_TYPE_TRACEPOINT
	TypeHWCache    uint32 = unix.PERF_TYPE_HW_CACHE
	TypeRaw        uint32 = unix.PERF_TYPE_RAW
	TypeBreakpoint uint32 = unix.PERF_TYPE_BREAKPOINT
)

// Flags are perf_event_attr's single-bit fields, at the kernel's bit
// positions (disabled is bit 0, inherit bit 1, ...).
type Flags uint64

// The flag bits callers may set. freq is not among them: Attr.SampleFreq
// sets it.
const (
	FlagDisabled      Flags = 1 << 0
	FlagInherit       Flags = 1 << 1
	FlagPinned        Flags = 1 << 2
	FlagExclusive     Flags = 1 << 3
	FlagExcludeUser   Flags = 1 << 4
	FlagExcludeKernel Flags = 1 << 5
	FlagExcludeHV     Flags = 1 << 6
	FlagExcludeIdle   Flags = 1 << 7
	FlagEnableOnExec  Flags = 1 << 12
	FlagExcludeHost   Flags = 1 << 19
	FlagExcludeGuest  Flags = 1 << 20

	flagFreq       Flags = 1 << 10
	preciseIPShift       = 15
	allowedFlags         = FlagDisabled | FlagInherit | FlagPinned | FlagExclusive | FlagExcludeUser |
		FlagExcludeKernel | FlagExcludeHV | FlagExcludeIdle | FlagEnableOnExec | FlagExcludeHost | FlagExcludeGuest
)

// ErrInvalidAttr means an Attr asks for something perf_event_attr cannot
// say (both a sample period and a frequency, an unknown flag, ...).
var ErrInvalidAttr = errors.New("invalid perf event attributes")

// Attr is the part of struct perf_event_attr gobcc lets callers set.
type Attr struct {
	Type   uint32
	Config uint64
	// SamplePeriod and SampleFreq share one field in the kernel; a
	// non-zero SampleFreq sets the freq bit.
	SamplePeriod uint64
	SampleFreq   uint64
	SampleType   uint64
	ReadFormat   uint64
	Flags        Flags
	// PreciseIP is the skid constraint, 0 to 3.
	PreciseIP    uint8
	WakeupEvents uint32
	BPType       uint32
	// Config1 and Config2 are also bp_addr/kprobe_func/uprobe_path and
	// bp_len/kprobe_addr/probe_offset.
	Config1 uint64
	Config2 uint64
}

// toUnix converts a to the kernel's layout.
func (a *Attr) toUnix() (unix.PerfEventAttr, error) {
	if a.SamplePeriod != 0 && a.SampleFreq != 0 {
		return unix.PerfEventAttr{}, fmt.Errorf("%w: both a sample period and a sample frequency", ErrInvalidAttr)
	}
	if a.Flags&^allowedFlags != 0 {
		return unix.PerfEventAttr{}, fmt.Errorf("%w: unknown flags %#x", ErrInvalidAttr, uint64(a.Flags&^allowedFlags))
	}
	if a.PreciseIP > 3 {
		return unix.PerfEventAttr{}, fmt.Errorf("%w: precise_ip %d is over 3", ErrInvalidAttr, a.PreciseIP)
	}
	u := unix.PerfEventAttr{
		Type:        a.Type,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Config:      a.Config,
		Sample:      a.SamplePeriod,
		Sample_type: a.SampleType,
		Read_format: a.ReadFormat,
		Bits:        uint64(a.Flags) | uint64(a.PreciseIP)<<preciseIPShift,
		Wakeup:      a.WakeupEvents,
		Bp_type:     a.BPType,
		Ext1:        a.Config1,
		Ext2:        a.Config2,
	}
	if a.SampleFreq != 0 {
		u.Sample = a.SampleFreq
		u.Bits |= uint64(flagFreq)
	}
	return u, nil
}

// Event is an open perf event descriptor.
type Event struct {
	mu sync.Mutex
	fd int
}

// Open opens a perf event (perf_event_open with PERF_FLAG_FD_CLOEXEC):
// pid -1 is every process, cpu -1 every CPU (not both), groupFD -1 no
// group. The caller owns the Event and must Close it.
func Open(attr *Attr, pid, cpu, groupFD int) (*Event, error) {
	u, err := attr.toUnix()
	if err != nil {
		return nil, err
	}
	return open(&u, pid, cpu, groupFD)
}

func open(u *unix.PerfEventAttr, pid, cpu, groupFD int) (*Event, error) {
	fd, err := unix.PerfEventOpen(u, pid, cpu, groupFD, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("perf_event_open: %w", err)
	}
	return &Event{fd: fd}, nil
}

// OpenTracepoint opens the tracepoint whose tracefs ID is id as a perf
// event sampling raw records, as libbcc's bpf_attach_tracepoint does.
func OpenTracepoint(id uint64, pid, cpu int) (*Event, error) {
	return Open(&Attr{Type: TypeTracepoint, Config: id, SamplePeriod: 1, WakeupEvents: 1, SampleType: unix.PERF_SAMPLE_RAW}, pid, cpu, -1)
}

// OpenProbe creates a kprobe or uprobe through its dynamic PMU: an event of
// type pmu (PMUType) whose config1 points at target (a kernel function or a
// binary's path) and whose config2 is offset; config carries the retprobe
// bit (RetprobeBit) and, for uprobes, the semaphore's ref_ctr_offset in
// bits 32-63. Closing the Event removes the probe, so nothing is left in
// tracefs.
func OpenProbe(pmu uint32, target string, offset, config uint64, pid, cpu int) (*Event, error) {
	cTarget, err := unix.BytePtrFromString(target)
	if err != nil {
		return nil, fmt.Errorf("probe target %q: %w", target, err)
	}
	u := unix.PerfEventAttr{
		Type:   pmu,
		Sample: 1,
		Wakeup: 1,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Ext1:   uint64(uintptr(unsafe.Pointer(cTarget))),
		Ext2:   offset,
		Config: config,
	}
	ev, err := open(&u, pid, cpu, -1)
	// The kernel reads the string during perf_event_open.
	runtime.KeepAlive(cTarget)
	return ev, err
}

// FD is the event's descriptor, owned by the Event; -1 after Close.
func (e *Event) FD() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fd
}

// SetBPF runs progFD on every occurrence of the event
// (PERF_EVENT_IOC_SET_BPF) and enables it (PERF_EVENT_IOC_ENABLE): what
// libbcc's bpf_attach_perf_event_raw does after opening.
func (e *Event) SetBPF(progFD int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fd < 0 {
		return fmt.Errorf("perf event: %w", unix.EBADF)
	}
	if err := unix.IoctlSetInt(e.fd, unix.PERF_EVENT_IOC_SET_BPF, progFD); err != nil {
		return fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	if err := unix.IoctlSetInt(e.fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		return fmt.Errorf("PERF_EVENT_IOC_ENABLE: %w", err)
	}
	return nil
}

// Close disables the event, so the program stops running before the
// descriptor goes, and closes it. It is idempotent.
func (e *Event) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fd < 0 {
		return nil
	}
	// A failed disable changes nothing: the close below stops the event.
	_ = unix.IoctlSetInt(e.fd, unix.PERF_EVENT_IOC_DISABLE, 0)
	err := unix.Close(e.fd)
	e.fd = -1
	if err != nil {
		return fmt.Errorf("close perf event: %w", err)
	}
	return nil
}

// TakeFD hands the descriptor to the caller, who must close it; the Event
// is then closed and its Close a no-op.
func (e *Event) TakeFD() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	fd := e.fd
	e.fd = -1
	return fd
}
