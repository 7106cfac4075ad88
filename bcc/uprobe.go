package bcc

import (
	"errors"
	"fmt"
	"regexp"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/internal/usym"
)

// UprobeOption adjusts AttachUprobe, AttachUretprobe and their Detach forms.
type UprobeOption func(*uprobeConfig)

type uprobeConfig struct {
	addr    uint64
	hasAddr bool
	symOff  uint64
	pid     int
}

// UprobeAddr probes this address instead of a symbol (BCC's addr=): a
// virtual address for a fixed-address executable, an address relative to
// the load address for PIE executables and shared objects, as the file's
// symbol table gives them. The sym argument must then be "".
func UprobeAddr(addr uint64) UprobeOption {
	return func(c *uprobeConfig) { c.addr, c.hasAddr = addr, true }
}

// UprobeSymOff probes off bytes into the symbol (BCC's sym_off).
func UprobeSymOff(off uint64) UprobeOption {
	return func(c *uprobeConfig) { c.symOff = off }
}

// UprobePID fires the probe only in process pid (BCC's pid=); a library
// name is then first looked for among that process's mappings. The default,
// -1, fires in every process.
func UprobePID(pid int) UprobeOption {
	return func(c *uprobeConfig) { c.pid = pid }
}

func uprobeOptions(opts []UprobeOption) uprobeConfig {
	c := uprobeConfig{pid: -1}
	for _, o := range opts {
		o(&c)
	}
	return c
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
func (c uprobeConfig) resolvePID() int {
	if c.pid < 0 {
		return 0
	}
	return c.pid
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
	if c.hasAddr && sym != "" {
		return "", 0, fmt.Errorf("uprobe on %s: give a symbol or UprobeAddr, not both", name)
	}
	if c.hasAddr && c.symOff != 0 {
		return "", 0, fmt.Errorf("uprobe on %s: UprobeSymOff does not apply with UprobeAddr", name)
	}
	pid := c.resolvePID()
	r, err := b.userResolver()
	if err != nil {
		return "", 0, err
	}
	if c.hasAddr {
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
// of the binary or library name (BCC's attach_uprobe(name=, sym=,
// fn_name=)). name is a path, or a library name such as "c" found as BCC's
// find_library does (the process's mappings when UprobePID is given, then
// /etc/ld.so.cache), or an executable on $PATH. Symbols are resolved in Go
// from the ELF symbol tables; libbcc is not needed.
func (b *BPF) AttachUprobe(name, sym, fnName string, opts ...UprobeOption) error {
	return b.attachUprobe(name, sym, fnName, false, opts)
}

// AttachUretprobe is AttachUprobe for the function's return (BCC's
// attach_uretprobe).
func (b *BPF) AttachUretprobe(name, sym, fnName string, opts ...UprobeOption) error {
	return b.attachUprobe(name, sym, fnName, true, opts)
}

// AttachUprobeRe attaches fnName to every function of name whose symbol
// symRe matches at its start, once per address (BCC's
// attach_uprobe(sym_re=...)).
func (b *BPF) AttachUprobeRe(name, symRe, fnName string, opts ...UprobeOption) error {
	return b.attachUprobeRe(name, symRe, fnName, false, opts)
}

// AttachUretprobeRe is AttachUprobeRe for returns.
func (b *BPF) AttachUretprobeRe(name, symRe, fnName string, opts ...UprobeOption) error {
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

func (b *BPF) attachUprobeRe(name, symRe, fnName string, ret bool, opts []UprobeOption) error {
	c := uprobeOptions(opts)
	re, err := userFunctionsRegexp(symRe)
	if err != nil {
		return err
	}
	r, err := b.userResolver()
	if err != nil {
		return err
	}
	path, all, err := r.FunctionSymbols(c.resolvePID(), name, re)
	if err != nil {
		return fmt.Errorf("uprobe: %w", err)
	}
	syms := probeAddresses(all)
	if len(syms) == 0 {
		return fmt.Errorf("attach %s: no function of %s matches %q: %w", fnName, path, symRe, usym.ErrSymbolNotFound)
	}
	if err := checkProbeQuota(len(syms)); err != nil {
		return err
	}
	for _, s := range syms {
		if err := b.attachUprobeAt(path, s.FileOffset, fnName, c.pid, 0, ret); err != nil {
			return err
		}
	}
	return nil
}

func (b *BPF) attachUprobe(name, sym, fnName string, ret bool, opts []UprobeOption) error {
	c := uprobeOptions(opts)
	path, off, err := b.resolveUprobe(name, sym, c)
	if err != nil {
		return err
	}
	return b.attachUprobeAt(path, off, fnName, c.pid, 0, ret)
}

// attachUprobeAt attaches through the uprobe PMU at a file offset.
// refCtrOff is the file offset of a USDT semaphore the kernel counts while
// the probe exists, or 0.
func (b *BPF) attachUprobeAt(path string, offset uint64, fnName string, pid int, refCtrOff uint64, ret bool) error {
	kind, prefix := kindUprobe, "p"
	if ret {
		kind, prefix = kindUretprobe, "r"
	}
	evName := uprobeEventName(prefix, path, offset, pid)
	pmu, err := pmuType("uprobe")
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", fnName, evName, uprobeSupport())
	}
	if err := checkProbeQuota(1); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.attachableLocked(kind, evName, "", "uprobe "+evName); err != nil {
		return err
	}
	f, err := b.loadFuncLocked(fnName, Kprobe, AttachNone)
	if err != nil {
		return err
	}
	// ref_ctr_offset lives in config bits 32-63. BCC 0.26 passes garbage
	// there (bcc#5236); 0 means no semaphore.
	config := refCtrOff << 32
	if ret {
		config |= pmuRetprobeBit("uprobe")
	}
	// A uprobe for all processes is opened on one CPU and fires on every
	// CPU; one for a process follows it on any CPU.
	cpu := 0
	if pid >= 0 {
		cpu = -1
	}
	fd, err := openProbePMU(pmu, path, offset, config, pid, cpu, f.FD)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("attach %s to %s: no process %d: %w", fnName, evName, pid, err)
		}
		return fmt.Errorf("attach %s to uprobe %s+%#x: %w", fnName, path, offset, err)
	}
	openProbes.Add(1)
	b.attached = append(b.attached, &attachment{kind: kind, target: evName, fn: fnName, fd: fd})
	return nil
}

// DetachUprobe detaches the uprobe AttachUprobe made with the same name,
// sym and options (BCC's detach_uprobe).
func (b *BPF) DetachUprobe(name, sym string, opts ...UprobeOption) error {
	return b.detachUprobe(name, sym, "p", kindUprobe, opts)
}

// DetachUretprobe detaches a uretprobe (BCC's detach_uretprobe).
func (b *BPF) DetachUretprobe(name, sym string, opts ...UprobeOption) error {
	return b.detachUprobe(name, sym, "r", kindUretprobe, opts)
}

func (b *BPF) detachUprobe(name, sym, prefix string, kind attachKind, opts []UprobeOption) error {
	c := uprobeOptions(opts)
	path, off, err := b.resolveUprobe(name, sym, c)
	if err != nil {
		return err
	}
	return b.detach(kind, uprobeEventName(prefix, path, off, c.pid), nil)
}
