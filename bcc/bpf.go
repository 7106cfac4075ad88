package bcc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gobcc/gobcc/cflags"
	"github.com/gobcc/gobcc/debugflags"
	"github.com/gobcc/gobcc/internal/compiler"
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
	// USDTContexts are USDT probes to enable (BPF(usdt_contexts=[...])):
	// their argument code is prepended to the program and their uprobes
	// attached by New, even with NoAutoAttach.
	USDTContexts []*USDT
	// AttachUSDTIgnorePID attaches USDT probes of process contexts for
	// every process (BPF(attach_usdt_ignore_pid=True)).
	AttachUSDTIgnorePID bool
	// Headers chooses the kernel headers the program compiles against:
	// HeadersAuto (the default, also for ""), HeadersBTF, HeadersInstalled,
	// or a directory. See ResolveHeaders and docs/headers.md.
	Headers string
}

// BPF is a compiled program with its tables, loaded functions and
// attachments: the Go form of BCC Python's BPF object.
//
// A BPF owns every file descriptor and attachment it makes; Close releases
// them all. Its methods are safe for concurrent use.
type BPF struct {
	mu       sync.Mutex
	file     string
	debug    debugflags.Flags
	debugW   io.Writer
	srcmap   *sourceMapper
	session  compiler.Session // nil once freed
	result   *compiler.Result
	funcs    map[string]*Function
	tables   map[string]*Table
	attached []*attachment
	warnings []string
	closed   bool

	ksyms  kernelSymbolsOnce
	usyms  userSymbolsOnce
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
}

// New compiles the program, creates its tables, and, as BCC does, loads and
// attaches every function whose name says where it belongs:
// tracepoint__CAT__NAME (TRACEPOINT_PROBE), raw_tracepoint__NAME
// (RAW_TRACEPOINT_PROBE), kprobe__FN, kretprobe__FN, kfunc__FN, kretfunc__FN
// and lsm__HOOK.
//
// The caller owns the returned BPF and must Close it. On error nothing is
// left behind. Compile errors are *CompileError, verifier rejections
// *VerifierError.
func New(opts Options) (*BPF, error) {
	text, file, err := readSource(opts)
	if err != nil {
		return nil, err
	}
	flags := append([]string(nil), opts.CFlags...)
	if err := cflags.Validate(flags); err != nil {
		return nil, err
	}
	if opts.SrcFile != "" {
		// libbcc compiles text under a virtual name; keep quoted includes
		// relative to the real file working.
		// libbcc runs clang from the kernel tree: the path must be absolute.
		dir, err := filepath.Abs(filepath.Dir(opts.SrcFile))
		if err != nil {
			return nil, fmt.Errorf("read program: %w", err)
		}
		flags = append(flags, "-iquote"+dir)
	}
	b := &BPF{
		file:   file,
		debug:  opts.Debug,
		debugW: opts.DebugWriter,
		srcmap: newSourceMapper(text, file),
		funcs:  make(map[string]*Function),
		tables: make(map[string]*Table),
	}
	if b.debugW == nil {
		b.debugW = os.Stderr
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	usdt, err := usdtRequests(opts.USDTContexts)
	if err != nil {
		return nil, err
	}
	kernelSource, headerWarns, err := compileHeaders(opts.Headers)
	if err != nil {
		return nil, err
	}
	session, err := compiler.Compile(compiler.Request{
		Text:         text,
		CFlags:       flags,
		DebugFlags:   uint(opts.Debug),
		USDT:         usdt,
		KernelSource: kernelSource,
	}, !opts.InProcess)
	if err != nil {
		if len(usdt) > 0 && !errors.Is(err, ErrCompile) && strings.Contains(err.Error(), "USDT") {
			// libbcc's USDT setup failed in the helper; its text says why.
			return nil, fmt.Errorf("%w: %w", ErrUSDT, err)
		}
		return nil, newCompileError(err, file, b.srcmap)
	}
	b.session = session
	b.result = session.Result()
	if out := strings.ReplaceAll(b.result.Output, virtualMain, file); out != "" {
		io.WriteString(b.debugW, out)
	}
	b.warnings = append(b.warnings, headerWarns...)
	if err := b.openTables(); err != nil {
		b.Close()
		return nil, err
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

func readSource(opts Options) (text, file string, err error) {
	switch {
	case opts.Text != "":
		file = opts.Name
		if file == "" {
			file = "<text>"
		}
		return opts.Text, file, nil
	case opts.SrcFile != "":
		data, err := os.ReadFile(opts.SrcFile)
		if err != nil {
			return "", "", fmt.Errorf("read program: %w", err)
		}
		return string(data), opts.SrcFile, nil
	}
	return "", "", ErrNoSource
}

// checkPrivileges fails early, with a clear message, where bpf() would
// fail with EPERM for lack of privileges.
func checkPrivileges() error {
	if os.Geteuid() == 0 {
		return nil
	}
	var hdr unix.CapUserHeader
	var data [2]unix.CapUserData
	hdr.Version = unix.LINUX_CAPABILITY_VERSION_3
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil // unknown: let the kernel decide
	}
	const capSysAdmin, capBPF = 21, 39
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	if has(capSysAdmin) || has(capBPF) {
		return nil
	}
	return ErrPermission
}

// Warnings returns what New noticed but did not fail on, such as kernel
// headers that are not the running kernel's.
func (b *BPF) Warnings() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.warnings...)
}

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
	var insns []byte
	found := false
	for _, f := range b.result.Functions {
		if f.Name == name {
			insns, found = f.Insns, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %q (the program has %s)", ErrFunctionNotFound, name, strings.Join(b.FunctionNames(), ", "))
	}
	if b.session == nil {
		return nil, fmt.Errorf("load %s: %w: the compiler was freed (FreeBCCMemory) before this function was loaded", name, ErrClosed)
	}
	r, err := b.session.Load(compiler.LoadRequest{
		Name:       name,
		ProgType:   int(progType),
		AttachType: int(attachType),
		LogLevel:   b.debug.VerifierLogLevel(),
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", name, err)
	}
	log := b.srcmap.mapLog(r.Log)
	if r.FD < 0 {
		return nil, &VerifierError{
			Function: name,
			ProgType: progType,
			Errno:    unix.Errno(r.Errno),
			Log:      log,
			Hint:     extractHint(r.Output),
		}
	}
	f := &Function{Name: name, Type: progType, FD: r.FD, Log: log, Insns: len(insns) / 8}
	b.funcs[name] = f
	if b.debug.VerifierLogLevel() > 0 && log != "" {
		fmt.Fprintf(b.debugW, "verifier log for %s:\n%s\n", name, strings.TrimRight(log, "\n"))
	}
	return f, nil
}

// extractHint finds libbcc's "HINT: ..." paragraph in its output.
func extractHint(output string) string {
	i := strings.Index(output, "HINT: ")
	if i < 0 {
		return ""
	}
	hint := output[i:]
	if j := strings.Index(hint, "\n\n"); j >= 0 {
		hint = hint[:j]
	}
	return strings.TrimSpace(hint)
}

// freeCompilerIfDone ends the compile session once every function has been
// loaded: nothing else will need it.
func (b *BPF) freeCompilerIfDone() {
	if b.session == nil {
		return
	}
	for _, f := range b.result.Functions {
		if _, ok := b.funcs[f.Name]; !ok {
			return
		}
	}
	b.session.Close()
	b.session = nil
}

// FreeBCCMemory releases the compiler (BCC's free_bcc_memory): the helper
// process ends, or, with Options.InProcess, libbcc's module is freed.
// Functions not loaded by then can no longer be loaded. Tables, loaded
// functions and attachments are unaffected. The compiler is freed
// automatically once every function is loaded.
func (b *BPF) FreeBCCMemory() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.session != nil {
		err := b.session.Close()
		b.session = nil
		return err
	}
	return nil
}

// Close detaches everything, closes every descriptor and ends the compile
// helper. It is idempotent; errors from detaching are joined.
func (b *BPF) Close() error {
	// Readers first, without b.mu: Close waits for their callbacks, which
	// may use the object.
	readersErr := b.events.closeAll()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	errs := []error{readersErr}
	// Detach in reverse order of attachment, before the programs close.
	for i := len(b.attached) - 1; i >= 0; i-- {
		if err := b.attached[i].detach(); err != nil {
			errs = append(errs, err)
		}
	}
	b.attached = nil
	b.trace.close()
	for _, f := range b.funcs {
		unix.Close(f.FD)
	}
	b.funcs = nil
	for _, t := range b.tables {
		t.close()
	}
	b.tables = nil
	if b.session != nil {
		errs = append(errs, b.session.Close())
		b.session = nil
	}
	b.ksyms.release()
	b.usyms.release()
	return errors.Join(errs...)
}
