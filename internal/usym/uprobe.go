package usym

import (
	"debug/elf"
	"errors"
	"fmt"
	"os/exec"
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

// FindBinary finds the file a uprobe's or USDT context's module name
// stands for, as libbcc's resolve_bin_path does: WhichSO (a path as is, a
// library of process pid, a library of /etc/ld.so.cache), then, for a
// bare name, an executable on $PATH ("sh" -> /usr/bin/sh). The error is
// WhichSO's when neither finds it.
func FindBinary(name string, pid int) (string, error) {
	return findBinary(name, pid, ReadLDSOCache)
}

// FindBinary is the package's FindBinary with /etc/ld.so.cache read once.
func (r *Resolver) FindBinary(name string, pid int) (string, error) {
	return findBinary(name, pid, r.ldCache)
}

func findBinary(name string, pid int, cache func() ([]LibEntry, error)) (string, error) {
	p, err := whichSO(name, pid, cache)
	if err == nil {
		return p, nil
	}
	if lp, lerr := exec.LookPath(name); lerr == nil {
		return lp, nil
	}
	return "", err
}

// inProcessRoot names path as process pid sees it, through
// /proc/PID/root, as libbcc's bcc_resolve_symname does for a pid, so a
// process in another mount namespace is probed in its own files. pid <= 0
// means this mount namespace.
func inProcessRoot(pid int, path string) string {
	if pid > 0 && !strings.HasPrefix(path, "/proc") {
		return fmt.Sprintf("/proc/%d/root%s", pid, path)
	}
	return path
}

// ResolveSymbol returns the file offset of symbol sym in the ELF file
// binaryPath: where a uprobe on it attaches (libbcc's bcc_resolve_symname
// for BCC Python's attach_uprobe(name=..., sym=...)). binaryPath may be a
// short library name ("c") or an executable on $PATH, found with
// FindBinary. Any symbol type matches, the first in libbcc's order (debug
// file, .symtab, .dynsym).
func ResolveSymbol(binaryPath, sym string) (uint64, error) {
	_, s, err := resolveSymbol(binaryPath, sym, 0, DebugOptions{}, ReadLDSOCache)
	return s.FileOffset, err
}

// ResolveSymbol is the package's ResolveSymbol for a process: a short
// library name is looked up in pid's maps first, and files are opened
// through /proc/PID/root so a process in another mount namespace is
// probed in its own files. pid <= 0 means this mount namespace. It returns
// the path it resolved the binary to (the file the uprobe goes on) and the
// symbol, whose IFUNC field says the offset is that of an IFUNC resolver
// (see ResolveIFUNC).
func (r *Resolver) ResolveSymbol(pid int, binaryPath, sym string) (path string, s SymbolAddress, err error) {
	return resolveSymbol(binaryPath, sym, pid, r.opts.Debug, r.ldCache)
}

// ResolveAddress turns vaddr, an address in the layout of binaryPath (its
// symbol values; BCC Python's attach_uprobe(addr=...)), into the file
// offset a uprobe attaches at, finding the file as ResolveSymbol does.
func ResolveAddress(binaryPath string, vaddr uint64) (uint64, error) {
	_, off, err := resolveAddress(binaryPath, vaddr, 0, ReadLDSOCache)
	return off, err
}

// ResolveAddress is the package's ResolveAddress for a process, finding
// and naming the file as Resolver.ResolveSymbol does; it returns that path.
func (r *Resolver) ResolveAddress(pid int, binaryPath string, vaddr uint64) (path string, fileOffset uint64, err error) {
	return resolveAddress(binaryPath, vaddr, pid, r.ldCache)
}

func resolveAddress(binaryPath string, vaddr uint64, pid int, cache func() ([]LibEntry, error)) (string, uint64, error) {
	path, err := findBinary(binaryPath, pid, cache)
	if err != nil {
		return "", 0, err
	}
	path = inProcessRoot(pid, path)
	ef, err := elf.Open(path)
	if err != nil {
		return path, 0, fmt.Errorf("%s: %w", path, errors.Join(ErrNotELF, err))
	}
	defer ef.Close()
	off, err := uprobeFileOffset(ef, vaddr)
	if err != nil {
		return path, 0, fmt.Errorf("%s: %w", path, err)
	}
	return path, off, nil
}

// uprobeFileOffset is the file offset libbcc's bcc_resolve_symname gives
// a uprobe at vaddr: translated through the executable segments for
// executables and shared objects, vaddr itself for other ELF types.
func uprobeFileOffset(ef *elf.File, vaddr uint64) (uint64, error) {
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return vaddr, nil
	}
	return execFileOffset(ef, vaddr)
}

func resolveSymbol(binaryPath, sym string, pid int, opts DebugOptions, cache func() ([]LibEntry, error)) (string, SymbolAddress, error) {
	path, err := findBinary(binaryPath, pid, cache)
	if err != nil {
		return "", SymbolAddress{}, err
	}
	path = inProcessRoot(pid, path)
	syms, ef, err := symbolsInOrder(path, allTypes, opts)
	if err != nil {
		return path, SymbolAddress{}, err
	}
	defer ef.Close()
	for _, s := range syms {
		if s.Name != sym {
			continue
		}
		off, err := uprobeFileOffset(ef, s.Value)
		if err != nil {
			return path, SymbolAddress{}, fmt.Errorf("%s in %s: %w", sym, path, err)
		}
		return path, SymbolAddress{Name: s.Name, Value: s.Value, FileOffset: off, IFUNC: s.IFUNC()}, nil
	}
	return path, SymbolAddress{}, fmt.Errorf("%s in %s: %w", sym, path, ErrSymbolNotFound)
}

// FunctionSymbols lists the function symbols (STT_FUNC and
// STT_GNU_IFUNC) of binaryPath whose names re matches, once per name and
// address (libbcc's bcc_foreach_function_symbol, behind BCC Python's
// get_user_functions_and_addresses and attach_uprobe(sym_re=...)). Note
// that Python's re.match anchors at the start of the name; anchor re with
// "^" for the same set. A nil re lists every function. binaryPath may be
// a short library name or an executable on $PATH, found with FindBinary.
func FunctionSymbols(binaryPath string, re *regexp.Regexp) ([]SymbolAddress, error) {
	_, syms, err := functionSymbols(binaryPath, re, 0, DebugOptions{}, ReadLDSOCache)
	return syms, err
}

// FunctionSymbols is the package's FunctionSymbols for a process, finding
// and naming the file as ResolveSymbol does; it returns that path.
func (r *Resolver) FunctionSymbols(pid int, binaryPath string, re *regexp.Regexp) (string, []SymbolAddress, error) {
	return functionSymbols(binaryPath, re, pid, r.opts.Debug, r.ldCache)
}

func functionSymbols(binaryPath string, re *regexp.Regexp, pid int, opts DebugOptions, cache func() ([]LibEntry, error)) (string, []SymbolAddress, error) {
	path, err := findBinary(binaryPath, pid, cache)
	if err != nil {
		return "", nil, err
	}
	path = inProcessRoot(pid, path)
	syms, ef, err := symbolsInOrder(path, isFuncType, opts)
	if err != nil {
		return path, nil, err
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
	return path, out, nil
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
