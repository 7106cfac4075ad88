package bcc

import (
	"errors"
	"fmt"
	"regexp"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/perfevent"
	"github.com/gobcc/gobcc/internal/tracefs"
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

// uprobeConfig is UprobeOptions with the process normalised: pid -1 is
// every process.
type uprobeConfig struct {
	addr   uint64
	symOff uint64
	pid    int
}

func uprobeOptions(call string, opts []UprobeOptions) (uprobeConfig, error) {
	o, err := attachOptions(call, opts)
	if err != nil {
		return uprobeConfig{}, err
	}
	c := uprobeConfig{addr: o.Addr, symOff: o.SymOff, pid: o.PID}
	if c.pid <= 0 {
		c.pid = -1
	}
	return c, nil
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
	return b.usyms.get(), nil
}

// resolvePID is the process whose maps and root a module name is
// resolved in: 0 (this mount namespace) for a probe on every process,
// as BCC's _check_path_symbol passes it to libbcc.
func resolvePID(pid int) int {
	if pid < 0 {
		return 0
	}
	return pid
}

var probeRepl = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// uprobeEventName is BCC's _get_uprobe_evname: the name a uprobe is known
// by for detaching.
func uprobeEventName(prefix, path string, offset uint64, pid int) string {
	name := fmt.Sprintf("%s_%s_0x%x", prefix, probeRepl.ReplaceAllString(path, "_"), offset)
	if pid != -1 {
		name += fmt.Sprintf("_%d", pid)
	}
	return name
}

// resolveUprobe turns BCC's (name, sym, addr, pid, sym_off) into a file and
// a file offset, as _check_path_symbol does through libbcc, but in Go. An
// IFUNC symbol of a shared object resolves to the implementation that calls
// reach, with a warning; where that fails, to its resolver, with a warning.
func (b *BPF) resolveUprobe(name, sym string, c uprobeConfig) (string, uint64, error) {
	if c.addr != 0 && sym != "" {
		return "", 0, fmt.Errorf("uprobe on %s: give a symbol or UprobeOptions.Addr, not both", name)
	}
	if c.addr != 0 && c.symOff != 0 {
		return "", 0, fmt.Errorf("uprobe on %s: UprobeOptions.SymOff does not apply with Addr", name)
	}
	if c.addr == 0 && sym == "" {
		return "", 0, fmt.Errorf("uprobe on %s: give a symbol or UprobeOptions.Addr", name)
	}
	pid := resolvePID(c.pid)
	r, err := b.userResolver()
	if err != nil {
		return "", 0, err
	}
	if c.addr != 0 {
		path, off, err := r.ResolveAddress(pid, name, c.addr)
		if err != nil {
			return "", 0, fmt.Errorf("uprobe on %s: %w", name, err)
		}
		return path, off, nil
	}
	path, s, err := r.ResolveSymbol(pid, name, sym)
	if err != nil {
		return "", 0, fmt.Errorf("uprobe: could not determine address of symbol %s in %s: %w", sym, name, err)
	}
	if s.IFUNC {
		impl, ierr := usym.ResolveIFUNC(path, sym)
		b.mu.Lock()
		if ierr == nil {
			b.warnings = append(b.warnings, fmt.Sprintf("uprobe: %s in %s is an IFUNC; probing its implementation %s at file offset %#x, not its resolver", sym, path, impl.Name, impl.FileOffset))
			s = impl
		} else {
			b.warnings = append(b.warnings, fmt.Sprintf("uprobe: %s in %s is an IFUNC and its implementation could not be found (%v); the probe is on the resolver, which runs once at load", sym, path, ierr))
		}
		b.mu.Unlock()
	}
	return path, s.FileOffset + c.symOff, nil
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

// GetUserFunctions lists the function symbols of name (a path or library
// name) that symRe matches at their start (BCC's get_user_functions).
func GetUserFunctions(name, symRe string) ([]string, error) {
	re, err := userFunctionsRegexp(symRe)
	if err != nil {
		return nil, err
	}
	syms, err := usym.FunctionSymbols(name, re)
	if err != nil {
		return nil, fmt.Errorf("uprobe: %w", err)
	}
	seen := make(map[string]bool)
	var out []string
	for _, s := range probeAddresses(syms) {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	return out, nil
}

// userFunctionsRegexp anchors symRe at the start of a name, as Python's
// re.match in BCC's _get_user_functions_and_addresses does.
func userFunctionsRegexp(symRe string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + symRe + `)`)
	if err != nil {
		return nil, fmt.Errorf("symbol regexp: %w", err)
	}
	return re, nil
}

// probeAddresses keeps the first symbol at each address, as BCC's
// _get_user_functions_and_addresses does (it probes each address once),
// and drops those with no file offset a uprobe could use.
func probeAddresses(syms []usym.SymbolAddress) []usym.SymbolAddress {
	seen := make(map[uint64]bool)
	var out []usym.SymbolAddress
	for _, s := range syms {
		if s.FileOffsetErr != nil || seen[s.Value] {
			continue
		}
		seen[s.Value] = true
		out = append(out, s)
	}
	return out
}

func (b *BPF) attachUprobeRe(name, symRe, fnName string, ret bool, opts []UprobeOptions) ([]*Link, error) {
	c, err := uprobeOptions("AttachUprobeRe", opts)
	if err != nil {
		return nil, err
	}
	re, err := userFunctionsRegexp(symRe)
	if err != nil {
		return nil, err
	}
	r, err := b.userResolver()
	if err != nil {
		return nil, err
	}
	path, all, err := r.FunctionSymbols(resolvePID(c.pid), name, re)
	if err != nil {
		return nil, fmt.Errorf("uprobe: %w", err)
	}
	syms := probeAddresses(all)
	if len(syms) == 0 {
		return nil, fmt.Errorf("attach %s: no function of %s matches %q: %w", fnName, path, symRe, usym.ErrSymbolNotFound)
	}
	if err := checkProbeQuota(len(syms)); err != nil {
		return nil, err
	}
	links := make([]*Link, 0, len(syms))
	for _, s := range syms {
		l, err := b.attachUprobeAt(path, s.FileOffset, fnName, c.pid, 0, ret)
		if err != nil {
			return nil, closeLinks(err, links)
		}
		links = append(links, l)
	}
	return links, nil
}

// closeLinks closes links attached by a call that failed with err, and
// returns err joined with what closing them reported.
func closeLinks(err error, links []*Link) error {
	errs := []error{err}
	for i := len(links) - 1; i >= 0; i-- {
		errs = append(errs, links[i].Close())
	}
	return errors.Join(errs...)
}

func (b *BPF) attachUprobe(name, sym, fnName string, ret bool, opts []UprobeOptions) (*Link, error) {
	c, err := uprobeOptions("Attach"+kindCall(uprobeKind(ret)), opts)
	if err != nil {
		return nil, err
	}
	path, off, err := b.resolveUprobe(name, sym, c)
	if err != nil {
		return nil, err
	}
	return b.attachUprobeAt(path, off, fnName, c.pid, 0, ret)
}

func uprobeKind(ret bool) LinkKind {
	if ret {
		return LinkUretprobe
	}
	return LinkUprobe
}

// uprobeOpener picks how to create a uprobe: the uprobe PMU (Linux
// 4.17+), else tracefs uprobe_events.
func uprobeOpener(path string, offset uint64, pid int, refCtrOff uint64, ret bool) (opener, error) {
	// A uprobe for all processes is opened on one CPU and fires on every
	// CPU; one for a process follows it on any CPU.
	cpu := 0
	if pid >= 0 {
		cpu = -1
	}
	pmu, err := perfevent.PMUType("uprobe")
	if err != nil || forceProbeEvents.Load() {
		if !tracefs.ProbeEventsSupported("uprobe_events") {
			return nil, uprobeSupport()
		}
		return withNoProcess(pid, probeEventsOpener{pid: pid, cpu: cpu, add: func() (*tracefs.ProbeEvent, error) {
			return tracefs.AddUprobe(probeEventsGroup, probeEventName(), path, offset, refCtrOff, ret)
		}}), nil
	}
	// ref_ctr_offset lives in config bits 32-63. BCC 0.26 passes garbage
	// there (bcc#5236); 0 means no semaphore.
	config := refCtrOff << 32
	if ret {
		config |= perfevent.RetprobeBit("uprobe")
	}
	return withNoProcess(pid, pmuProbeOpener{pmu: pmu, target: path, offset: offset, config: config, pid: pid, cpu: cpu}), nil
}

// withNoProcess names the process in ESRCH errors.
func withNoProcess(pid int, o opener) opener {
	return openerFunc(func(progFD int) (attachHandle, error) {
		h, err := o.open(progFD)
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("no process %d: %w", pid, err)
		}
		return h, err
	})
}

// attachUprobeAt attaches a uprobe at a file offset. refCtrOff is the file
// offset of a USDT semaphore the kernel counts while the probe exists, or 0.
func (b *BPF) attachUprobeAt(path string, offset uint64, fnName string, pid int, refCtrOff uint64, ret bool) (*Link, error) {
	kind, prefix := LinkUprobe, "p"
	if ret {
		kind, prefix = LinkUretprobe, "r"
	}
	evName := uprobeEventName(prefix, path, offset, pid)
	op, err := uprobeOpener(path, offset, pid, refCtrOff, ret)
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", fnName, evName, err)
	}
	return b.attach(attachRequest{
		kind: kind, target: evName, fn: fnName, progType: Kprobe,
		dup: dupTarget, what: fmt.Sprintf("%s %s (%s+%#x)", kind, evName, path, offset), opener: op,
	})
}

// DetachUprobe detaches the uprobe AttachUprobe made with the same name,
// sym and options (BCC's detach_uprobe(name=, sym=, addr=, pid=,
// sym_off=)).
func (b *BPF) DetachUprobe(name, sym string, opts ...UprobeOptions) error {
	return b.detachUprobe(name, sym, "p", LinkUprobe, opts)
}

// DetachUretprobe detaches a uretprobe (BCC's detach_uretprobe).
func (b *BPF) DetachUretprobe(name, sym string, opts ...UprobeOptions) error {
	return b.detachUprobe(name, sym, "r", LinkUretprobe, opts)
}

func (b *BPF) detachUprobe(name, sym, prefix string, kind LinkKind, opts []UprobeOptions) error {
	c, err := uprobeOptions("Detach"+kindCall(kind), opts)
	if err != nil {
		return err
	}
	path, off, err := b.resolveUprobe(name, sym, c)
	if err != nil {
		return err
	}
	return b.detach(kind, uprobeEventName(prefix, path, off, c.pid), nil)
}
