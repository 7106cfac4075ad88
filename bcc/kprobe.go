package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/symbols"
)

// ErrProbeQuota means attaching would take the process over its probe
// quota (ProbeLimit).
var ErrProbeQuota = attach.ErrProbeQuota

// ProbeLimit is the most kprobes and uprobes a process may hold at once:
// BCC_PROBE_LIMIT when it is set to a number, else 1000 (BCC's
// get_probe_limit).
func ProbeLimit() int { return attach.ProbeLimit() }

// OpenProbes is the number of kprobes and uprobes this process holds over
// all BPF objects, the count ProbeLimit bounds.
func OpenProbes() int { return attach.OpenProbes() }

// KprobeOptions are the optional settings of AttachKprobe, AttachKretprobe
// and their Re forms, under BCC's argument names. The zero value is BCC's
// default.
type KprobeOptions struct {
	// EventOffset probes this many bytes into the function (BCC's
	// event_off=). Kretprobes ignore it.
	EventOffset uint64
	// MaxActive is how many instances of the function a kretprobe can
	// follow at once (BCC's maxactive=); 0 is the kernel's default. The
	// kprobe PMU cannot set it: a kretprobe with MaxActive is created
	// through tracefs kprobe_events, as BCC does.
	MaxActive int
}

// AttachKprobe attaches fnName, loaded as a Kprobe program, to the entry of
// the kernel function event (BCC's attach_kprobe(event=, fn_name=,
// event_off=)); opts, at most one, sets the offset. On a kernel without
// kprobes the error wraps ErrNotSupported and names CONFIG_KPROBES. The
// Link is owned by b (see Link).
func (b *BPF) AttachKprobe(event, fnName string, opts ...KprobeOptions) (*Link, error) {
	return b.attachKprobe(event, fnName, false, opts)
}

// AttachKretprobe attaches fnName to the return of kernel function event
// (BCC's attach_kretprobe(event=, fn_name=, maxactive=)).
func (b *BPF) AttachKretprobe(event, fnName string, opts ...KprobeOptions) (*Link, error) {
	return b.attachKprobe(event, fnName, true, opts)
}

// AttachKprobeRe attaches fnName to every function GetKprobeFunctions(eventRe)
// lists (BCC's attach_kprobe(event_re=, fn_name=)). As BCC, it fails only
// when no function could be attached (the error then joins each failure);
// the Links are those that attached.
func (b *BPF) AttachKprobeRe(eventRe, fnName string, opts ...KprobeOptions) ([]*Link, error) {
	return b.attachKprobeRe(eventRe, fnName, false, opts)
}

// AttachKretprobeRe is AttachKprobeRe for kretprobes (BCC's
// attach_kretprobe(event_re=, ...)).
func (b *BPF) AttachKretprobeRe(eventRe, fnName string, opts ...KprobeOptions) ([]*Link, error) {
	return b.attachKprobeRe(eventRe, fnName, true, opts)
}

func (b *BPF) attachKprobeRe(eventRe, fnName string, ret bool, opts []KprobeOptions) ([]*Link, error) {
	fns, err := attach.KprobeReTargets(eventRe)
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", fnName, err)
	}
	return attach.AttachAll(fns, true, true, func(fn string) (*Link, error) {
		return b.attachKprobe(fn, fnName, ret, opts)
	})
}

func (b *BPF) attachKprobe(event, fnName string, ret bool, opts []KprobeOptions) (*Link, error) {
	kind := attach.ProbeKind(false, ret)
	o, err := attachOptions("Attach"+kind.Call(), opts)
	if err != nil {
		return nil, err
	}
	open, err := attach.KprobeOpener(event, ret, o.EventOffset, o.MaxActive)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", fnName, event, err)
	}
	return b.attach(attach.Request{Kind: kind, Target: event, Fn: fnName,
		Dup: attach.DupTargetFunction, What: kind.String() + " " + event, Open: open}, Kprobe, 0, nil)
}

// DetachKprobe detaches what is attached to the entry of event, or only
// fnName when given (BCC's detach_kprobe(event=, fn_name=)).
func (b *BPF) DetachKprobe(event string, fnName ...string) error {
	return b.detach(LinkKprobe, event, fnName)
}

// DetachKretprobe detaches what is attached to the return of event (BCC's
// detach_kretprobe(event=, fn_name=)).
func (b *BPF) DetachKretprobe(event string, fnName ...string) error {
	return b.detach(LinkKretprobe, event, fnName)
}

// GetSyscallPrefix returns the kernel's system call function prefix, such
// as "__x64_sys_" (BCC's get_syscall_prefix). Without kallsyms it returns
// "sys_".
func (b *BPF) GetSyscallPrefix() string {
	k, err := b.ksyms.get()
	if err != nil {
		return symbols.SyscallPrefixes[0]
	}
	return k.SyscallPrefix()
}

// GetSyscallFnName returns the kernel function of system call name:
// "clone" -> "__x64_sys_clone" on x86-64 (BCC's get_syscall_fnname).
func (b *BPF) GetSyscallFnName(name string) string {
	return b.GetSyscallPrefix() + name
}

// FixSyscallFnName rewrites a function name carrying any known system call
// prefix to this kernel's: "sys_clone" -> "__x64_sys_clone" (BCC's
// fix_syscall_fnname). Other names are returned unchanged. New applies it
// to kprobe__ and kretprobe__ functions.
func (b *BPF) FixSyscallFnName(name string) string {
	return attach.FixSyscallFnName(symbols.SyscallPrefixes, name, b.GetSyscallPrefix)
}
