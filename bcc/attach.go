package bcc

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
)

// LinkKind names what a Link attaches to.
type LinkKind int

// The kinds of attachment.
const (
	LinkTracepoint    LinkKind = iota // AttachTracepoint
	LinkRawTracepoint                 // AttachRawTracepoint
	LinkKprobe                        // AttachKprobe
	LinkKretprobe                     // AttachKretprobe
	LinkUprobe                        // AttachUprobe, USDT probes
	LinkUretprobe                     // AttachUretprobe
	LinkPerfEvent                     // AttachPerfEvent, AttachPerfEventRaw
	LinkKfunc                         // AttachKfunc
	LinkKretfunc                      // AttachKretfunc
	LinkLSM                           // AttachLSM
	LinkXDP                           // AttachXDP
	LinkRawSocket                     // AttachRawSocket
	LinkProgAttach                    // AttachFunc (BPF_PROG_ATTACH)
)

var linkKindNames = [...]string{
	LinkTracepoint:    "tracepoint",
	LinkRawTracepoint: "raw tracepoint",
	LinkKprobe:        "kprobe",
	LinkKretprobe:     "kretprobe",
	LinkUprobe:        "uprobe",
	LinkUretprobe:     "uretprobe",
	LinkPerfEvent:     "perf event",
	LinkKfunc:         "kfunc",
	LinkKretfunc:      "kretfunc",
	LinkLSM:           "LSM",
	LinkXDP:           "XDP",
	LinkRawSocket:     "raw socket",
	LinkProgAttach:    "prog attach",
}

// String is the kind's name ("tracepoint", "uprobe", ...).
func (k LinkKind) String() string {
	if k >= 0 && int(k) < len(linkKindNames) {
		return linkKindNames[k]
	}
	return fmt.Sprintf("LinkKind(%d)", int(k))
}

// isProbe reports whether the attachment counts toward BCC's global probe
// quota (kprobes and uprobes, as in BCC Python's _num_open_probes).
func (k LinkKind) isProbe() bool {
	return k == LinkKprobe || k == LinkKretprobe || k == LinkUprobe || k == LinkUretprobe
}

// Link is one attachment of a function: a probe, tracepoint, perf event,
// hook or socket that holds a loaded program in place, in the manner of
// cilium/ebpf's link.Link.
//
// The BPF object that made the Link owns it: BPF.Close detaches every Link
// still attached, and BCC's by-name Detach* calls detach the Links they
// name. The caller may also Close a Link to detach just that attachment;
// the Link is then no longer counted by NumOpen* nor detached again. A
// Link's methods are safe for concurrent use, and with those of its BPF.
type Link struct {
	b      *BPF
	kind   LinkKind
	target string
	fn     string
	h      attachHandle // nil once detached; guarded by b.mu
}

// Kind is what the Link attaches to.
func (l *Link) Kind() LinkKind { return l.kind }

// Target names what the function is attached to, as the by-name Detach*
// calls know it: "category:event" for a tracepoint, the kernel function of
// a kprobe or kfunc, BCC's event name ("p_<path>_0x<offset>[_<pid>]") for a
// uprobe, "perf:<type>:<config>" for a perf event, the device of an XDP
// program or raw socket.
func (l *Link) Target() string { return l.target }

// Function is the name of the attached BPF function.
func (l *Link) Function() string { return l.fn }

// String describes the Link: "tracepoint sched:sched_switch <- on_switch".
func (l *Link) String() string { return fmt.Sprintf("%s %s <- %s", l.kind, l.target, l.fn) }

// FD is the descriptor that holds the attachment when there is exactly one
// (a tracepoint's or probe's perf event, a raw tracepoint or kfunc link, a
// raw socket, which AttachRawSocket's callers read packets from), else -1:
// a perf event opened on several CPUs, an XDP program, a detached Link.
// The Link owns the descriptor; it is valid until the Link is detached.
func (l *Link) FD() int {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.h == nil {
		return -1
	}
	return l.h.fd()
}

// Attached reports whether the Link is still attached: false after Close,
// a Detach* that named it, or BPF.Close.
func (l *Link) Attached() bool {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	return l.h != nil
}

// Close detaches this attachment only. It is idempotent, and a no-op after
// the BPF object's Close or a Detach* call that already detached it.
func (l *Link) Close() error {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.h == nil {
		return nil
	}
	err := l.detachLocked()
	l.b.forgetLocked(l)
	return err
}

// detachLocked detaches the Link, with b.mu held; the caller removes it
// from b.attached.
func (l *Link) detachLocked() error {
	h := l.h
	if h == nil {
		return nil
	}
	l.h = nil
	if l.kind.isProbe() {
		openProbes.Add(-1)
	}
	if err := h.detach(); err != nil {
		return fmt.Errorf("detach %s from %s %s: %w", l.fn, l.kind, l.target, err)
	}
	return nil
}

// forgetLocked removes l from b.attached, with b.mu held.
func (b *BPF) forgetLocked(l *Link) {
	for i, a := range b.attached {
		if a == l {
			b.attached = append(b.attached[:i], b.attached[i+1:]...)
			return
		}
	}
}

// attachHandle is what an opener made: the kernel objects that hold a
// program in place.
type attachHandle interface {
	// detach removes the attachment and releases its descriptors.
	detach() error
	// fd is the one descriptor holding the attachment, or -1.
	fd() int
	// descriptors counts the descriptors (a perf event has one per CPU),
	// for NumOpenPerfEvents.
	descriptors() int
}

// opener attaches a loaded program. Each mechanism (perf events, PMU
// probes, raw tracepoint links, netlink, BPF_PROG_ATTACH) is one; a
// tracefs kprobe_events/uprobe_events opener would be another.
type opener interface {
	open(progFD int) (attachHandle, error)
}

// openerFunc adapts a function to opener.
type openerFunc func(progFD int) (attachHandle, error)

func (f openerFunc) open(progFD int) (attachHandle, error) { return f(progFD) }

// duplicateRule says which existing attachments make a new one a
// duplicate, refused with ErrAlreadyAttached.
type duplicateRule int

const (
	dupNone           duplicateRule = iota // the kernel decides (XDP, sockets)
	dupTarget                              // one function per target
	dupTargetFunction                      // each function once per target
)

// attachRequest is everything the single attach path needs.
type attachRequest struct {
	kind   LinkKind
	target string
	fn     string
	// progType and attachType load fn; loaded, when set, is a function
	// the caller loaded with LoadFunc (AttachFunc) and fn is its name.
	progType   ProgType
	attachType AttachType
	loaded     *Function
	dup        duplicateRule
	// what names the attachment in errors ("tracepoint sched:sched_switch").
	what   string
	opener opener
}

// attach is the one path every Attach* goes through: probe quota, lock,
// open and duplicate checks, load the function with its program type,
// open the attachment, record it and count it.
func (b *BPF) attach(req attachRequest) (*Link, error) {
	if req.kind.isProbe() {
		if err := checkProbeQuota(1); err != nil {
			return nil, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if err := b.duplicateLocked(req); err != nil {
		return nil, err
	}
	progFD, err := b.programLocked(req)
	if err != nil {
		return nil, err
	}
	h, err := req.opener.open(progFD)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", req.fn, req.what, err)
	}
	l := &Link{b: b, kind: req.kind, target: req.target, fn: req.fn, h: h}
	if l.kind.isProbe() {
		openProbes.Add(1)
	}
	b.attached = append(b.attached, l)
	return l, nil
}

func (b *BPF) duplicateLocked(req attachRequest) error {
	fn := ""
	switch req.dup {
	case dupNone:
		return nil
	case dupTargetFunction:
		fn = req.fn
	}
	if b.findAttachment(req.kind, req.target, fn) != nil {
		return fmt.Errorf("%s with %s: %w", req.what, req.fn, ErrAlreadyAttached)
	}
	return nil
}

func (b *BPF) programLocked(req attachRequest) (int, error) {
	if req.loaded != nil {
		if b.funcs[req.loaded.Name] != req.loaded {
			return -1, fmt.Errorf("attach %s: %w: load the function with LoadFunc first", req.loaded.Name, ErrFunctionNotFound)
		}
		return req.loaded.FD, nil
	}
	f, err := b.loadFuncLocked(req.fn, req.progType, req.attachType)
	if err != nil {
		return -1, err
	}
	return f.FD, nil
}

// attachOptions is oneOption with the attach call named in its error.
func attachOptions[T any](call string, opts []T) (T, error) {
	o, err := oneOption(opts)
	if err != nil {
		return o, fmt.Errorf("%s: %w", call, err)
	}
	return o, nil
}

// fdHandle is an attachment held by one descriptor that is not a perf
// event: a raw tracepoint or tracing link, a raw socket.
type fdHandle struct{ descriptor int }

func (h *fdHandle) detach() error {
	if err := unix.Close(h.descriptor); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
func (h *fdHandle) fd() int          { return h.descriptor }
func (h *fdHandle) descriptors() int { return 1 }

// perfHandle is an attachment held by perf events, one per CPU for
// AttachPerfEvent without a CPU, else one.
type perfHandle struct{ events []*perfevent.Event }

func (h *perfHandle) detach() error {
	var errs []error
	for i := len(h.events) - 1; i >= 0; i-- {
		errs = append(errs, h.events[i].Close())
	}
	return errors.Join(errs...)
}

func (h *perfHandle) fd() int {
	if len(h.events) != 1 {
		return -1
	}
	return h.events[0].FD()
}
func (h *perfHandle) descriptors() int { return len(h.events) }

// perfOpener opens one perf event per CPU with open and runs the program
// on each; a failure closes those already opened.
func perfOpener(cpus []int, open func(cpu int) (*perfevent.Event, error)) opener {
	return openerFunc(func(progFD int) (attachHandle, error) {
		h := &perfHandle{}
		for _, cpu := range cpus {
			ev, err := open(cpu)
			if err == nil {
				if err = ev.SetBPF(progFD); err != nil {
					ev.Close()
				}
			}
			if err != nil {
				h.detach()
				if len(cpus) > 1 {
					return nil, fmt.Errorf("CPU %d: %w", cpu, err)
				}
				return nil, err
			}
			h.events = append(h.events, ev)
		}
		return h, nil
	})
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
// _trace_autoload does. The Links stay with the object, which detaches
// them on Close.
func (b *BPF) autoAttach() error {
	_, err := b.AutoAttach()
	return err
}

// AutoAttach loads and attaches every function whose name says where it
// belongs, as New does unless Options.NoAutoAttach is set (BCC's
// _trace_autoload): tracepoint__CAT__NAME, raw_tracepoint__NAME,
// kprobe__FN, kretprobe__FN, kfunc__FN, kretfunc__FN, lsm__HOOK. It stops at
// the first failure, returning the Links attached so far with the error;
// they stay owned by b. Call it once: a second call fails with
// ErrAlreadyAttached.
func (b *BPF) AutoAttach() ([]*Link, error) {
	var links []*Link
	for _, f := range b.result.Functions {
		name := f.Name
		var l *Link
		var err error
		switch {
		case strings.HasPrefix(name, prefixTracepoint):
			rest := strings.TrimPrefix(name, prefixTracepoint)
			cat, event, ok := strings.Cut(rest, "__")
			if !ok {
				continue
			}
			l, err = b.AttachTracepoint(cat+":"+event, name)
		case strings.HasPrefix(name, prefixRawTracepoint):
			l, err = b.AttachRawTracepoint(strings.TrimPrefix(name, prefixRawTracepoint), name)
		case strings.HasPrefix(name, prefixKprobe):
			l, err = b.AttachKprobe(b.FixSyscallFnName(strings.TrimPrefix(name, prefixKprobe)), name)
		case strings.HasPrefix(name, prefixKretprobe):
			l, err = b.AttachKretprobe(b.FixSyscallFnName(strings.TrimPrefix(name, prefixKretprobe)), name)
		case strings.HasPrefix(name, prefixKfunc):
			l, err = b.AttachKfunc(name)
		case strings.HasPrefix(name, prefixKretfunc):
			l, err = b.AttachKretfunc(name)
		case strings.HasPrefix(name, prefixLSM):
			l, err = b.AttachLSM(name)
		default:
			continue
		}
		if err != nil {
			return links, fmt.Errorf("attach %s: %w", name, err)
		}
		links = append(links, l)
	}
	return links, nil
}

// AttachTracepoint attaches fnName to the tracepoint tp ("category:event",
// e.g. "kmem:kmalloc"), loading it as a Tracepoint program if needed (BCC's
// attach_tracepoint(tp=, fn_name=)). A missing tracepoint gives an error
// wrapping ErrTracepointNotFound. The Link is owned by b (see Link).
func (b *BPF) AttachTracepoint(tp, fnName string) (*Link, error) {
	cat, event, ok := strings.Cut(tp, ":")
	if !ok || cat == "" || event == "" {
		return nil, fmt.Errorf("tracepoint %q: want \"category:event\"", tp)
	}
	return b.attach(attachRequest{
		kind: LinkTracepoint, target: tp, fn: fnName, progType: Tracepoint,
		dup: dupTargetFunction, what: "tracepoint " + tp,
		opener: perfOpener([]int{0}, func(cpu int) (*perfevent.Event, error) {
			id, err := tracefs.TracepointID(cat, event)
			if err != nil {
				return nil, err
			}
			return perfevent.OpenTracepoint(id, -1, cpu)
		}),
	})
}

// DetachTracepoint detaches every function attached to tp, or only fnName
// when it is not empty (BCC's detach_tracepoint(tp=, fn_name=)).
func (b *BPF) DetachTracepoint(tp string, fnName ...string) error {
	return b.detach(LinkTracepoint, tp, fnName)
}

// AttachRawTracepoint attaches fnName to the raw tracepoint tp (e.g.
// "sched_switch"), loading it as a RawTracepoint program if needed (BCC's
// attach_raw_tracepoint(tp=, fn_name=)). The kernel would allow a second
// function on tp; BCC refuses it by name, and so does this.
func (b *BPF) AttachRawTracepoint(tp, fnName string) (*Link, error) {
	return b.attach(attachRequest{
		kind: LinkRawTracepoint, target: tp, fn: fnName, progType: RawTracepoint,
		dup: dupTarget, what: "raw tracepoint " + tp,
		opener: openerFunc(func(progFD int) (attachHandle, error) {
			fd, err := bpfsys.RawTracepointOpen(tp, progFD)
			if errors.Is(err, unix.ENOENT) {
				return nil, fmt.Errorf("raw tracepoint %q: %w", tp, ErrTracepointNotFound)
			}
			if err != nil {
				return nil, err
			}
			return &fdHandle{fd}, nil
		}),
	})
}

// DetachRawTracepoint detaches what is attached to the raw tracepoint tp
// (BCC's detach_raw_tracepoint(tp=)).
func (b *BPF) DetachRawTracepoint(tp string) error {
	return b.detach(LinkRawTracepoint, tp, nil)
}

func (b *BPF) findAttachment(kind LinkKind, target, fn string) *Link {
	for _, a := range b.attached {
		if a.kind == kind && a.target == target && (fn == "" || a.fn == fn) {
			return a
		}
	}
	return nil
}

// detach is BCC's by-name detach: every Link of kind on target (with
// function fn[0] when given) is detached; none is ErrNotAttached.
func (b *BPF) detach(kind LinkKind, target string, fn []string) error {
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
			errs = append(errs, a.detachLocked())
			continue
		}
		kept = append(kept, a)
	}
	clear(b.attached[len(kept):])
	b.attached = kept
	if !found {
		return fmt.Errorf("%s: %w", target, ErrNotAttached)
	}
	return errors.Join(errs...)
}

// attachment is what BPF.Close detaches in reverse order (bpf.go); it
// calls detach, with b.mu held, on each.
type attachment = Link

// detach is detachLocked under the name BPF.Close uses.
func (l *Link) detach() error { return l.detachLocked() }

// NumOpenTracepoints counts attached tracepoints and raw tracepoints
// (BCC's num_open_tracepoints).
func (b *BPF) NumOpenTracepoints() int {
	return b.count(LinkTracepoint) + b.count(LinkRawTracepoint)
}

// NumOpenKprobes counts attached kprobes and kretprobes (BCC's
// num_open_kprobes).
func (b *BPF) NumOpenKprobes() int { return b.count(LinkKprobe) + b.count(LinkKretprobe) }

// NumOpenUprobes counts attached uprobes and uretprobes, USDT probes
// included (BCC's num_open_uprobes).
func (b *BPF) NumOpenUprobes() int { return b.count(LinkUprobe) + b.count(LinkUretprobe) }

func (b *BPF) count(kind LinkKind) int {
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

// Links lists the attachments b holds, oldest first. The Links stay owned
// by b.
func (b *BPF) Links() []*Link {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Link(nil), b.attached...)
}
