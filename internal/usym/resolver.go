package usym

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ianlancetaylor/demangle"
)

// Options configure a Resolver.
type Options struct {
	// Debug says how separate debug files are found.
	Debug DebugOptions
	// PerfMapDir replaces /tmp as the directory of perf-PID.map files.
	PerfMapDir string
	// ProcDir replaces /proc (tests use it).
	ProcDir string
}

func (o Options) proc() string {
	if o.ProcDir != "" {
		return o.ProcDir
	}
	return "/proc"
}

func (o Options) perfDir() string {
	if o.PerfMapDir != "" {
		return o.PerfMapDir
	}
	return "/tmp"
}

// Resolver resolves addresses of processes to symbols. It caches each
// process's module map and each ELF file's symbols (shared between
// processes mapping the same file) until Close. It is safe for concurrent
// use.
type Resolver struct {
	opts Options

	mu       sync.Mutex
	closed   bool
	files    map[fileKey]*fileEntry
	procs    map[int]*Process
	ld       []LibEntry
	ldLoaded bool
	ldErr    error
	vdso     *fileEntry
	build    map[string]*fileEntry // build id -> file, for build-id stacks
}

type fileKey struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

type fileEntry struct {
	once sync.Once
	path string
	f    *File
	err  error
}

// NewResolver returns an empty Resolver. The caller owns it and must Close
// it to drop its caches.
func NewResolver(opts Options) *Resolver {
	return &Resolver{
		opts:  opts,
		files: make(map[fileKey]*fileEntry),
		procs: make(map[int]*Process),
		build: make(map[string]*fileEntry),
	}
}

// Close drops every cache. Later calls fail with ErrClosed or resolve
// nothing.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.files, r.procs, r.build, r.ld, r.vdso = nil, nil, nil, nil, nil
	return nil
}

// Result is what an address resolved to.
type Result struct {
	// Name is the symbol as stored (mangled for C++); "" when unknown.
	Name string
	// Offset is addr's offset from the symbol's start; without a symbol,
	// the address within the module's layout, or addr itself when no
	// module holds it (as libbcc's bcc_symcache_resolve reports).
	Offset uint64
	// Module is the mapped file as the process names it (a path, "[vdso]"
	// or the perf map's path); "" when no module holds addr.
	Module string
	// IFUNC is set when the symbol is a GNU indirect function.
	IFUNC bool
}

// Found reports whether a symbol was found.
func (r Result) Found() bool { return r.Name != "" }

// Demangled returns Name demangled when it is a C++ (or Rust) mangled
// name, as libbcc demangles names starting with "_Z" or "___Z", else Name.
func (r Result) Demangled() string { return Demangle(r.Name) }

// Demangle demangles a C++ or Rust symbol name, or returns it unchanged.
func Demangle(name string) string {
	if !strings.HasPrefix(name, "_Z") && !strings.HasPrefix(name, "___Z") && !strings.HasPrefix(name, "_R") {
		return name
	}
	if d, err := demangle.ToString(name); err == nil {
		return d
	}
	return name
}

// file returns the symbols of the ELF file at path (opened as openPath),
// loading them once per (device, inode, size, mtime).
func (r *Resolver) file(openPath, nsDir string) (*File, error) {
	st, err := os.Stat(openPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", openPath, errors.Join(ErrNotELF, err))
	}
	key := fileKey{size: st.Size(), mtime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		key.dev, key.ino = uint64(sys.Dev), sys.Ino
	} else {
		key.ino = uint64(len(openPath)) // no stat: cache by path length is useless, so never share
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	e := r.files[key]
	if e == nil {
		e = &fileEntry{path: openPath}
		r.files[key] = e
	}
	r.mu.Unlock()
	e.once.Do(func() { e.f, e.err = OpenFile(openPath, nsDir, r.opts.Debug) })
	return e.f, e.err
}

// File returns the cached symbol table of the ELF file at path.
func (r *Resolver) File(path string) (*File, error) { return r.file(path, "") }

func (r *Resolver) ldCache() ([]LibEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if !r.ldLoaded {
		r.ld, r.ldErr = ReadLDSOCache()
		r.ldLoaded = true
	}
	return r.ld, r.ldErr
}

// WhichSO is the package's WhichSO with /etc/ld.so.cache read once.
func (r *Resolver) WhichSO(libname string, pid int) (string, error) {
	return whichSO(libname, pid, r.ldCache)
}

// vdsoFile reads this process's vDSO image once: the kernel maps the same
// image into every process, as libbcc assumes too.
func (r *Resolver) vdsoFile() (*File, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if r.vdso == nil {
		r.vdso = &fileEntry{path: "[vdso]"}
	}
	e := r.vdso
	r.mu.Unlock()
	e.once.Do(func() { e.f, e.err = readOwnVDSO() })
	return e.f, e.err
}

func readOwnVDSO() (*File, error) {
	maps, err := ReadMaps(os.Getpid())
	if err != nil {
		return nil, err
	}
	for _, m := range maps {
		if m.Path != "[vdso]" {
			continue
		}
		mem, err := os.Open("/proc/self/mem")
		if err != nil {
			return nil, err
		}
		defer mem.Close()
		buf := make([]byte, m.End-m.Start)
		if _, err := mem.ReadAt(buf, int64(m.Start)); err != nil {
			return nil, fmt.Errorf("read vdso: %w", err)
		}
		ef, err := elf.NewFile(bytes.NewReader(buf))
		if err != nil {
			return nil, errors.Join(ErrNotELF, err)
		}
		f := &File{Path: "[vdso]", Type: ef.Type, BuildID: buildID(ef)}
		for _, p := range ef.Progs {
			if p.Type == elf.PT_LOAD {
				f.loads = append(f.loads, p.ProgHeader)
			}
		}
		f.syms = sortSymbols(appendSymbols(nil, ef, isFuncType))
		return f, nil
	}
	return nil, fmt.Errorf("no [vdso] mapping: %w", ErrNotELF)
}

// Process returns the cached view of a process, reading its maps on first
// use.
func (r *Resolver) Process(pid int) (*Process, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	p := r.procs[pid]
	r.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p = &Process{r: r, pid: pid}
	p.exePath = p.procPath("exe")
	if err := p.load(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if q := r.procs[pid]; q != nil {
		return q, nil
	}
	r.procs[pid] = p
	return p, nil
}

// Forget drops the cached view of a process (after it exited).
func (r *Resolver) Forget(pid int) {
	r.mu.Lock()
	delete(r.procs, pid)
	r.mu.Unlock()
}

// Resolve names the function containing addr in process pid. A process
// that cannot be read resolves nothing: Result{Offset: addr}.
func (r *Resolver) Resolve(pid int, addr uint64) Result {
	p, err := r.Process(pid)
	if err != nil {
		return Result{Offset: addr}
	}
	return p.Resolve(addr)
}

// ResolveName returns the run-time address of symbol name in the module of
// process pid whose mapped path is module, or, when module has no '/', the
// library WhichSO finds for it.
func (r *Resolver) ResolveName(pid int, module, name string) (uint64, error) {
	p, err := r.Process(pid)
	if err != nil {
		return 0, err
	}
	return p.ResolveName(module, name)
}

// Stats describe what a Resolver holds.
type Stats struct {
	Processes int
	Files     int // ELF files loaded
	Symbols   int // function symbols held
	Bytes     int // estimated heap held by symbol tables
}

// Stats reports the size of the caches.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{Processes: len(r.procs)}
	for _, e := range r.files {
		if e.f != nil {
			s.Files++
			s.Symbols += len(e.f.syms)
			s.Bytes += e.f.memSize()
		}
	}
	for _, p := range r.procs {
		p.mu.Lock()
		for _, m := range p.modules {
			if m.perf != nil {
				s.Symbols += len(m.perf.syms)
				s.Bytes += m.perf.memSize()
			}
			s.Bytes += 64 + len(m.name) + len(m.ranges)*24
		}
		p.mu.Unlock()
	}
	return s
}

type moduleKind int

const (
	kindUnknown moduleKind = iota
	kindExec
	kindSO
	kindVDSO
	kindPerfMap
)

type moduleRange struct{ start, end, offset uint64 }

type procModule struct {
	name     string // as the process names it
	openPath string
	nsDir    string
	kind     moduleKind
	ranges   []moduleRange
	loaded   bool
	file     *File
	perf     *PerfMap
}

// Process is one process's executable mappings. It is safe for concurrent
// use.
type Process struct {
	r       *Resolver
	pid     int
	exePath string // set before the Process is shared

	mu         sync.Mutex
	modules    []*procModule
	index      []indexedRange // sorted by start, file modules only
	perf       *procModule
	exeIno     uint64
	lastReload time.Time
}

type indexedRange struct {
	moduleRange
	m *procModule
}

// minReload spaces re-reads of /proc/PID/maps caused by addresses no
// mapping holds (code mapped after the cache was built, by dlopen or a
// JIT), so a stream of bad addresses cannot turn every lookup into a
// maps read.
const minReload = 100 * time.Millisecond

func (p *Process) procPath(rest string) string {
	return filepath.Join(p.r.opts.proc(), strconv.Itoa(p.pid), rest)
}

// exeInode stats /proc/PID/exe on every lookup (as libbcc does); the path
// is built once and the stat allocates nothing.
func (p *Process) exeInode() uint64 {
	if p.exePath == "" {
		p.exePath = p.procPath("exe")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p.exePath, &st); err != nil {
		return 0
	}
	return st.Ino
}

// load reads /proc/PID/maps into modules, as bcc_procutils_each_module
// walks it: executable, file-backed mappings in order, then the perf map.
func (p *Process) load() error {
	data, err := os.ReadFile(p.procPath("maps"))
	if err != nil {
		return fmt.Errorf("read maps of pid %d: %w", p.pid, err)
	}
	maps, err := ParseMaps(data)
	if err != nil {
		return err
	}
	root := p.procPath("root")
	byName := make(map[string]*procModule)
	var mods []*procModule
	for _, mp := range maps {
		if !mp.Executable() || !mp.FileBacked() {
			continue
		}
		m := byName[mp.Path]
		if m == nil {
			m = &procModule{name: mp.Path, openPath: root + mp.Path, nsDir: filepath.Dir(mp.Path)}
			switch {
			case mp.Path == "[vdso]":
				m.kind = kindVDSO
			case strings.HasPrefix(mp.Path, "["):
				m.kind = kindUnknown
			default:
				if _, err := os.Stat(m.openPath); err != nil {
					// Deleted or replaced file: the kernel still holds it.
					m.openPath = p.procPath(fmt.Sprintf("map_files/%x-%x", mp.Start, mp.End))
				}
				m.kind = elfKind(m.openPath)
			}
			byName[mp.Path] = m
			mods = append(mods, m)
		}
		m.ranges = append(m.ranges, moduleRange{mp.Start, mp.End, mp.Offset})
	}
	var perf *procModule
	for _, cand := range p.perfMapPaths() {
		if st, err := os.Stat(cand[1]); err == nil && st.Mode().IsRegular() {
			perf = &procModule{name: cand[0], openPath: cand[1], kind: kindPerfMap}
			break
		}
	}
	var index []indexedRange
	for _, m := range mods {
		for _, rg := range m.ranges {
			index = append(index, indexedRange{rg, m})
		}
	}
	sort.Slice(index, func(i, j int) bool { return index[i].start < index[j].start })
	p.mu.Lock()
	p.modules = mods
	if perf != nil {
		p.modules = append(p.modules, perf)
	}
	p.index, p.perf = index, perf
	p.exeIno = p.exeInode()
	p.lastReload = time.Now()
	p.mu.Unlock()
	return nil
}

// perfMapPaths lists (name, path to open) for the perf map: first inside
// the process's root with its namespace pid, then the global
// /tmp/perf-PID.map, as libbcc tries them.
func (p *Process) perfMapPaths() [][2]string {
	dir := p.r.opts.perfDir()
	var out [][2]string
	if nspid := p.nsPID(); nspid != 0 && p.r.opts.PerfMapDir == "" {
		name := fmt.Sprintf("/tmp/perf-%d.map", nspid)
		if target, err := os.Readlink(p.procPath("root")); err == nil && target != "/" {
			name = target + name
		}
		out = append(out, [2]string{name, p.procPath("root") + fmt.Sprintf("/tmp/perf-%d.map", nspid)})
	}
	g := filepath.Join(dir, fmt.Sprintf("perf-%d.map", p.pid))
	out = append(out, [2]string{g, g})
	return out
}

// nsPID is the process's pid in its innermost pid namespace (NSpid).
func (p *Process) nsPID() int {
	data, err := os.ReadFile(p.procPath("status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[len(f)-1])
				return n
			}
		}
	}
	return 0
}

func elfKind(path string) moduleKind {
	f, err := os.Open(path)
	if err != nil {
		return kindUnknown
	}
	defer f.Close()
	var hdr [18]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:4]) != elf.ELFMAG {
		return kindUnknown
	}
	var typ uint16
	if hdr[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		typ = uint16(hdr[16])<<8 | uint16(hdr[17])
	} else {
		typ = uint16(hdr[17])<<8 | uint16(hdr[16])
	}
	switch elf.Type(typ) {
	case elf.ET_EXEC:
		return kindExec
	case elf.ET_DYN:
		return kindSO
	}
	return kindUnknown
}

// refreshIfStale re-reads the maps after an exec, as libbcc's ProcStat
// notices one by the inode of /proc/PID/exe.
func (p *Process) refreshIfStale() {
	p.mu.Lock()
	ino := p.exeIno
	p.mu.Unlock()
	if cur := p.exeInode(); cur != 0 && cur != ino {
		p.load()
	}
}

// loadModule reads a module's symbols on first use.
func (p *Process) loadModule(m *procModule) {
	p.mu.Lock()
	done := m.loaded
	p.mu.Unlock()
	if done {
		return
	}
	var f *File
	var pm *PerfMap
	switch m.kind {
	case kindExec, kindSO:
		f, _ = p.r.file(m.openPath, m.nsDir)
	case kindVDSO:
		f, _ = p.r.vdsoFile()
	case kindPerfMap:
		pm, _ = ReadPerfMap(m.openPath)
	}
	p.mu.Lock()
	if !m.loaded {
		m.file, m.perf, m.loaded = f, pm, true
	}
	p.mu.Unlock()
}

func (p *Process) findRange(addr uint64) (indexedRange, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := sort.Search(len(p.index), func(i int) bool { return p.index[i].start > addr })
	if i == 0 {
		return indexedRange{}, false
	}
	rg := p.index[i-1]
	if addr >= rg.end {
		return indexedRange{}, false
	}
	return rg, true
}

// Resolve names the function containing addr, as libbcc's
// ProcSyms::resolve_addr: the mapped file holding addr, then the perf map.
func (p *Process) Resolve(addr uint64) Result {
	p.refreshIfStale()
	res, inModule := p.resolve(addr)
	if res.Found() || inModule {
		return res
	}
	p.mu.Lock()
	reload := time.Since(p.lastReload) >= minReload
	p.mu.Unlock()
	if reload && p.load() == nil {
		res, _ = p.resolve(addr)
	}
	return res
}

func (p *Process) resolve(addr uint64) (Result, bool) {
	res := Result{Offset: addr}
	rg, ok := p.findRange(addr)
	if ok {
		m := rg.m
		p.loadModule(m)
		off := addr
		if m.kind == kindSO || m.kind == kindVDSO {
			if m.file != nil {
				off = m.file.moduleVAddr(addr, rg.start, rg.offset)
			} else {
				off = addr - rg.start + rg.offset
			}
		}
		res.Module, res.Offset = m.name, off
		if m.file != nil {
			if s, o, found := m.file.Lookup(off); found {
				return Result{Name: s.Name, Offset: o, Module: m.name, IFUNC: s.IFUNC()}, true
			}
		}
	}
	p.mu.Lock()
	perf := p.perf
	p.mu.Unlock()
	if perf != nil {
		p.loadModule(perf)
		if perf.perf != nil {
			if s, o, found := perf.perf.Lookup(addr); found {
				return Result{Name: s.Name, Offset: o, Module: perf.name}, true
			}
		}
		if !ok {
			// libbcc reports the perf map, the last module it tried.
			res.Module = perf.name
		}
	}
	return res, ok
}

// Modules lists the process's modules: mapped paths in maps order, then
// the perf map if one exists.
func (p *Process) Modules() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.modules))
	for i, m := range p.modules {
		out[i] = m.name
	}
	return out
}

// ResolveName returns the run-time address of function symbol name in the
// module whose mapped path is module (or, without a '/', the library
// WhichSO finds for this process).
func (p *Process) ResolveName(module, name string) (uint64, error) {
	p.refreshIfStale()
	if !strings.Contains(module, "/") && !strings.HasPrefix(module, "[") {
		path, err := p.r.WhichSO(module, p.pid)
		if err != nil {
			return 0, err
		}
		module = path
	}
	p.mu.Lock()
	var m *procModule
	for _, c := range p.modules {
		if c.name == module {
			m = c
			break
		}
	}
	p.mu.Unlock()
	if m == nil {
		return 0, fmt.Errorf("pid %d maps no %s: %w", p.pid, module, ErrSymbolNotFound)
	}
	p.loadModule(m)
	if m.perf != nil {
		for _, s := range m.perf.syms {
			if s.Name == name {
				return s.Value, nil
			}
		}
	}
	if m.file == nil {
		return 0, fmt.Errorf("%s in %s: %w", name, module, ErrSymbolNotFound)
	}
	for _, s := range m.file.syms {
		if s.Name != name {
			continue
		}
		if m.kind == kindExec {
			return s.Value, nil
		}
		// Run-time address = value + load bias of the segment holding it.
		for _, rg := range m.ranges {
			for _, seg := range m.file.loads {
				if rg.offset >= seg.Off && rg.offset < seg.Off+seg.Filesz &&
					s.Value >= seg.Vaddr && s.Value < seg.Vaddr+seg.Memsz {
					return s.Value - seg.Vaddr + seg.Off - rg.offset + rg.start, nil
				}
			}
		}
		return s.Value + m.ranges[0].start - m.ranges[0].offset, nil
	}
	return 0, fmt.Errorf("%s in %s: %w", name, module, ErrSymbolNotFound)
}
