package bcc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gobcc/gobcc/internal/attach"
)

// Attach errors, defined in internal/attach (errors.Is works on both).
var (
	// ErrAlreadyAttached means the function is already attached there.
	ErrAlreadyAttached = attach.ErrAlreadyAttached
	// ErrNotAttached means nothing of ours is attached there.
	ErrNotAttached = attach.ErrNotAttached
)

// LinkKind names what a Link attaches to.
type LinkKind int

// The kinds of attachment.
const (
	LinkTracepoint    = LinkKind(attach.Tracepoint)    // AttachTracepoint
	LinkRawTracepoint = LinkKind(attach.RawTracepoint) // AttachRawTracepoint
	LinkKprobe        = LinkKind(attach.Kprobe)        // AttachKprobe
	LinkKretprobe     = LinkKind(attach.Kretprobe)     // AttachKretprobe
	LinkUprobe        = LinkKind(attach.Uprobe)        // AttachUprobe, USDT probes
	LinkUretprobe     = LinkKind(attach.Uretprobe)     // AttachUretprobe
	LinkPerfEvent     = LinkKind(attach.PerfEvent)     // AttachPerfEvent, AttachPerfEventRaw
	LinkKfunc         = LinkKind(attach.Kfunc)         // AttachKfunc
	LinkKretfunc      = LinkKind(attach.Kretfunc)      // AttachKretfunc
	LinkLSM           = LinkKind(attach.LSM)           // AttachLSM
	LinkXDP           = LinkKind(attach.XDP)           // AttachXDP
	LinkRawSocket     = LinkKind(attach.RawSocket)     // AttachRawSocket
	LinkProgAttach    = LinkKind(attach.ProgAttach)    // AttachFunc (BPF_PROG_ATTACH)
)

// String is the kind's name ("tracepoint", "uprobe", ...).
func (k LinkKind) String() string { return attach.Kind(k).String() }

// Link is one attachment of a function: a probe, tracepoint, perf event,
// hook or socket that holds a loaded program in place, in the manner of
// cilium/ebpf's link.Link.
//
// The BPF object that made the Link owns it: BPF.Close detaches every Link
// still attached, and BCC's by-name Detach* calls detach the Links they
// name. The caller may also Close a Link to detach just that attachment;
// the Link is then no longer counted by NumOpen* nor detached again. A
// Link's methods are safe for concurrent use, and with those of its BPF.
type Link struct{ l *attach.Link }

// Kind is what the Link attaches to.
func (l *Link) Kind() LinkKind { return LinkKind(l.l.Kind()) }

// Target names what the function is attached to, as the by-name Detach*
// calls know it: "category:event" for a tracepoint, the kernel function of
// a kprobe or kfunc, BCC's event name ("p_<path>_0x<offset>[_<pid>]") for a
// uprobe, "perf:<type>:<config>" for a perf event, the device of an XDP
// program or raw socket.
func (l *Link) Target() string { return l.l.Target() }

// Function is the name of the attached BPF function.
func (l *Link) Function() string { return l.l.Function() }

// String describes the Link: "tracepoint sched:sched_switch <- on_switch".
func (l *Link) String() string { return l.l.String() }

// FD is the descriptor that holds the attachment when there is exactly one
// (a tracepoint's or probe's perf event, a raw tracepoint or kfunc link, a
// raw socket, which AttachRawSocket's callers read packets from), else -1:
// a perf event opened on several CPUs, an XDP program, a detached Link.
// The Link owns the descriptor; it is valid until the Link is detached.
func (l *Link) FD() int { return l.l.FD() }

// Attached reports whether the Link is still attached: false after Close,
// a Detach* that named it, or BPF.Close.
func (l *Link) Attached() bool { return l.l.Attached() }

// Close detaches this attachment only. It is idempotent, and a no-op after
// the BPF object's Close or a Detach* call that already detached it.
func (l *Link) Close() error { return l.l.Close() }

// attach loads the request's function as progType (unless loaded, a
// function the caller loaded with LoadFunc, is given) and attaches it
// through b.links, the one path every Attach* goes through.
func (b *BPF) attach(req attach.Request, progType ProgType, attachType AttachType, loaded *Function) (*Link, error) {
	req.Program = func() (int, error) {
		if loaded == nil {
			f, err := b.loadFunc(req.Fn, progType, attachType)
			if err != nil {
				return -1, err
			}
			return f.FD, nil
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.funcs[loaded.Name] != loaded {
			return -1, fmt.Errorf("attach %s: %w: load the function with LoadFunc first", loaded.Name, ErrFunctionNotFound)
		}
		return loaded.FD, nil
	}
	req.Public = func(l *attach.Link) any { return &Link{l} }
	l, err := b.links.Attach(req)
	if err != nil {
		return nil, closedAs(err)
	}
	return l.Public.(*Link), nil
}

// closedAs reports the registry's closed error as the object's ErrClosed.
func closedAs(err error) error {
	if errors.Is(err, attach.ErrClosed) {
		return ErrClosed
	}
	return err
}

// detach is BCC's by-name detach: every Link of kind on target (with
// function fn[0] when given) is detached; none is ErrNotAttached.
func (b *BPF) detach(kind LinkKind, target string, fn []string) error {
	name := ""
	if len(fn) > 0 {
		name = fn[0]
	}
	return closedAs(b.links.Detach(attach.Kind(kind), target, name))
}

// attachOptions is oneOption with the attach call named in its error.
func attachOptions[T any](call string, opts []T) (T, error) {
	o, err := oneOption(opts)
	if err != nil {
		return o, fmt.Errorf("%s: %w", call, err)
	}
	return o, nil
}

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
		kind, target, ok := attach.AutoTarget(f.Name)
		if !ok {
			continue
		}
		var l *Link
		var err error
		switch kind {
		case attach.Tracepoint:
			l, err = b.AttachTracepoint(target, f.Name)
		case attach.RawTracepoint:
			l, err = b.AttachRawTracepoint(target, f.Name)
		case attach.Kprobe:
			l, err = b.AttachKprobe(b.FixSyscallFnName(target), f.Name)
		case attach.Kretprobe:
			l, err = b.AttachKretprobe(b.FixSyscallFnName(target), f.Name)
		default: // kfunc, kretfunc, LSM
			l, err = b.attachTracing(LinkKind(kind), f.Name)
		}
		if err != nil {
			return links, fmt.Errorf("attach %s: %w", f.Name, err)
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
	return b.attach(attach.Request{Kind: attach.Tracepoint, Target: tp, Fn: fnName,
		Dup: attach.DupTargetFunction, What: "tracepoint " + tp,
		Open: attach.TracepointOpener(cat, event)}, Tracepoint, 0, nil)
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
	return b.attach(attach.Request{Kind: attach.RawTracepoint, Target: tp, Fn: fnName,
		Dup: attach.DupTarget, What: "raw tracepoint " + tp,
		Open: attach.RawTracepointOpener(tp)}, RawTracepoint, 0, nil)
}

// DetachRawTracepoint detaches what is attached to the raw tracepoint tp
// (BCC's detach_raw_tracepoint(tp=)).
func (b *BPF) DetachRawTracepoint(tp string) error {
	return b.detach(LinkRawTracepoint, tp, nil)
}

// NumOpenTracepoints counts attached tracepoints and raw tracepoints
// (BCC's num_open_tracepoints).
func (b *BPF) NumOpenTracepoints() int {
	return b.links.Count(attach.Tracepoint, attach.RawTracepoint)
}

// NumOpenKprobes counts attached kprobes and kretprobes (BCC's
// num_open_kprobes).
func (b *BPF) NumOpenKprobes() int { return b.links.Count(attach.Kprobe, attach.Kretprobe) }

// NumOpenUprobes counts attached uprobes and uretprobes, USDT probes
// included (BCC's num_open_uprobes).
func (b *BPF) NumOpenUprobes() int { return b.links.Count(attach.Uprobe, attach.Uretprobe) }

// Links lists the attachments b holds, oldest first. The Links stay owned
// by b.
func (b *BPF) Links() []*Link {
	var links []*Link
	for _, l := range b.links.Links() {
		links = append(links, l.Public.(*Link))
	}
	return links
}
