package attach

import (
	"fmt"
	"regexp"

	"github.com/gobcc/gobcc/internal/usym"
)

// UprobeTarget is BCC's (name, sym, addr, pid, sym_off) of a uprobe, with
// PID -1 for every process.
type UprobeTarget struct {
	Name, Sym    string
	Addr, SymOff uint64
	PID          int
}

// ResolvePID is the process whose maps and root a module name is
// resolved in: 0 (this mount namespace) for a probe on every process
// (pid -1), as BCC's _check_path_symbol passes it to libbcc.
func ResolvePID(pid int) int {
	if pid < 0 {
		return 0
	}
	return pid
}

// ResolveUprobe turns t into a file and a file offset, as BCC's
// _check_path_symbol does through libbcc, but in Go. An IFUNC symbol of a
// shared object resolves to the implementation that calls reach; where
// that fails, to its resolver. Either way warning says which.
func ResolveUprobe(r *usym.Resolver, t UprobeTarget) (path string, offset uint64, warning string, err error) {
	switch {
	case t.Addr != 0 && t.Sym != "":
		return "", 0, "", fmt.Errorf("uprobe on %s: give a symbol or UprobeOptions.Addr, not both", t.Name)
	case t.Addr != 0 && t.SymOff != 0:
		return "", 0, "", fmt.Errorf("uprobe on %s: UprobeOptions.SymOff does not apply with Addr", t.Name)
	case t.Addr == 0 && t.Sym == "":
		return "", 0, "", fmt.Errorf("uprobe on %s: give a symbol or UprobeOptions.Addr", t.Name)
	}
	pid := ResolvePID(t.PID)
	if t.Addr != 0 {
		path, off, err := r.ResolveAddress(pid, t.Name, t.Addr)
		if err != nil {
			return "", 0, "", fmt.Errorf("uprobe on %s: %w", t.Name, err)
		}
		return path, off, "", nil
	}
	path, s, err := r.ResolveSymbol(pid, t.Name, t.Sym)
	if err != nil {
		return "", 0, "", fmt.Errorf("uprobe: could not determine address of symbol %s in %s: %w", t.Sym, t.Name, err)
	}
	if s.IFUNC {
		impl, ierr := usym.ResolveIFUNC(path, t.Sym)
		if ierr == nil {
			warning = fmt.Sprintf("uprobe: %s in %s is an IFUNC; probing its implementation %s at file offset %#x, not its resolver", t.Sym, path, impl.Name, impl.FileOffset)
			s = impl
		} else {
			warning = fmt.Sprintf("uprobe: %s in %s is an IFUNC and its implementation could not be found (%v); the probe is on the resolver, which runs once at load", t.Sym, path, ierr)
		}
	}
	return path, s.FileOffset + t.SymOff, warning, nil
}

// UserFunctionsRegexp anchors symRe at the start of a name, as Python's
// re.match in BCC's _get_user_functions_and_addresses does.
func UserFunctionsRegexp(symRe string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + symRe + `)`)
	if err != nil {
		return nil, fmt.Errorf("symbol regexp: %w", err)
	}
	return re, nil
}

// ProbeAddresses keeps the first symbol at each address, as BCC's
// _get_user_functions_and_addresses does (it probes each address once),
// and drops those with no file offset a uprobe could use.
func ProbeAddresses(syms []usym.SymbolAddress) []usym.SymbolAddress {
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

// UserFunctions lists the names of the function symbols of name (a path
// or library name) that symRe matches at their start, one per address
// (BCC's get_user_functions).
func UserFunctions(name, symRe string) ([]string, error) {
	re, err := UserFunctionsRegexp(symRe)
	if err != nil {
		return nil, err
	}
	syms, err := usym.FunctionSymbols(name, re)
	if err != nil {
		return nil, fmt.Errorf("uprobe: %w", err)
	}
	seen := make(map[string]bool)
	var out []string
	for _, s := range ProbeAddresses(syms) {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	return out, nil
}

// UprobeReTargets finds the file of name (for process pid, -1: all) and
// its functions whose symbols symRe matches at their start, one per
// address, for BCC's attach_uprobe(sym_re=). Matching nothing is an
// error wrapping usym.ErrSymbolNotFound.
func UprobeReTargets(r *usym.Resolver, name, symRe string, pid int) (string, []usym.SymbolAddress, error) {
	re, err := UserFunctionsRegexp(symRe)
	if err != nil {
		return "", nil, err
	}
	path, all, err := r.FunctionSymbols(ResolvePID(pid), name, re)
	if err != nil {
		return "", nil, fmt.Errorf("uprobe: %w", err)
	}
	syms := ProbeAddresses(all)
	if len(syms) == 0 {
		return "", nil, fmt.Errorf("no function of %s matches %q: %w", path, symRe, usym.ErrSymbolNotFound)
	}
	return path, syms, nil
}
