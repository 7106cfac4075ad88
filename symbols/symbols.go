// Package symbols names code addresses: kernel addresses through
// /proc/kallsyms, and user-space functions of ELF files and processes.
//
// It holds what needs no BPF object: the kernel symbol table (BCC's
// BPF.ksym and ksymname), the options every symbol formatter takes, and
// BCC's static helpers that list or find user-space functions and files
// (find_library, find_exe, get_user_functions_and_addresses, ...). A
// bcc.BPF object resolves addresses of its stacks with the same code
// through its Ksym, Sym, SymName and ResolveUser methods, whose caches
// live until it is closed.
package symbols

import (
	"fmt"
	"os/exec"
	"slices"

	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/kallsyms"
	"github.com/gobcc/gobcc/internal/optarg"
	"github.com/gobcc/gobcc/internal/usym"
)

// Errors of symbol lookups.
var (
	// ErrAddressesHidden means /proc/kallsyms shows no addresses to this
	// process (kernel.kptr_restrict, or not root).
	ErrAddressesHidden = kallsyms.ErrAddressesHidden
	// ErrSymbolNotFound means no symbol of that name exists where asked.
	ErrSymbolNotFound = usym.ErrSymbolNotFound
	// ErrLibraryNotFound means a short library name ("c") matched no
	// library of the process or of /etc/ld.so.cache.
	ErrLibraryNotFound = usym.ErrLibraryNotFound
)

// Options select how a symbol is printed: BCC's ksym(addr, show_module,
// show_offset) and sym(..., demangle). The zero value prints the bare
// name, demangled. Functions that take them take zero or one (opts
// ...Options); since they return a string and no error, as BCC's do, more
// than one shows in the string, the way fmt shows a bad verb.
type Options struct {
	// ShowModule appends " [module]": the kernel module ("kernel" for
	// vmlinux) or the user-space file's base name (show_module=True).
	ShowModule bool
	// ShowOffset appends "+0xoff", the distance from the symbol's start
	// (show_offset=True).
	ShowOffset bool
	// NoDemangle leaves C++ names mangled (sym's demangle=False). Kernel
	// names are never mangled: Ksym ignores it.
	NoDemangle bool
}

// Kernel resolves kernel addresses to function names and back, from
// /proc/kallsyms read once. It is immutable and safe for concurrent use.
type Kernel struct{ t *kallsyms.Table }

// LoadKernel reads /proc/kallsyms. It fails with ErrAddressesHidden when
// the kernel hides addresses from this process.
func LoadKernel() (*Kernel, error) {
	t, err := kallsyms.Load()
	if err != nil {
		return nil, err
	}
	return &Kernel{t: t}, nil
}

// Ksym names the kernel function containing addr: the nearest symbol at or
// below it. It returns "[unknown]" as BCC does when there is none.
func (k *Kernel) Ksym(addr uint64, opts ...Options) string {
	o, bad := optarg.OneOrComplaint(opts) // the rule and words of bcc.ErrTooManyOptions
	if bad != "" {
		return bad
	}
	return k.t.Format(addr, o.ShowModule, o.ShowOffset)
}

// KernelSymbol is the kernel symbol containing an address, as Lookup finds
// it.
type KernelSymbol struct {
	// Name is the symbol name, e.g. "schedule".
	Name string
	// Module is the kernel module holding the symbol, or "kernel" for
	// vmlinux itself (as BCC's ksym(show_module=True) prints it).
	Module string
	// Addr is the symbol's start address.
	Addr uint64
	// Offset is how far the looked-up address lies past Addr.
	Offset uint64
}

// Lookup returns the symbol containing addr: the nearest at or below it.
// It reports false where BCC's ksym prints "[unknown]".
func (k *Kernel) Lookup(addr uint64) (KernelSymbol, bool) {
	s, ok := k.t.Lookup(addr)
	if !ok {
		return KernelSymbol{}, false
	}
	return KernelSymbol{Name: s.Name, Module: s.Module, Addr: s.Addr, Offset: s.Offset}, true
}

// KsymName returns the address of a kernel symbol (BCC's ksymname). An
// unknown name wraps ErrSymbolNotFound.
func (k *Kernel) KsymName(name string) (uint64, error) {
	a, ok := k.t.Address(name)
	if !ok {
		return 0, fmt.Errorf("kernel symbol %q: %w (%w)", name, ErrSymbolNotFound, bpfsys.ErrKeyNotExist)
	}
	return a, nil
}

// SyscallPrefixes are the prefixes kernels give system call functions, in
// the order BCC tries them (BPF._syscall_prefixes, with RISC-V added as in
// BCC after 0.26).
var SyscallPrefixes = attach.SyscallPrefixes

// SyscallPrefix returns the prefix this kernel gives system call functions,
// found as BCC does by looking each candidate up with "bpf" appended. When
// none is found it returns the first, "sys_", as BCC does.
func (k *Kernel) SyscallPrefix() string {
	return attach.SyscallPrefix(SyscallPrefixes, func(name string) bool {
		_, ok := k.t.Address(name)
		return ok
	})
}

// UserSymbol is a resolved user-space address.
type UserSymbol struct {
	// Name is the symbol as stored (mangled for C++); "" when unknown.
	Name string
	// Demangled is Name demangled (Name when not a mangled name).
	Demangled string
	// Offset is from the symbol's start; without a symbol, the address in
	// the module's layout, or the address itself with no module.
	Offset uint64
	// Module is the mapped file as the process names it; "" when none.
	Module string
	// IFUNC marks GNU indirect functions.
	IFUNC bool
}

// FindLibrary returns the path of a shared library from its short name
// ("c" -> "/lib/x86_64-linux-gnu/libc.so.6"), from /etc/ld.so.cache, as
// BCC's static BPF.find_library does. The error wraps ErrLibraryNotFound
// when there is none (BCC returns None).
func FindLibrary(name string) (string, error) {
	p, err := usym.WhichSO(name, 0)
	if err != nil {
		return "", fmt.Errorf("find library %q: %w", name, err)
	}
	return p, nil
}

// FindExe finds an executable as BCC's BPF.find_exe does: a name with a
// slash is checked as it is, else the directories of $PATH are searched.
// It returns an error wrapping exec.ErrNotFound when there is none.
func FindExe(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("find executable: %w", err)
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
	re, err := attach.UserFunctionsRegexp(symRe)
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

// GetUserFunctions lists the function symbols of name (a path or library
// name) that symRe matches at their start (BCC's get_user_functions).
func GetUserFunctions(name, symRe string) ([]string, error) {
	return attach.UserFunctions(name, symRe)
}

// ListUserFunctions returns the distinct function names of binary name
// (a path, a library name such as "c", or an executable on $PATH) that
// match pattern, a shell glob, sorted, and the file they were found in:
// `gobcc list uprobe:NAME:PATTERN`.
func ListUserFunctions(name, pattern string) (string, []string, error) {
	return usym.ListFunctions(name, pattern)
}

// Languages are the runtimes DetectLanguage knows, in the order it tries
// them (libbcc's bcc_procutils_language).
var Languages = []string{"java", "node", "perl", "php", "python", "ruby", "tcl"}

// DetectLanguage guesses the language runtime of process pid as BCC's
// utils.detect_language does: a language whose name is in the path of the
// executable, else a mapped library /libLANG..., else "c" when the process
// maps a libc. It returns "" when the guess is not among candidates (all
// Languages and "c" when candidates is nil).
func DetectLanguage(candidates []string, pid int) (string, error) {
	lang, err := usym.DetectLanguage(pid, Languages)
	if err != nil {
		return "", err
	}
	if candidates != nil && !slices.Contains(candidates, lang) {
		return "", nil
	}
	return lang, nil
}
