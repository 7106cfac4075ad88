package bcc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/bcc/usdt"
	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/attach"
	"github.com/gobcc/gobcc/internal/bpfsys"
	"github.com/gobcc/gobcc/internal/compiler"
	"github.com/gobcc/gobcc/internal/features"
	"github.com/gobcc/gobcc/internal/optarg"
	"github.com/gobcc/gobcc/internal/srcmap"
	"github.com/gobcc/gobcc/internal/usym"
)

// Options say what to compile and how: the Go form of the keyword
// arguments of BCC Python's BPF(...).
type Options struct {
	// Text is the program's C source (BPF(text=...)).
	Text string
	// SrcFile is a file to read the source from (BPF(src_file=...)), used
	// when Text is empty. Its directory is searched for #include "...".
	SrcFile string
	// Name is the file name errors and verifier logs use for Text; default
	// "<text>". Ignored with SrcFile, whose path is used.
	Name string
	// CFlags are extra clang flags (BPF(cflags=[...])); see package cflags.
	CFlags []string
	// Debug enables BCC's debug output (BPF(debug=...)).
	Debug debugflags.Flags
	// DebugWriter receives debug output, verifier logs asked for with
	// debugflags.BPF, and clang's warnings. Default os.Stderr.
	DebugWriter io.Writer
	// InProcess compiles with libbcc loaded into this process instead of a
	// helper process. It saves the helper's start-up (tens of ms) but keeps
	// LLVM's memory (over 100 MB) in this process for good, and a libbcc
	// crash then kills this process.
	InProcess bool
	// NoAutoAttach loads nothing and attaches nothing at New; functions are
	// then loaded with LoadFunc. BCC Python always auto-attaches.
	NoAutoAttach bool
	// USDTContexts are USDT probes to enable (BPF(usdt_contexts=[...]);
	// package bcc/usdt makes them): their argument code is prepended to
	// the program and their uprobes attached by New, even with
	// NoAutoAttach.
	USDTContexts []*usdt.Context
	// AttachUSDTIgnorePID attaches USDT probes of process contexts for
	// every process (BPF(attach_usdt_ignore_pid=True)).
	AttachUSDTIgnorePID bool
	// NoCache compiles through libbcc even when the compile cache holds the
	// program, and does not store the result. See cache.Dir.
	NoCache bool
	// Object is a compiled program written by Build (gobcc build), loaded
	// instead of compiling Text or SrcFile: no libbcc, LLVM or kernel
	// headers are needed. ObjectFile names a file to read it from, checked
	// for owner and mode first (see ReadObjectFile).
	Object     []byte
	ObjectFile string
	// Headers chooses the kernel headers the program compiles against:
	// headers.Auto (the default, also for ""), headers.BTF,
	// headers.Installed, or a directory. See headers.Resolve and
	// docs/headers.md.
	Headers string
}

// BPF is a compiled program with its tables, loaded functions and
// attachments: the Go form of BCC Python's BPF object.
//
// A BPF owns every file descriptor and attachment it makes; Close releases
// them all. Its methods are safe for concurrent use.
type BPF struct {
	mu     sync.Mutex
	file   string
	debug  debugflags.Flags
	debugW io.Writer
	srcmap *srcmap.Mapper
	prog   *compiler.Program // loads functions until freed; stores the compile in the cache
	// cached is set when New loaded a compiled object (the compile cache
	// or Options.Object) instead of compiling.
	cached   bool
	result   *compiler.Result
	funcs    map[string]*Function
	tables   map[string]*Table
	links    attach.Registry // attachments, closed first by Close
	warnings []string
	closed   bool

	ksyms  kernelSymbolsOnce
	usyms  usym.Lazy
	trace  tracePipeHolder
	events eventState // perf and ring buffer readers
}

// Function is a function loaded into the kernel.
type Function struct {
	// Name is the C function's name.
	Name string
	// Type is the program type it was loaded as.
	Type ProgType
	// FD is the program's file descriptor, owned by the BPF object.
	FD int
	// Log is the verifier's log of the load, when one was asked for
	// (debugflags.BPF or BPFRegisterState).
	Log string
	// Insns is the number of BPF instructions.
	Insns int

	b *BPF // the owner, whose lock guards FD against Close
}

// VerifiedInsns returns how many instructions the verifier processed when
// it loaded the function (the "processed N insns" of its log): the
// kernel's count (Linux 5.16+), or else the count in Log when a verifier
// log was asked for. It fails with ErrNotSupported when neither is
// available, and ErrClosed after the BPF object is closed.
func (f *Function) VerifiedInsns() (int, error) {
	if n, ok, err := srcmap.ProcessedInsns(f.Log); ok {
		return n, err
	}
	if f.b == nil {
		return 0, fmt.Errorf("%w: %s was not loaded by a BPF object", ErrNotSupported, f.Name)
	}
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	if f.b.closed {
		return 0, ErrClosed
	}
	info, err := bpfsys.ProgInfoByFD(f.FD)
	if err != nil {
		return 0, fmt.Errorf("program info of %s: %w", f.Name, err)
	}
	if !info.HasVerifiedInsns {
		return 0, fmt.Errorf("%w: the kernel reports no verified instruction count (Linux 5.16+) and no verifier log was asked for (debugflags.BPF)", ErrNotSupported)
	}
	return int(info.VerifiedInsns), nil
}

// New compiles the program, creates its tables, and, as BCC does, loads and
// attaches every function whose name says where it belongs:
// tracepoint__CAT__NAME (TRACEPOINT_PROBE), raw_tracepoint__NAME
// (RAW_TRACEPOINT_PROBE), kprobe__FN, kretprobe__FN, kfunc__FN, kretfunc__FN
// and lsm__HOOK. It is NewContext with context.Background().
//
// The caller owns the returned BPF and must Close it. On error nothing is
// left behind. Compile errors are *CompileError, verifier rejections
// *VerifierError.
func New(opts Options) (*BPF, error) {
	return NewContext(context.Background(), opts)
}

// NewContext is New with a context that bounds the compile, which can take
// seconds for a large program. When ctx ends during the compile, the
// compile helper process is killed and reaped, and the error wraps
// ctx.Err() (errors.Is(err, context.Canceled) or
// context.DeadlineExceeded); nothing is left behind. ctx is checked again
// before functions are loaded and attached. With Options.InProcess the
// compile itself cannot be interrupted (libbcc has no way to stop it), so
// ctx is only checked before and after it. ctx does not outlive the call:
// the returned BPF is not closed when ctx ends.
func NewContext(ctx context.Context, opts Options) (*BPF, error) {
	if ctx == nil {
		return nil, errors.New("bcc: NewContext with a nil Context")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	in, err := compileRequest(opts)
	if err != nil {
		return nil, err
	}
	text, file := in.req.Text, in.source
	b := &BPF{
		file:   file,
		debug:  opts.Debug,
		debugW: opts.DebugWriter,
		srcmap: srcmap.New(text, file),
		funcs:  make(map[string]*Function),
		tables: make(map[string]*Table),
	}
	if b.debugW == nil {
		b.debugW = os.Stderr
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	if _, err := RaiseMemlockLimit(); err != nil {
		b.warnings = append(b.warnings, err.Error()) // the maps may still fit
	}
	usdt, err := usdtRequests(opts.USDTContexts)
	if err != nil {
		return nil, err
	}
	in.req.USDT = usdt
	if opts.Object == nil && opts.ObjectFile == "" {
		// An object needs no headers: it was compiled already.
		kernelSource, headerWarns, err := compileHeaders(opts.Headers)
		if err != nil {
			return nil, err
		}
		in.req.KernelSource = kernelSource
		b.warnings = append(b.warnings, headerWarns...)
	}
	session, pending, err := openSession(ctx, opts, in, func(w string) { b.warnings = append(b.warnings, w) })
	if err != nil {
		if errors.Is(err, ErrBadObject) {
			return nil, err
		}
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		if len(usdt) > 0 && !errors.Is(err, ErrCompile) && strings.Contains(err.Error(), "USDT") {
			// libbcc's USDT setup failed in the helper; its text says why.
			return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
		}
		return nil, newCompileError(err, file, b.srcmap)
	}
	b.prog = compiler.NewProgram(session, pending)
	b.result = b.prog.Result()
	b.cached = b.result.LibPath == "" // only libbcc's compiles know their library
	if w := b.result.SubsetWarning; w != "" {
		b.warnings = append(b.warnings, w)
	}
	if out := strings.ReplaceAll(b.result.Output, srcmap.VirtualMain, file); out != "" {
		io.WriteString(b.debugW, out)
	}
	if err := b.openTables(); err != nil {
		b.Close()
		return nil, err
	}
	// After openTables, so that Close releases the tables' descriptors.
	if err := ctx.Err(); err != nil {
		b.Close()
		return nil, fmt.Errorf("compiled, not loaded: %w", err)
	}
	if err := b.attachUSDT(opts.AttachUSDTIgnorePID); err != nil {
		b.Close()
		return nil, err
	}
	if !opts.NoAutoAttach {
		if err := b.autoAttach(); err != nil {
			b.Close()
			return nil, err
		}
	}
	b.mu.Lock()
	b.freeCompilerIfDone()
	b.mu.Unlock()
	return b, nil
}

// compileRequest reads the program and checks its flags: what New and
// Build hand libbcc.
func compileRequest(opts Options) (compileInputs, error) {
	if opts.Object != nil || opts.ObjectFile != "" {
		name := opts.ObjectFile
		if name == "" {
			name = "<object>"
		}
		return compileInputs{source: name}, nil
	}
	if opts.Text == "" && opts.SrcFile == "" {
		return compileInputs{}, ErrNoSource
	}
	req, file, err := compiler.ReadRequest(opts.Text, opts.SrcFile, opts.Name, opts.CFlags, uint(opts.Debug))
	return compileInputs{req: req, source: file}, err
}

// Build compiles the program of opts (Text or SrcFile, CFlags, Debug)
// through libbcc and returns it as an ELF BPF object: one section per
// function, BTF-defined maps and relocations as libbpf and cilium/ebpf
// read them, and gobcc's table descriptions in a section of
// its own. New with Options.Object loads it on a host with the same kernel
// and no libbcc, LLVM or kernel headers. Programs with USDT contexts, maps
// of maps or pinned/shared tables cannot be built (ErrNotSupported).
func Build(ctx context.Context, opts Options) ([]byte, error) {
	if len(opts.USDTContexts) > 0 {
		return nil, fmt.Errorf("%w: USDT contexts are resolved against a running binary at New", ErrNotSupported)
	}
	in, err := compileRequest(opts)
	if err != nil {
		return nil, err
	}
	if in.req.Text == "" {
		return nil, ErrNoSource
	}
	if err := compiler.Storable(in.req.Text); err != nil {
		return nil, err
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	if in.req.KernelSource, _, err = compileHeaders(opts.Headers); err != nil {
		return nil, err
	}
	data, err := compiler.BuildObject(ctx, in.req, in.source, !opts.InProcess)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		return nil, newCompileError(err, in.source, srcmap.New(in.req.Text, in.source))
	}
	return data, nil
}

// oneOption returns the options value of a trailing opts ...XxxOptions
// parameter, the project's idiom for optional settings: the zero value for
// none, the value for one, ErrTooManyOptions for more.
func oneOption[T any](opts []T) (T, error) { return optarg.One(opts) }

// checkPrivileges fails early, with a clear message, where bpf() would
// fail with EPERM for lack of privileges.
func checkPrivileges() error {
	if !features.Privileged() {
		return ErrPermission
	}
	return nil
}

// Warnings returns what New noticed but did not fail on, such as kernel
// headers that are not the running kernel's.
func (b *BPF) Warnings() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.warnings...)
}

// Cached reports whether New loaded a compiled object (from the compile
// cache, or Options.Object/ObjectFile) instead of compiling through libbcc.
func (b *BPF) Cached() bool { return b.cached }

// LibbccVersion is the version of the libbcc that compiled the program.
func (b *BPF) LibbccVersion() string { return b.result.LibVersion }

// FunctionNames lists the program's functions in the order libbcc gives.
func (b *BPF) FunctionNames() []string {
	out := make([]string, 0, len(b.result.Functions))
	for _, f := range b.result.Functions {
		out = append(out, f.Name)
	}
	return out
}

// LoadFunc loads a function as progType through the verifier (BCC's
// load_func). Loading a function again returns the first load, whatever the
// type, as BCC does. With debugflags.BPF the verifier log is written to the
// DebugWriter. A rejection is a *VerifierError.
func (b *BPF) LoadFunc(name string, progType ProgType) (*Function, error) {
	return b.loadFunc(name, progType, AttachNone)
}

// LoadFuncAttachType is LoadFunc with the attach type that tracing and LSM
// programs need at load time.
func (b *BPF) LoadFuncAttachType(name string, progType ProgType, attachType AttachType) (*Function, error) {
	return b.loadFunc(name, progType, attachType)
}

func (b *BPF) loadFunc(name string, progType ProgType, attachType AttachType) (*Function, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	return b.loadFuncLocked(name, progType, attachType)
}

func (b *BPF) loadFuncLocked(name string, progType ProgType, attachType AttachType) (*Function, error) {
	if f, ok := b.funcs[name]; ok {
		return f, nil
	}
	insns, found := b.result.FunctionInsns(name)
	if !found {
		return nil, fmt.Errorf("%w: %q (the program has %s)", ErrFunctionNotFound, name, strings.Join(b.FunctionNames(), ", "))
	}
	if b.prog.Freed() {
		return nil, fmt.Errorf("load %s: %w: the compiler was freed (FreeBCCMemory) before this function was loaded", name, ErrClosed)
	}
	r, err := b.prog.Load(compiler.LoadRequest{
		Name:       name,
		ProgType:   int(progType),
		AttachType: int(attachType),
		LogLevel:   b.debug.VerifierLogLevel(),
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	log := b.srcmap.MapLog(r.Log)
	if r.FD < 0 {
		return nil, &VerifierError{
			Function: name,
			ProgType: progType,
			Errno:    unix.Errno(r.Errno),
			Log:      log,
			Hint:     srcmap.Hint(r.Output),
		}
	}
	f := &Function{Name: name, Type: progType, FD: r.FD, Log: log, Insns: len(insns) / 8, b: b}
	b.funcs[name] = f
	b.freeCompilerIfDone()
	if b.debug.VerifierLogLevel() > 0 && log != "" {
		fmt.Fprintf(b.debugW, "verifier log for %s:\n%s\n", name, strings.TrimRight(log, "\n"))
	}
	return f, nil
}

// freeCompilerIfDone ends the compile session once every function has been
// loaded: nothing else will need it.
func (b *BPF) freeCompilerIfDone() {
	if err := b.prog.FreeIfDone(); err != nil {
		b.warnings = append(b.warnings, "compile cache: "+err.Error())
	}
}

// FreeBCCMemory releases the compiler (BCC's free_bcc_memory): the helper
// process ends, or, with Options.InProcess, libbcc's module is freed.
// Functions not loaded by then can no longer be loaded. Tables, loaded
// functions and attachments are unaffected. The compiler is freed
// automatically once every function is loaded.
func (b *BPF) FreeBCCMemory() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	storeErr, err := b.prog.Free()
	if storeErr != nil {
		b.warnings = append(b.warnings, "compile cache: "+storeErr.Error())
	}
	return err
}

// Close detaches everything, closes every descriptor and ends the compile
// helper. It is idempotent; errors from detaching are joined.
func (b *BPF) Close() error {
	// Readers first, without b.mu: Close waits for their callbacks, which
	// may use the object.
	readersErr := b.events.Close()
	// Attachments next, in reverse order, before the programs close.
	linksErr := b.links.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	errs := []error{readersErr, linksErr}
	b.trace.Close()
	for _, f := range b.funcs {
		unix.Close(f.FD)
	}
	b.funcs = nil
	for _, t := range b.tables {
		t.close()
	}
	b.tables = nil
	// Close stores nothing in the cache: a program closed before all its
	// functions loaded (a failed New, NoAutoAttach) compiles again next time.
	errs = append(errs, b.prog.Close())
	b.ksyms.release()
	b.usyms.Release()
	return errors.Join(errs...)
}
