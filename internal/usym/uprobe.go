package usym

import (
	"debug/elf"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// SymbolAddress is a function symbol with where a uprobe would attach.
type SymbolAddress struct {
	Name string
	// Value is the symbol's address in the file's layout (st_value), what
	// BCC's get_user_functions_and_addresses returns.
	Value uint64
	// FileOffset is where that address lies in the file: what a uprobe
	// attaches at. Zero with FileOffsetErr set when the symbol lies in no
	// executable segment.
	FileOffset    uint64
	FileOffsetErr error
	IFUNC         bool
}

// allTypes is libbcc's BCC_SYM_ALL_TYPES for name lookups.
func allTypes(elf.SymType) bool { return true }

// symbolsInOrder reads the named, non-zero symbols kept by keep in
// libbcc's order: the debug file first, then .symtab, then .dynsym.
func symbolsInOrder(path string, keep func(elf.SymType) bool, opts DebugOptions) ([]Symbol, *elf.File, error) {
	ef, err := elf.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, errors.Join(ErrNotELF, err))
	}
	var syms []Symbol
	if !opts.NoDebugFile {
		if dbg := findDebugFile(ef, path, "", opts); dbg != "" {
			if df, err := elf.Open(dbg); err == nil {
				syms = appendSymbols(syms, df, keep)
				df.Close()
			}
		}
	}
	syms = appendSymbols(syms, ef, keep)
	return syms, ef, nil
}

func execFileOffset(ef *elf.File, vaddr uint64) (uint64, error) {
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X == 0 {
			continue
		}
		if vaddr >= p.Vaddr && vaddr < p.Vaddr+p.Memsz {
			return vaddr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("%#x: %w", vaddr, ErrNoExecSegment)
}

// ResolveSymbol returns the file offset of symbol sym in the ELF file
// binaryPath: where a uprobe on it attaches (libbcc's bcc_resolve_symname
// for BCC Python's attach_uprobe(name=..., sym=...)). binaryPath may be a
// short library name ("c"), found with WhichSO. Any symbol type matches,
// the first in libbcc's order (debug file, .symtab, .dynsym).
func ResolveSymbol(binaryPath, sym string) (uint64, error) {
	_, off, err := resolveSymbol(binaryPath, sym, 0, DebugOptions{}, ReadLDSOCache)
	return off, err
}

// ResolveSymbol is the package's ResolveSymbol for a process: a short
// library name is looked up in pid's maps first, and files are opened
// through /proc/PID/root so a process in another mount namespace is
// probed in its own files. pid <= 0 means this mount namespace. It returns
// the path it resolved the binary to.
func (r *Resolver) ResolveSymbol(pid int, binaryPath, sym string) (path string, fileOffset uint64, err error) {
	return resolveSymbol(binaryPath, sym, pid, r.opts.Debug, r.ldCache)
}

func resolveSymbol(binaryPath, sym string, pid int, opts DebugOptions, cache func() ([]LibEntry, error)) (string, uint64, error) {
	path, err := whichSO(binaryPath, pid, cache)
	if err != nil {
		return "", 0, err
	}
	if pid > 0 && !strings.HasPrefix(path, "/proc") {
		path = fmt.Sprintf("/proc/%d/root%s", pid, path)
	}
	syms, ef, err := symbolsInOrder(path, allTypes, opts)
	if err != nil {
		return path, 0, err
	}
	defer ef.Close()
	for _, s := range syms {
		if s.Name != sym {
			continue
		}
		if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
			return path, s.Value, nil
		}
		off, err := execFileOffset(ef, s.Value)
		if err != nil {
			return path, 0, fmt.Errorf("%s in %s: %w", sym, path, err)
		}
		return path, off, nil
	}
	return path, 0, fmt.Errorf("%s in %s: %w", sym, path, ErrSymbolNotFound)
}

// FunctionSymbols lists the function symbols (STT_FUNC and
// STT_GNU_IFUNC) of binaryPath whose names re matches, once per name and
// address (libbcc's bcc_foreach_function_symbol, behind BCC Python's
// get_user_functions_and_addresses and attach_uprobe(sym_re=...)). Note
// that Python's re.match anchors at the start of the name; anchor re with
// "^" for the same set. A nil re lists every function.
func FunctionSymbols(binaryPath string, re *regexp.Regexp) ([]SymbolAddress, error) {
	path, err := WhichSO(binaryPath, 0)
	if err != nil {
		return nil, err
	}
	syms, ef, err := symbolsInOrder(path, isFuncType, DebugOptions{})
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	type key struct {
		name  string
		value uint64
	}
	seen := make(map[key]bool)
	var out []SymbolAddress
	for _, s := range syms {
		if re != nil && !re.MatchString(s.Name) {
			continue
		}
		k := key{s.Name, s.Value}
		if seen[k] {
			continue
		}
		seen[k] = true
		sa := SymbolAddress{Name: s.Name, Value: s.Value, IFUNC: s.IFUNC()}
		sa.FileOffset, sa.FileOffsetErr = execFileOffset(ef, s.Value)
		out = append(out, sa)
	}
	return out, nil
}

// AddBuildIDModule registers an ELF file so stacks taken with
// BPF_F_STACK_BUILD_ID that name its build id resolve (BCC's
// b.add_module(path)). It returns the build id.
func (r *Resolver) AddBuildIDModule(path string) (string, error) {
	f, err := r.file(path, "")
	if err != nil {
		return "", err
	}
	if f.BuildID == "" {
		return "", fmt.Errorf("%s has no GNU build id: %w", path, ErrNotELF)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", ErrClosed
	}
	e := &fileEntry{path: path, f: f}
	e.once.Do(func() {})
	r.build[f.BuildID] = e
	return f.BuildID, nil
}

// ResolveBuildID names the function at fileOffset of the module with this
// build id (hex), registered with AddBuildIDModule. The kernel reports
// build-id frames as file offsets; they are mapped to the file's layout
// through its PT_LOAD segments (libbcc compares them to symbol values
// directly, which agrees for shared objects and PIE but not for fixed
// address executables).
func (r *Resolver) ResolveBuildID(buildID string, fileOffset uint64) Result {
	r.mu.Lock()
	e := r.build[buildID]
	r.mu.Unlock()
	if e == nil || e.f == nil {
		return Result{Offset: fileOffset}
	}
	vaddr, ok := e.f.VAddrOfFileOffset(fileOffset)
	if !ok {
		vaddr = fileOffset
	}
	if s, o, found := e.f.Lookup(vaddr); found {
		return Result{Name: s.Name, Offset: o, Module: e.path, IFUNC: s.IFUNC()}
	}
	return Result{Offset: vaddr, Module: e.path}
}
