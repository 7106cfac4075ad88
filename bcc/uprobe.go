package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/usym"
)

// UprobeOptions are the optional settings of AttachUprobe,
// AttachUretprobe, their Re forms and their Detach forms, under BCC's
// argument names. The zero value is BCC's default.
type UprobeOptions struct {
	// Addr probes this address instead of a symbol (BCC's addr=): a
	// virtual address for a fixed-address executable, an address relative
	// to the load address for PIE executables and shared objects, as the
	// file's symbol table gives them. The sym argument must then be "".
	// 0 is no address, as in BCC.
	Addr uint64
	// SymOff probes this many bytes into the symbol (BCC's sym_off=).
	SymOff uint64
	// PID fires the probe only in this process (BCC's pid=); a library
	// name is then first looked for among that process's mappings. 0, like
	// BCC's default -1, fires in every process.
	PID int
}

// uprobeTarget is the call's arguments with the process normalised: pid
// -1 is every process.
func uprobeTarget(call, name, sym string, opts []UprobeOptions) (attach.UprobeTarget, error) {
	o, err := attachOptions(call, opts)
	t := attach.UprobeTarget{Name: name, Sym: sym, Addr: o.Addr, SymOff: o.SymOff, PID: o.PID}
	if t.PID <= 0 {
		t.PID = -1
	}
	return t, err
}

// userResolver is the object's symbol resolver, or ErrClosed after Close
// (which released it; asking b.usyms would make a new one nothing frees).
func (b *BPF) userResolver() (*usym.Resolver, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return b.usyms.Get(), nil
}

// resolvePID is attach.ResolvePID, for usdt.go.
func resolvePID(pid int) int { return attach.ResolvePID(pid) }

// resolveUprobe finds the file and file offset of t with b's resolver,
// keeping the warning an IFUNC symbol gives.
func (b *BPF) resolveUprobe(t attach.UprobeTarget) (string, uint64, error) {
	r, err := b.userResolver()
	if err != nil {
		return "", 0, err
	}
	path, off, warning, err := attach.ResolveUprobe(r, t)
	if warning != "" {
		b.mu.Lock()
		b.warnings = append(b.warnings, warning)
		b.mu.Unlock()
	}
	return path, off, err
}

// AttachUprobe attaches fnName, loaded as a Kprobe program, to symbol sym
// of the binary or library name (BCC's attach_uprobe(name=, sym=, addr=,
// fn_name=, pid=, sym_off=)); opts, at most one, carries addr, pid and
// sym_off. name is a path, or a library name such as "c" found as BCC's
// find_library does (the process's mappings when a PID is given, then
// /etc/ld.so.cache), or an executable on $PATH. Symbols are resolved in Go
// from the ELF symbol tables; libbcc is not needed. The Link is owned by b
// (see Link).
func (b *BPF) AttachUprobe(name, sym, fnName string, opts ...UprobeOptions) (*Link, error) {
	return b.attachUprobe(name, sym, fnName, false, opts)
}

// AttachUretprobe is AttachUprobe for the function's return (BCC's
// attach_uretprobe(name=, sym=, addr=, fn_name=, pid=)).
func (b *BPF) AttachUretprobe(name, sym, fnName string, opts ...UprobeOptions) (*Link, error) {
	return b.attachUprobe(name, sym, fnName, true, opts)
}

// AttachUprobeRe attaches fnName to every function of name whose symbol
// symRe matches at its start, once per address (BCC's
// attach_uprobe(name=, sym_re=, fn_name=, pid=)). Like BCC it stops at the
// first failure, but, unlike BCC, it first detaches what it attached.
func (b *BPF) AttachUprobeRe(name, symRe, fnName string, opts ...UprobeOptions) ([]*Link, error) {
	return b.attachUprobeRe(name, symRe, fnName, false, opts)
}

// AttachUretprobeRe is AttachUprobeRe for returns (BCC's
// attach_uretprobe(name=, sym_re=, ...)).
func (b *BPF) AttachUretprobeRe(name, symRe, fnName string, opts ...UprobeOptions) ([]*Link, error) {
	return b.attachUprobeRe(name, symRe, fnName, true, opts)
}

func (b *BPF) attachUprobeRe(name, symRe, fnName string, ret bool, opts []UprobeOptions) ([]*Link, error) {
	t, err := uprobeTarget("AttachUprobeRe", name, "", opts)
	if err != nil {
		return nil, err
	}
	r, err := b.userResolver()
	if err != nil {
		return nil, err
	}
	path, syms, err := attach.UprobeReTargets(r, name, symRe, t.PID)
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", fnName, err)
	}
	return attach.AttachAll(syms, true, false, func(s usym.SymbolAddress) (*Link, error) {
		return b.attachUprobeAt(path, s.FileOffset, fnName, t.PID, 0, ret)
	})
}

func (b *BPF) attachUprobe(name, sym, fnName string, ret bool, opts []UprobeOptions) (*Link, error) {
	t, err := uprobeTarget("Attach"+attach.ProbeKind(true, ret).Call(), name, sym, opts)
	if err != nil {
		return nil, err
	}
	path, off, err := b.resolveUprobe(t)
	if err != nil {
		return nil, err
	}
	return b.attachUprobeAt(path, off, fnName, t.PID, 0, ret)
}

// attachUprobeAt attaches a uprobe at a file offset. refCtrOff is the file
// offset of a USDT semaphore the kernel counts while the probe exists, or 0.
func (b *BPF) attachUprobeAt(path string, offset uint64, fnName string, pid int, refCtrOff uint64, ret bool) (*Link, error) {
	kind := attach.ProbeKind(true, ret)
	evName := attach.UprobeEventName(ret, path, offset, pid)
	open, err := attach.UprobeOpener(path, offset, pid, refCtrOff, ret)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", fnName, evName, err)
	}
	return b.attach(attach.Request{Kind: kind, Target: evName, Fn: fnName, Dup: attach.DupTarget,
		What: fmt.Sprintf("%s %s (%s+%#x)", kind, evName, path, offset), Open: open}, Kprobe, 0, nil)
}

// DetachUprobe detaches the uprobe AttachUprobe made with the same name,
// sym and options (BCC's detach_uprobe(name=, sym=, addr=, pid=,
// sym_off=)).
func (b *BPF) DetachUprobe(name, sym string, opts ...UprobeOptions) error {
	return b.detachUprobe(name, sym, false, opts)
}

// DetachUretprobe detaches a uretprobe (BCC's detach_uretprobe).
func (b *BPF) DetachUretprobe(name, sym string, opts ...UprobeOptions) error {
	return b.detachUprobe(name, sym, true, opts)
}

func (b *BPF) detachUprobe(name, sym string, ret bool, opts []UprobeOptions) error {
	kind := attach.ProbeKind(true, ret)
	t, err := uprobeTarget("Detach"+kind.Call(), name, sym, opts)
	if err != nil {
		return err
	}
	path, off, err := b.resolveUprobe(t)
	if err != nil {
		return err
	}
	return b.detach(LinkKind(kind), attach.UprobeEventName(ret, path, off, t.PID), nil)
}
