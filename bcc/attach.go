package bcc

import (
	"errors"
	"fmt"
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
	kindUprobe
	kindUretprobe
	kindPerfEvent
	kindKfunc
	kindKretfunc
	kindLSM
	kindXDP
	kindRawSocket
	kindProgAttach
)

// isPerfEvent reports whether the attachment is a perf event descriptor,
// which is disabled before it is closed.
func (k attachKind) isPerfEvent() bool {
	switch k {
	case kindTracepoint, kindKprobe, kindKretprobe, kindUprobe, kindUretprobe, kindPerfEvent:
		return true
	}
	return false
}

// isProbe reports whether the attachment counts toward BCC's global probe
// quota (kprobes and uprobes, as in BCC Python's _num_open_probes).
func (k attachKind) isProbe() bool {
	return k == kindKprobe || k == kindKretprobe || k == kindUprobe || k == kindUretprobe
}

// attachment is one probe or hook that holds a program in place. Closing
// its descriptor detaches it.
type attachment struct {
	kind   attachKind
	target string // "cat:name", raw tracepoint or kernel function name
	fn     string
	fd     int
	// undo, when set, detaches what closing fd does not (XDP through
	// netlink, BPF_PROG_ATTACH); fd is then -1 or not ours to close.
	undo func() error
}

func (a *attachment) detach() error {
	if a.undo != nil {
		undo := a.undo
		a.undo = nil
		if err := undo(); err != nil {
			return fmt.Errorf("detach %s from %s: %w", a.fn, a.target, err)
		}
	}
	if a.fd < 0 {
		return nil
	}
	if a.kind.isProbe() {
		openProbes.Add(-1)
	}
	if a.kind.isPerfEvent() {
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
			err = b.AttachKprobe(b.FixSyscallFnName(strings.TrimPrefix(name, prefixKprobe)), name)
		case strings.HasPrefix(name, prefixKretprobe):
			err = b.AttachKretprobe(b.FixSyscallFnName(strings.TrimPrefix(name, prefixKretprobe)), name)
		case strings.HasPrefix(name, prefixKfunc):
			err = b.AttachKfunc(name)
		case strings.HasPrefix(name, prefixKretfunc):
			err = b.AttachKretfunc(name)
		case strings.HasPrefix(name, prefixLSM):
			err = b.AttachLSM(name)
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
	if err := b.attachableLocked(kindTracepoint, tp, fnName, fmt.Sprintf("tracepoint %s with %s", tp, fnName)); err != nil {
		return err
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
	return perfEventAttachGroup(attr, pid, cpu, -1, progFD)
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
	// The kernel would allow a second attach; BCC refuses it by name.
	if err := b.attachableLocked(kindRawTracepoint, tp, "", "raw tracepoint "+tp); err != nil {
		return err
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

// attachableLocked checks, with b.mu held, that b is open and that kind
// is not attached to target with fn yet; what names the attachment in
// the error.
func (b *BPF) attachableLocked(kind attachKind, target, fn, what string) error {
	if b.closed {
		return ErrClosed
	}
	if b.findAttachment(kind, target, fn) != nil {
		return fmt.Errorf("%s: %w", what, ErrAlreadyAttached)
	}
	return nil
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

// NumOpenTracepoints counts attached tracepoints and raw tracepoints.
func (b *BPF) NumOpenTracepoints() int {
	return b.count(kindTracepoint) + b.count(kindRawTracepoint)
}

// NumOpenKprobes counts attached kprobes and kretprobes (BCC's
// num_open_kprobes).
func (b *BPF) NumOpenKprobes() int { return b.count(kindKprobe) + b.count(kindKretprobe) }

// NumOpenUprobes counts attached uprobes and uretprobes, USDT probes
// included (BCC's num_open_uprobes).
func (b *BPF) NumOpenUprobes() int { return b.count(kindUprobe) + b.count(kindUretprobe) }

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
