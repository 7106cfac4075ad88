package bcc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// attachKind names what an attachment is, for the counters and Detach*.
type attachKind int

const (
	kindTracepoint attachKind = iota
	kindRawTracepoint
	kindKprobe
	kindKretprobe
)

// attachment is one probe or hook that holds a program in place. Closing
// its descriptor detaches it.
type attachment struct {
	kind   attachKind
	target string // "cat:name", raw tracepoint or kernel function name
	fn     string
	fd     int
}

func (a *attachment) detach() error {
	if a.fd < 0 {
		return nil
	}
	if a.kind == kindTracepoint || a.kind == kindKprobe || a.kind == kindKretprobe {
		// Disable first so the program stops running before the close.
		unix.IoctlSetInt(a.fd, unix.PERF_EVENT_IOC_DISABLE, 0)
	}
	err := unix.Close(a.fd)
	a.fd = -1
	if err != nil {
		return fmt.Errorf("detach %s: %w", a.target, err)
	}
	return nil
}

// Function-name prefixes that BCC attaches automatically.
const (
	prefixTracepoint    = "tracepoint__"
	prefixRawTracepoint = "raw_tracepoint__"
	prefixKprobe        = "kprobe__"
	prefixKretprobe     = "kretprobe__"
	prefixKfunc         = "kfunc__"
	prefixKretfunc      = "kretfunc__"
	prefixLSM           = "lsm__"
)

// autoAttach loads and attaches functions by their names, as BCC Python's
// _trace_autoload does.
func (b *BPF) autoAttach() error {
	for _, f := range b.result.Functions {
		name := f.Name
		var err error
		switch {
		case strings.HasPrefix(name, prefixTracepoint):
			rest := strings.TrimPrefix(name, prefixTracepoint)
			cat, event, ok := strings.Cut(rest, "__")
			if !ok {
				continue
			}
			err = b.AttachTracepoint(cat+":"+event, name)
		case strings.HasPrefix(name, prefixRawTracepoint):
			err = b.AttachRawTracepoint(strings.TrimPrefix(name, prefixRawTracepoint), name)
		case strings.HasPrefix(name, prefixKprobe):
			err = b.AttachKprobe(strings.TrimPrefix(name, prefixKprobe), name)
		case strings.HasPrefix(name, prefixKretprobe):
			err = b.AttachKretprobe(strings.TrimPrefix(name, prefixKretprobe), name)
		case strings.HasPrefix(name, prefixKfunc), strings.HasPrefix(name, prefixKretfunc):
			attachType := AttachTraceFentry
			if strings.HasPrefix(name, prefixKretfunc) {
				attachType = AttachTraceFexit
			}
			err = b.attachTracing(name, Tracing, attachType)
		case strings.HasPrefix(name, prefixLSM):
			err = b.attachTracing(name, LSM, AttachLSMMac)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AttachTracepoint attaches fnName to the tracepoint tp ("category:event",
// e.g. "kmem:kmalloc"), loading it as a Tracepoint program if needed (BCC's
// attach_tracepoint(tp=..., fn_name=...)).
func (b *BPF) AttachTracepoint(tp, fnName string) error {
	cat, event, ok := strings.Cut(tp, ":")
	if !ok || cat == "" || event == "" {
		return fmt.Errorf("tracepoint %q: want \"category:event\"", tp)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.findAttachment(kindTracepoint, tp, fnName) != nil {
		return fmt.Errorf("tracepoint %s with %s: %w", tp, fnName, ErrAlreadyAttached)
	}
	id, err := tracefs.TracepointID(cat, event)
	if err != nil {
		return fmt.Errorf("attach %s: %w", fnName, err)
	}
	f, err := b.loadFuncLocked(fnName, Tracepoint, AttachNone)
	if err != nil {
		return err
	}
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_TRACEPOINT,
		Config:      id,
		Sample:      1,
		Wakeup:      1,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Sample_type: unix.PERF_SAMPLE_RAW,
	}
	fd, err := perfEventAttach(&attr, -1, 0, f.FD)
	if err != nil {
		return fmt.Errorf("attach %s to tracepoint %s: %w", fnName, tp, err)
	}
	b.attached = append(b.attached, &attachment{kind: kindTracepoint, target: tp, fn: fnName, fd: fd})
	return nil
}

// perfEventAttach opens a perf event and runs progFD on it.
func perfEventAttach(attr *unix.PerfEventAttr, pid, cpu, progFD int) (int, error) {
	fd, err := unix.PerfEventOpen(attr, pid, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, progFD); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PERF_EVENT_IOC_SET_BPF: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("PERF_EVENT_IOC_ENABLE: %w", err)
	}
	return fd, nil
}

// DetachTracepoint detaches every function attached to tp, or only fnName
// when it is not empty.
func (b *BPF) DetachTracepoint(tp string, fnName ...string) error {
	return b.detach(kindTracepoint, tp, fnName)
}

// AttachRawTracepoint attaches fnName to the raw tracepoint tp (e.g.
// "sched_switch"), loading it as a RawTracepoint program if needed.
func (b *BPF) AttachRawTracepoint(tp, fnName string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.findAttachment(kindRawTracepoint, tp, "") != nil {
		// The kernel would allow it; BCC refuses a second attach by name.
		return fmt.Errorf("raw tracepoint %s: %w", tp, ErrAlreadyAttached)
	}
	f, err := b.loadFuncLocked(fnName, RawTracepoint, AttachNone)
	if err != nil {
		return err
	}
	fd, err := bpfsys.RawTracepointOpen(tp, f.FD)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("attach %s: raw tracepoint %q: %w", fnName, tp, ErrTracepointNotFound)
		}
		return fmt.Errorf("attach %s to raw tracepoint %s: %w", fnName, tp, err)
	}
	b.attached = append(b.attached, &attachment{kind: kindRawTracepoint, target: tp, fn: fnName, fd: fd})
	return nil
}

// DetachRawTracepoint detaches what is attached to the raw tracepoint tp.
func (b *BPF) DetachRawTracepoint(tp string) error {
	return b.detach(kindRawTracepoint, tp, nil)
}

func (b *BPF) findAttachment(kind attachKind, target, fn string) *attachment {
	for _, a := range b.attached {
		if a.kind == kind && a.target == target && (fn == "" || a.fn == fn) {
			return a
		}
	}
	return nil
}

func (b *BPF) detach(kind attachKind, target string, fn []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	var errs []error
	kept := b.attached[:0]
	found := false
	for _, a := range b.attached {
		if a.kind == kind && a.target == target && (len(fn) == 0 || fn[0] == "" || a.fn == fn[0]) {
			found = true
			errs = append(errs, a.detach())
			continue
		}
		kept = append(kept, a)
	}
	b.attached = kept
	if !found {
		return fmt.Errorf("%s: %w", target, ErrNotAttached)
	}
	return errors.Join(errs...)
}

// kprobeSupport tells whether this kernel can create kprobes at all: through
// the kprobe PMU (perf_event_open) or tracefs's kprobe_events.
func kprobeSupport() (pmuType int, err error) {
	if data, err := os.ReadFile("/sys/bus/event_source/devices/kprobe/type"); err == nil {
		if t, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			return t, nil
		}
	}
	if dir, err := tracefs.Dir(); err == nil {
		if _, err := os.Stat(dir + "/kprobe_events"); err == nil {
			return -1, nil
		}
	}
	return 0, fmt.Errorf("%w: this kernel has no kprobes (no kprobe PMU in /sys/bus/event_source/devices and no kprobe_events in tracefs: CONFIG_KPROBES is not set); use a tracepoint or raw tracepoint instead", ErrNotSupported)
}

// AttachKprobe attaches fnName to the entry of kernel function event.
func (b *BPF) AttachKprobe(event, fnName string) error {
	return b.attachKprobe(event, fnName, false)
}

// AttachKretprobe attaches fnName to the return of kernel function event.
func (b *BPF) AttachKretprobe(event, fnName string) error {
	return b.attachKprobe(event, fnName, true)
}

func (b *BPF) attachKprobe(event, fnName string, ret bool) error {
	kind := kindKprobe
	if ret {
		kind = kindKretprobe
	}
	pmu, err := kprobeSupport()
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", fnName, event, err)
	}
	if pmu < 0 {
		return fmt.Errorf("attach %s to %s: %w: kprobes through tracefs kprobe_events only; the kprobe PMU is missing", fnName, event, ErrNotSupported)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	f, err := b.loadFuncLocked(fnName, Kprobe, AttachNone)
	if err != nil {
		return err
	}
	name, err := unix.BytePtrFromString(event)
	if err != nil {
		return err
	}
	attr := unix.PerfEventAttr{
		Type:   uint32(pmu),
		Sample: 1,
		Wakeup: 1,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Ext1:   uint64(uintptr(unsafe.Pointer(name))),
	}
	if ret {
		attr.Config = 1 // the "retprobe" format bit (config:0)
	}
	fd, err := perfEventAttach(&attr, -1, 0, f.FD)
	if err != nil {
		return fmt.Errorf("attach %s to kprobe %s: %w", fnName, event, err)
	}
	b.attached = append(b.attached, &attachment{kind: kind, target: event, fn: fnName, fd: fd})
	return nil
}

// attachTracing loads a kfunc/kretfunc/LSM function and attaches it. The
// attach point comes from the load (libbcc finds the BTF id by name).
func (b *BPF) attachTracing(fnName string, progType ProgType, attachType AttachType) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.loadFuncLocked(fnName, progType, attachType)
	if err != nil {
		return err
	}
	fd, err := bpfsys.RawTracepointOpen("", f.FD)
	if err != nil {
		return fmt.Errorf("attach %s: %w", fnName, err)
	}
	b.attached = append(b.attached, &attachment{kind: kindRawTracepoint, target: fnName, fn: fnName, fd: fd})
	return nil
}

// NumOpenTracepoints counts attached tracepoints and raw tracepoints.
func (b *BPF) NumOpenTracepoints() int {
	return b.count(kindTracepoint) + b.count(kindRawTracepoint)
}

// NumOpenKprobes counts attached kprobes and kretprobes.
func (b *BPF) NumOpenKprobes() int { return b.count(kindKprobe) + b.count(kindKretprobe) }

func (b *BPF) count(kind attachKind) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, a := range b.attached {
		if a.kind == kind {
			n++
		}
	}
	return n
}
