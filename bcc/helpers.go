package bcc

import (
	"fmt"

	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/kallsyms"
	"github.com/gobcc/gobcc/internal/memlock"
	"github.com/gobcc/gobcc/internal/usym"
)

// XDPAction is what an XDP program returns (BCC's XDPAction, the kernel's
// enum xdp_action).
type XDPAction int

// The XDP actions, as BCC's BPF.XDP_ABORTED ... (XDPAction.XDP_*).
const (
	XDPAborted  XDPAction = 0
	XDPDrop     XDPAction = 1
	XDPPass     XDPAction = 2
	XDPTx       XDPAction = 3
	XDPRedirect XDPAction = 4
)

// String is the kernel's name: "XDP_PASS".
func (a XDPAction) String() string {
	switch a {
	case XDPAborted:
		return "XDP_ABORTED"
	case XDPDrop:
		return "XDP_DROP"
	case XDPPass:
		return "XDP_PASS"
	case XDPTx:
		return "XDP_TX"
	case XDPRedirect:
		return "XDP_REDIRECT"
	}
	return fmt.Sprintf("XDPAction(%d)", int(a))
}

// FindLibrary returns the path of a shared library from its short name
// ("c" -> "/lib/x86_64-linux-gnu/libc.so.6"), from /etc/ld.so.cache, as
// BCC's static BPF.find_library does; no BPF object is needed. The error
// wraps ErrLibraryNotFound when there is none (BCC returns None).
func FindLibrary(name string) (string, error) {
	p, err := usym.WhichSO(name, 0)
	if err != nil {
		return "", fmt.Errorf("find library %q: %w", name, err)
	}
	return p, nil
}

// UserFunction is a function symbol of an ELF file and its address in the
// file's layout (st_value), as BCC's get_user_functions_and_addresses
// returns them.
type UserFunction struct {
	Name string
	Addr uint64
}

// GetUserFunctionsAndAddresses lists the function symbols of name (a path,
// a library name such as "c", or an executable on $PATH) that symRe
// matches at their start, with their addresses (BCC's
// get_user_functions_and_addresses). A name may appear at several
// addresses and an address under several names, as in BCC; each pair
// comes once (BCC lists it once per symbol table, .symtab and .dynsym).
func GetUserFunctionsAndAddresses(name, symRe string) ([]UserFunction, error) {
	re, err := userFunctionsRegexp(symRe)
	if err != nil {
		return nil, err
	}
	syms, err := usym.FunctionSymbols(name, re)
	if err != nil {
		return nil, fmt.Errorf("user functions of %s: %w", name, err)
	}
	out := make([]UserFunction, len(syms))
	for i, s := range syms {
		out[i] = UserFunction{Name: s.Name, Addr: s.Value}
	}
	return out, nil
}

// GetUserAddresses returns the distinct addresses of the functions of
// name that symRe matches (BCC's get_user_addresses, a set there; here
// in the order GetUserFunctionsAndAddresses finds them). A uprobe can be
// attached once per address.
func GetUserAddresses(name, symRe string) ([]uint64, error) {
	fns, err := GetUserFunctionsAndAddresses(name, symRe)
	if err != nil {
		return nil, err
	}
	seen := make(map[uint64]bool, len(fns))
	var out []uint64
	for _, f := range fns {
		if !seen[f.Addr] {
			seen[f.Addr] = true
			out = append(out, f.Addr)
		}
	}
	return out, nil
}

// SupportRawTracepointInModule reports whether raw tracepoints defined in
// kernel modules can be attached (Linux 5.0+), as BCC's
// support_raw_tracepoint_in_module decides: the kernel symbol
// bpf_trace_modules exists.
func SupportRawTracepointInModule() (bool, error) {
	return kallsyms.Has("/proc/kallsyms", "bpf_trace_modules")
}

// systemMemlock is what RaiseMemlockLimit acts on, replaced in tests.
var systemMemlock = memlock.System

// RaiseMemlockLimit raises RLIMIT_MEMLOCK to unlimited when the running
// kernel charges BPF memory to it (before 5.11), as BCC does for every
// map and program (libbcc retries a refused map creation or load after
// setrlimit(RLIMIT_MEMLOCK, RLIM_INFINITY)). On newer kernels, such as
// this one, it does nothing. It reports whether it changed the limit.
// New calls it before compiling, so the compile helper inherits the
// limit; when it fails (no CAP_SYS_RESOURCE) New goes on and adds a
// warning (Warnings): the maps may still fit.
func RaiseMemlockLimit() (bool, error) { return memlock.Raise(systemMemlock) }

// GenerateAutoIncludes returns the #include lines BCC's
// generate_auto_includes derives from the words of a program (tools such
// as trace and argdist build programs from user expressions): a header
// is included when one of its keywords occurs within a word, e.g. "bio"
// in "struct bio *b" brings "#include <linux/blkdev.h>\n".
func GenerateAutoIncludes(programWords []string) string {
	return compiler.AutoIncludes(programWords)
}
